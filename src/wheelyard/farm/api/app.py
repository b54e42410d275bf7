"""The farm's HTTP service: JSON API (``/api``, OpenAPI at ``/openapi.json``, docs at
``/docs``), the package index (``/simple/``, ``/packages/``, ``/whl/``) and the dashboard.

Read operations are public; writes need ``Authorization: Bearer <token>`` with a token scoped to
the package concerned (or an admin token).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from wheelyard import __version__
from wheelyard.errors import (
    FarmError,
    FarmForbiddenError,
    FarmNotFoundError,
    FarmRequestError,
    WheelyardError,
)
from wheelyard.farm.api.context import ServiceContext
from wheelyard.farm.api.dashboard import router as dashboard_router
from wheelyard.farm.api.pages_campaigns import router as campaign_pages_router
from wheelyard.farm.api.routes import router as api_router
from wheelyard.farm.api.routes_campaigns import router as campaign_router
from wheelyard.farm.api.simple_index import router as index_router


def _problem(status: int, exc: WheelyardError) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": exc.message, "hint": exc.hint})


def create_app(context: ServiceContext) -> FastAPI:

    app = FastAPI(
        title="wheelyard farm",
        version=__version__,
        description="Submit builds, follow them, fetch their wheels. Reads are public; "
        "writes need a bearer token scoped to the package (or admin).",
    )
    app.state.farm = context

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes each bad input, and an Infinity or NaN in a JSON body
        # cannot be written back as JSON: say what is wrong without the value.
        problems = [
            f"{'.'.join(str(p) for p in error.get('loc', ()) if p != 'body')}: {error.get('msg')}"
            for error in exc.errors()
        ]
        return JSONResponse(status_code=422, content={"detail": "; ".join(problems)})

    @app.exception_handler(WheelyardError)
    async def wheelyard_error(_request: Request, exc: WheelyardError) -> JSONResponse:
        if isinstance(exc, FarmNotFoundError):
            return _problem(404, exc)
        if isinstance(exc, FarmForbiddenError):
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
