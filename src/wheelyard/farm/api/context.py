"""What every route of the farm's HTTP service works with: settings, database, orchestrator."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from wheelyard.farm.builds.submit import Orchestrator
from wheelyard.farm.campaigns.submit import CampaignControl
from wheelyard.farm.db.engine import Database
from wheelyard.farm.settings import FarmSettings

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
