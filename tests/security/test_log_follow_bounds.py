"""Following a running job's log is bounded: in how many streams are open and for how long."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from farm_rows import new_build, planned
from farm_service import ReadOnlyOrchestrator
from wheelyard.farm.api import ServiceContext, create_app
from wheelyard.farm.builds import records
from wheelyard.farm.db import Database, open_database
from wheelyard.farm.messages import BuildUpdate, JobUpdate, StageResult
from wheelyard.farm.settings import FarmSettings


@dataclass
class Running:
    settings: FarmSettings
    database: Database
    log_url: str


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """A build whose job is running and has written the start of its log."""
    settings = FarmSettings(data_dir=tmp_path / "data")
    database = open_database(settings.database_url)
    with database.session() as session:
        build = new_build(session, source_kind="git", source="https://e/x")
        records.record_plan(session, build.id, planned(), plan_json={}, cost=None)
        records.update_build(session, BuildUpdate(build_id=build.id, state="building"))
        build_id = build.id
    log = settings.data_dir / f"builds/{build_id}/jobs/linux-x86_64-cpu/logs/hello-c.log"
    log.parent.mkdir(parents=True)
    log.write_text("Building cp312-manylinux_x86_64 wheel\n")
    with database.session() as session:
        records.update_job(
            session,
            JobUpdate(
                build_id=build_id,
                job_id="linux-x86_64-cpu",
                state="building",
                result=StageResult(
                    job_id="linux-x86_64-cpu",
                    status="building",
                    log=str(log.relative_to(settings.data_dir)),
                ),
            ),
        )
    yield Running(settings, database, f"/api/builds/{build_id}/jobs/linux-x86_64-cpu/log")
    database.close()


def _client(running: Running, **limits: float) -> TestClient:
    context = ServiceContext(
        settings=running.settings,
        database=running.database,
        orchestrator=ReadOnlyOrchestrator(),
        **limits,  # type: ignore[arg-type]
    )
    return TestClient(create_app(context))


def test_a_follow_of_a_running_job_ends_after_its_bound(running: Running) -> None:
    with _client(running, follow_seconds=1.0) as client:
        started = time.monotonic()
        text = client.get(running.log_url, params={"follow": True}).text
    assert time.monotonic() - started < 30
    assert text.startswith("Building cp312")
    assert "following stopped after 1 s" in text


def test_followers_beyond_the_limit_are_told_to_come_back(running: Running) -> None:
    with _client(running, follow_limit=0) as client:
        response = client.get(running.log_url, params={"follow": True})
        assert response.status_code == 429, response.text
        assert "followed already" in response.text
        assert client.get(running.log_url).status_code == 200  # reading it whole is not bounded
