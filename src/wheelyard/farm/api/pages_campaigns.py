"""Dashboard pages of campaigns and the dependency graph: ``/campaigns``, ``/campaign/<id>``
(each package's state, blocker, log link, reason; counts and machine time left; refreshed
while it runs), ``/graph``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from wheelyard.farm.api.context import RowId, context_of
from wheelyard.farm.api.dashboard import render
from wheelyard.farm.api.schemas_campaigns import campaign_out
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.campaigns.graph import build_graph
from wheelyard.farm.vocab import CampaignState

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 3


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request) -> HTMLResponse:
    with context_of(request).database.session() as session:
        out = [campaign_out(c) for c in campaign_records.list_campaigns(session)]
    return render("campaigns.html", campaigns=out, title="campaigns")


@router.get("/campaign/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: RowId, request: Request) -> HTMLResponse:
    with context_of(request).database.session() as session:
        out = campaign_out(campaign_records.get_campaign(session, campaign_id))
    running = not CampaignState(out.state).finished
    return render(
        "campaign.html",
        c=out,
        refresh=REFRESH_SECONDS if running else None,
        title=f"campaign {campaign_id}",
    )


@router.get("/graph", response_class=HTMLResponse)
def graph_page(request: Request) -> HTMLResponse:
    context = context_of(request)
    with context.database.session() as session:
        facts = campaign_records.package_facts(session, context.settings.data_dir)
    return render("graph.html", graph=build_graph(facts), facts=facts, title="dependency graph")
