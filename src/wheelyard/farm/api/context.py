"""What every route of the farm's HTTP service works with: settings, database, orchestrator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Request

from wheelyard.farm.db.engine import Database
from wheelyard.farm.orchestrator import Orchestrator
from wheelyard.farm.settings import FarmSettings

RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A row id (1 to 2**63 - 1).")]
"""A build, campaign or token id in a URL: beyond what the database holds is a 422, not a 500."""

DEFAULT_UPLOAD_LIMIT = 200 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ServiceContext:
    settings: FarmSettings
    database: Database
    orchestrator: Orchestrator
    upload_limit: int = DEFAULT_UPLOAD_LIMIT
    follow_limit: int = 64
    """How many ``log?follow=true`` streams may be open at once (more: HTTP 429)."""
    follow_seconds: float = 6 * 3600.0
    """How long one follow stream may stay open; it then ends with a line saying so."""


def context_of(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.farm
    return context
