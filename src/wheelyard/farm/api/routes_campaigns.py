"""``/api/graph`` and ``/api/campaigns``: the packages' dependency graph, rebuild campaigns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from wheelyard.farm.api.auth import Authenticated, require_admin
from wheelyard.farm.api.context import RowId, ServiceContext, context_of
from wheelyard.farm.api.schemas_campaigns import (
    CampaignOut,
    CampaignPlanOut,
    CampaignStart,
    Retry,
    campaign_out,
)
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.campaigns import submit as campaign_service
from wheelyard.farm.campaigns.graph import build_graph
from wheelyard.farm.campaigns.plan import Trigger
from wheelyard.farm.campaigns.submit import CampaignRequest
from wheelyard.farm.orchestrator import Orchestrator

router = APIRouter(prefix="/api", tags=["campaigns"])


def _control(context: ServiceContext) -> Orchestrator:
    return context.orchestrator


def _out(context: ServiceContext, campaign_id: RowId) -> CampaignOut:
    with context.database.session() as session:
        return campaign_out(campaign_records.get_campaign(session, campaign_id))


@router.get("/graph")
def dependency_graph(request: Request) -> dict[str, object]:
    """The farm's packages and what each depends on (runtime and build requirements), with
    what each package's published wheels were built against."""
    context = context_of(request)
    with context.database.session() as session:
        facts = campaign_records.package_facts(session, context.settings.data_dir)
    graph = build_graph(facts)
    return {**graph.to_json(), "facts": {name: f.to_json() for name, f in facts.items()}}


@router.post(
    "/campaigns",
    status_code=202,
    responses={401: {}, 403: {}, 422: {}},
    response_model=CampaignOut | CampaignPlanOut,
)
async def start_campaign(
    body: CampaignStart, who: Authenticated, request: Request
) -> CampaignOut | CampaignPlanOut:
    """Plan a rebuild campaign and start it (admin): the packages the trigger touches and
    their dependents, rebuilt in dependency order."""
    require_admin(who)
    context = context_of(request)
    trigger = Trigger.parse(
        add_python=body.add_python,
        add_variants=body.add_variants,
        drop_variants=body.drop_variants,
        pins=body.pins,
    )
    waits = {
        key: float(value)
        for key, value in (
            ("job_timeout_seconds", body.job_timeout_seconds),
            ("queue_wait_seconds", body.queue_wait_seconds),
            ("gpu_wait_seconds", body.gpu_wait_seconds),
            ("heartbeat_seconds", body.heartbeat_seconds),
        )
        if value is not None
    }
    campaign_request = CampaignRequest(
        trigger=trigger,
        packages=tuple(body.packages),
        concurrency=body.concurrency,
        date=body.date,
        waits=waits,
    )
    planned = await run_in_threadpool(
        campaign_service.plan, context.settings, context.database, campaign_request
    )
    if body.dry_run:
        return CampaignPlanOut(**planned.to_json())
    control = _control(context)
    campaign_id = await run_in_threadpool(
        campaign_service.record,
        context.database,
        planned,
        campaign_request,
        created_by=who.token_id,
    )
    await campaign_service.start(context.database, control, campaign_id)
    return _out(context, campaign_id)


@router.get("/campaigns")
def list_campaigns(
    request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[CampaignOut]:
    context = context_of(request)
    with context.database.session() as session:
        return [campaign_out(c) for c in campaign_records.list_campaigns(session, limit=limit)]


@router.get("/campaigns/{campaign_id}", responses={404: {}})
def get_campaign(campaign_id: RowId, request: Request) -> CampaignOut:
    """A campaign with each package's state (done, building, waiting-for-dependencies with the
    blocker, failed with its log, skipped with the reason), counts and the machine time left."""
    return _out(context_of(request), campaign_id)


async def _signal(
    request: Request, who: Authenticated, campaign_id: RowId, signal: str, argument: str | None
) -> CampaignOut:
    require_admin(who)
    context = context_of(request)
    control = _control(context)
    await run_in_threadpool(campaign_service.check_running, context.database, campaign_id)
    await control.signal_campaign(campaign_id, signal, argument)
    return _out(context, campaign_id)


@router.post("/campaigns/{campaign_id}/pause", status_code=202, responses={401: {}, 404: {}})
async def pause_campaign(campaign_id: RowId, who: Authenticated, request: Request) -> CampaignOut:
    """No package starts from now on; the ones building finish."""
    return await _signal(request, who, campaign_id, "pause", None)


@router.post("/campaigns/{campaign_id}/resume", status_code=202, responses={401: {}, 404: {}})
async def resume_campaign(campaign_id: RowId, who: Authenticated, request: Request) -> CampaignOut:
    return await _signal(request, who, campaign_id, "resume", None)


@router.post(
    "/campaigns/{campaign_id}/retry", status_code=202, responses={401: {}, 404: {}, 422: {}}
)
async def retry_package(
    campaign_id: RowId, body: Retry, who: Authenticated, request: Request
) -> CampaignOut:
    """Rebuild a failed package again; the packages waiting for it go on once it is published."""
    require_admin(who)
    context = context_of(request)
    name = await run_in_threadpool(
        campaign_service.check_retry, context.database, campaign_id, body.package
    )
    return await _signal(request, who, campaign_id, "retry", name)


@router.post("/campaigns/{campaign_id}/cancel", status_code=202, responses={401: {}, 404: {}})
async def cancel_campaign(campaign_id: RowId, who: Authenticated, request: Request) -> CampaignOut:
    """Cancel the campaign: running rebuilds are cancelled, nothing else starts."""
    require_admin(who)
    context = context_of(request)
    control = _control(context)
    await run_in_threadpool(campaign_service.check_running, context.database, campaign_id)
    await control.cancel_campaign(campaign_id)
    return _out(context, campaign_id)
