"""The campaign and graph API, and their dashboard pages, on a temp database with a fake
campaign control (no Temporal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_campaign_workflow import seed
from test_farm_api import FakeOrchestrator

from wheelyard.farm.api import ServiceContext, create_app
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.db import Database, open_database
from wheelyard.farm.messages import CampaignInput, CampaignPackageUpdate
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.tokens import create_token


@dataclass
class Farm:
    client: TestClient
    control: FakeOrchestrator
    database: Database
    admin: dict[str, str]
    scoped: dict[str, str]


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    settings = FarmSettings(data_dir=tmp_path / "data")
    database = open_database(settings.database_url)
    with database.session() as session:
        admin = create_token(session, name="admin", admin=True).secret
        scoped = create_token(session, name="ci", package="yardstream").secret
    seed(database)
    control = FakeOrchestrator()
    app = create_app(ServiceContext(settings=settings, database=database, orchestrator=control))
    with TestClient(app) as client:
        yield Farm(
            client=client,
            control=control,
            database=database,
            admin={"Authorization": f"Bearer {admin}"},
            scoped={"Authorization": f"Bearer {scoped}"},
        )
    database.close()


PIN = {"pins": ["yardstream==0.1.0.dev20261121"], "date": "2026-11-21"}


def test_the_graph_lists_farm_packages_and_what_they_depend_on(farm: Farm) -> None:
    graph = farm.client.get("/api/graph").json()
    assert graph["packages"] == ["hello-c", "yardstream", "yardstream-dedup", "yardstream-s3"]
    assert graph["edges"] == [
        {"package": "yardstream-dedup", "depends_on": "yardstream", "kinds": ["build", "runtime"]},
        {"package": "yardstream-s3", "depends_on": "yardstream", "kinds": ["runtime"]},
    ]
    assert graph["facts"]["hello-c"]["build_dependencies"] == {
        "numpy": "2.2.0",
        "setuptools": "84.2.1",
    }
    page = farm.client.get("/graph").text
    assert 'data-package="yardstream-dedup"' in page
    assert "yardstream-dedup, yardstream-s3" in page  # the core's dependents


def test_starting_a_campaign_needs_an_admin_token(farm: Farm) -> None:
    assert farm.client.post("/api/campaigns", json=PIN).status_code == 401
    assert farm.client.post("/api/campaigns", json=PIN, headers=farm.scoped).status_code == 403
    assert farm.control.campaigns_started == []


def test_a_dry_run_shows_the_plan_and_records_nothing(farm: Farm) -> None:
    response = farm.client.post("/api/campaigns", json={**PIN, "dry_run": True}, headers=farm.admin)
    assert response.status_code == 202
    plan = response.json()
    assert [p["name"] for p in plan["packages"]] == [
        "yardstream",
        "yardstream-dedup",
        "yardstream-s3",
    ]
    assert farm.client.get("/api/campaigns").json() == []
    assert farm.control.campaigns_started == []


def test_a_campaign_is_recorded_started_and_steered(farm: Farm) -> None:
    response = farm.client.post(
        "/api/campaigns", json={**PIN, "concurrency": 3, "heartbeat_seconds": 5}, headers=farm.admin
    )
    assert response.status_code == 202, response.text
    campaign = response.json()
    assert campaign["description"] == "pin yardstream==0.1.0.dev20261121"
    assert campaign["state"] == "planning"
    assert campaign["total"] == 3
    assert campaign["remaining_seconds"] == 90.0
    assert [p["package"] for p in campaign["packages"]] == [
        "yardstream",
        "yardstream-dedup",
        "yardstream-s3",
    ]
    assert farm.control.campaigns_started == [
        CampaignInput(campaign_id=campaign["id"], concurrency=3)
    ]
    with farm.database.session() as session:
        assert campaign_records.get_campaign(session, campaign["id"]).options == {
            "packages": [],
            "heartbeat_seconds": 5.0,
        }

    cid = campaign["id"]
    assert farm.client.post(f"/api/campaigns/{cid}/pause", headers=farm.admin).status_code == 202
    assert farm.client.post(f"/api/campaigns/{cid}/resume", headers=farm.admin).status_code == 202
    refused = farm.client.post(
        f"/api/campaigns/{cid}/retry", json={"package": "yardstream"}, headers=farm.admin
    )
    assert refused.status_code == 422
    assert "only a failed package can be retried" in refused.json()["detail"]
    with farm.database.session() as session:
        campaign_records.update_campaign_package(
            session,
            CampaignPackageUpdate(
                campaign_id=cid,
                package="yardstream",
                state="failed",
                message="cibuildwheel exited 1",
                log_url="/build/9/log/linux-x86_64-cpu",
            ),
        )
        campaign_records.update_campaign_package(
            session,
            CampaignPackageUpdate(
                campaign_id=cid,
                package="yardstream-s3",
                state="waiting-for-dependencies",
                blocker="yardstream (failed)",
            ),
        )
    retried = farm.client.post(
        f"/api/campaigns/{cid}/retry", json={"package": "YardStream"}, headers=farm.admin
    )
    assert retried.status_code == 202
    assert farm.control.signals == [
        (cid, "pause", None),
        (cid, "resume", None),
        (cid, "retry", "yardstream"),
    ]
    assert farm.client.post(f"/api/campaigns/{cid}/cancel", headers=farm.admin).status_code == 202
    assert farm.control.campaigns_cancelled == [cid]

    page = farm.client.get(f"/campaign/{cid}").text
    assert 'data-package="yardstream-s3" data-state="waiting-for-dependencies"' in page
    assert "waits for yardstream (failed)" in page
    assert 'href="/build/9/log/linux-x86_64-cpu"' in page
    assert 'http-equiv="refresh"' in page
    assert f'href="/campaign/{cid}"' in farm.client.get("/campaigns").text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"pins": ["torch"]}, "needs a version specifier"),
        ({}, "needs a trigger"),
        ({"pins": ["torch==2.14.*"]}, "no published package is affected"),
        ({"add_python": ["cp313"], "packages": ["nope"]}, "no published package named nope"),
    ],
)
def test_bad_campaigns_are_refused_with_the_reason(
    farm: Farm, body: dict[str, Any], message: str
) -> None:
    response = farm.client.post("/api/campaigns", json=body, headers=farm.admin)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert farm.control.campaigns_started == []


def test_the_package_page_shows_what_its_wheels_were_built_against(farm: Farm) -> None:
    page = farm.client.get("/package/hello-c").text
    assert "Built against" in page
    assert "numpy==2.2.0" in page
    assert "setuptools==84.2.1" in page


def test_campaign_cli_reports_an_unreachable_farm(cli: Callable[..., Any]) -> None:
    result = cli("campaign", "status", "1", "--url", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot reach the farm" in result.stderr
