"""Starting and steering campaigns: plan from the farm's records, store the plan, start the
``RebuildCampaign`` workflow; pause, resume, retry a package, cancel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from wheelyard.errors import FarmRequestError
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.campaigns.plan import CampaignPlan, Trigger, plan_campaign
from wheelyard.farm.db.engine import Database
from wheelyard.farm.messages import CampaignInput, CampaignUpdate
from wheelyard.farm.orchestrator import Orchestrator
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import CampaignPackageState, CampaignState

DEFAULT_CONCURRENCY = 2


@dataclass(frozen=True, kw_only=True)
class CampaignRequest:
    trigger: Trigger
    packages: tuple[str, ...] = ()
    """Narrow the campaign to these packages (and what a pin drags along)."""
    concurrency: int = DEFAULT_CONCURRENCY
    date: dt.date | None = None
    """Build date of rebuilds that need a new version (pins); default: today (UTC)."""
    waits: dict[str, float] = field(default_factory=dict)
    """heartbeat_seconds, job_timeout_seconds ... of the rebuilds."""


def plan(settings: FarmSettings, database: Database, request: CampaignRequest) -> CampaignPlan:
    """The campaign the request would run (nothing recorded)."""
    with database.session() as session:
        facts = campaign_records.package_facts(session, settings.data_dir)
    if not facts:
        raise FarmRequestError(
            "the farm has no published package to rebuild",
            hint="build and publish packages first (`wheelyard farm submit`)",
        )
    return plan_campaign(
        request.trigger, facts, date=request.date or _today(), only=request.packages
    )


def _today() -> dt.date:
    return dt.datetime.now(tz=dt.UTC).date()


def record(
    database: Database,
    planned: CampaignPlan,
    request: CampaignRequest,
    *,
    created_by: int | None,
) -> int:
    if not planned.packages:
        raise FarmRequestError(
            f"{planned.trigger.describe()}: no published package is affected",
            hint="`wheelyard campaign start --dry-run` shows what the farm knows",
        )
    options: dict[str, Any] = {"packages": list(request.packages), **request.waits}
    with database.session() as session:
        campaign = campaign_records.create_campaign(
            session,
            planned,
            concurrency=request.concurrency,
            date=request.date or _today(),
            options=options,
            created_by=created_by,
        )
        return campaign.id


async def start(database: Database, orchestrator: Orchestrator, campaign_id: int) -> None:
    """Start the workflow; if that fails the campaign is marked failed with the reason."""
    with database.session() as session:
        concurrency = campaign_records.get_campaign(session, campaign_id).concurrency
    try:
        await orchestrator.start_campaign(
            CampaignInput(campaign_id=campaign_id, concurrency=concurrency)
        )
    except Exception as exc:
        with database.session() as session:
            campaign_records.update_campaign(
                session,
                CampaignUpdate(
                    campaign_id=campaign_id,
                    state=str(CampaignState.FAILED),
                    message=f"the workflow could not start: {exc}",
                ),
            )
        raise


def check_retry(database: Database, campaign_id: int, package: str) -> str:
    """The canonical name of a failed package of a running campaign (else a request error)."""
    with database.session() as session:
        campaign = campaign_records.get_campaign(session, campaign_id)
        if CampaignState(campaign.state).finished:
            raise FarmRequestError(f"campaign {campaign_id} is already {campaign.state}")
        row = campaign_records.campaign_package(session, campaign_id, package)
        if row.state != str(CampaignPackageState.FAILED):
            raise FarmRequestError(
                f"{row.package} is {row.state} in campaign {campaign_id}; only a failed "
                "package can be retried"
            )
        return row.package


def check_running(database: Database, campaign_id: int) -> None:
    with database.session() as session:
        campaign = campaign_records.get_campaign(session, campaign_id)
        if CampaignState(campaign.state).finished:
            raise FarmRequestError(f"campaign {campaign_id} is already {campaign.state}")
