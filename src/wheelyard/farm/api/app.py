"""The farm's HTTP service: JSON API (``/api``, OpenAPI at ``/openapi.json``, docs at
``/docs``), the package index (``/simple/``, ``/packages/``, ``/whl/``) and the dashboard.

Read operations are public; writes need ``Authorization: Bearer <token>`` with a token scoped to
the package concerned (or an admin token).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from wheelyard import __version__
from wheelyard.errors import (
    FarmError,
    FarmNotFoundError,
    FarmRequestError,
    WheelyardError,
)
from wheelyard.farm.campaign_service import CampaignControl
from wheelyard.farm.db.engine import Database
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.submissions import Forbidden, Orchestrator

DEFAULT_UPLOAD_LIMIT = 200 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ServiceContext:
    settings: FarmSettings
    database: Database
    orchestrator: Orchestrator
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    campaigns: CampaignControl | None = None
    """Starts and steers rebuild campaigns (the Temporal orchestrator in ``farm up``)."""


def context_of(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.farm
    return context


def _problem(status: int, exc: WheelyardError) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": exc.message, "hint": exc.hint})


def create_app(context: ServiceContext) -> FastAPI:
    from wheelyard.farm.api.campaign_pages import router as campaign_pages_router
    from wheelyard.farm.api.campaign_routes import router as campaign_router
    from wheelyard.farm.api.dashboard import router as dashboard_router
    from wheelyard.farm.api.routes import router as api_router
    from wheelyard.farm.api.simple_index import router as index_router

    app = FastAPI(
        title="wheelyard farm",
        version=__version__,
        description="Submit builds, follow them, fetch their wheels. Reads are public; "
        "writes need a bearer token scoped to the package (or admin).",
    )
    app.state.farm = context

    @app.exception_handler(WheelyardError)
    async def wheelyard_error(_request: Request, exc: WheelyardError) -> JSONResponse:
        if isinstance(exc, FarmNotFoundError):
            return _problem(404, exc)
        if isinstance(exc, Forbidden):
            return _problem(403, exc)
        if isinstance(exc, FarmRequestError) or exc.exit_code == 2:
            return _problem(422, exc)
        if isinstance(exc, FarmError):
            return _problem(503, exc)
        return _problem(500, exc)

    app.include_router(api_router)
    app.include_router(campaign_router)
    app.include_router(campaign_pages_router)
    app.include_router(index_router)
    app.include_router(dashboard_router)
    return app
