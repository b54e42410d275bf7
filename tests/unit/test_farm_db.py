"""The farm's database: migrations, models, records, tokens (SQLite on a temp file)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from farm_rows import new_build, planned
from wheelyard.errors import FarmDatabaseError, FarmNotFoundError, FarmRequestError
from wheelyard.farm.builds import records
from wheelyard.farm.db import ApiToken, Base, Database, open_database
from wheelyard.farm.db.engine import alembic_config, normalise_url
from wheelyard.farm.messages import (
    BuildUpdate,
    JobUpdate,
    StageResult,
    WorkerAnnouncement,
)
from wheelyard.farm.tokens import authenticate, create_token, hash_token, revoke_token
from wheelyard.farm.vocab import BuildState, JobState
from wheelyard.record import WheelInfo


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(f"sqlite:///{tmp_path / 'farm.db'}")
    yield database
    database.close()


def test_migrations_create_every_table_and_match_the_models(db: Database) -> None:
    assert db.tables() == [
        "alembic_version",
        "api_tokens",
        "builds",
        "campaign_packages",
        "campaigns",
        "jobs",
        "packages",
        "recipes",
        "wheels",
        "workers",
    ]
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == "0002"
    assert db.current_revision() == head
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrating_again_is_a_no_op(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'farm.db'}"
    first = open_database(url)
    with first.session() as session:
        records.package_named(session, "Hello_C", create=True)
    first.close()
    second = open_database(url)
    with second.session() as session:
        assert [p.name for p in records.list_packages(session)] == ["hello-c"]
    second.close()


def test_postgres_urls_mean_psycopg3() -> None:
    assert normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_an_unusable_url_is_a_database_error(tmp_path: Path) -> None:
    with pytest.raises(FarmDatabaseError, match="cannot use the database URL"):
        open_database("nosuchdialect://x")
    with pytest.raises(FarmDatabaseError, match="cannot migrate"):
        open_database("postgresql://nobody@127.0.0.1:1/none")


def _wheel(python: str) -> WheelInfo:
    name = f"hello_c-0.1-{python}-{python}-manylinux_2_35_x86_64.whl"
    return WheelInfo(
        name=name,
        path=f"cpu/{name}",
        sha256="ab" * 32,
        size=1234,
        python=python,
        platform_tags=("manylinux_2_35_x86_64",),
    )


def test_a_build_goes_through_its_states_and_a_retry_never_duplicates_wheels(
    db: Database,
) -> None:
    with db.session() as session:
        build = new_build(session, "Hello-C", options={"python": ["cp312"]})
        build_id = build.id
        assert build.workflow_id == f"build-{build_id}"
        assert build.state == "queued"
    with db.session() as session:
        records.update_build(session, BuildUpdate(build_id=build_id, state="building"))
        records.record_plan(session, build_id, planned(), plan_json={"jobs": []}, cost=None)
        records.record_plan(session, build_id, planned(), plan_json={"jobs": []}, cost=None)
    first = StageResult(
        job_id="linux-x86_64-cpu",
        status="succeeded",
        wheels=[_wheel("cp311"), _wheel("cp312")],
        worker="w1",
        attempt=1,
        log="builds/1/jobs/linux-x86_64-cpu/logs/x.log",
        pythons={"cp311": "built", "cp312": "built"},
    )
    retried = StageResult(
        job_id="linux-x86_64-cpu",
        status="succeeded",
        wheels=[_wheel("cp311"), _wheel("cp312")],
        worker="w2",
        attempt=2,
    )
    with db.session() as session:
        records.update_job(
            session,
            JobUpdate(build_id=build_id, job_id="linux-x86_64-cpu", state="building"),
        )
        records.update_job(
            session,
            JobUpdate(
                build_id=build_id, job_id="linux-x86_64-cpu", state="verifying", result=first
            ),
        )
        records.update_job(
            session,
            JobUpdate(
                build_id=build_id, job_id="linux-x86_64-cpu", state="succeeded", result=retried
            ),
        )
        records.update_build(session, BuildUpdate(build_id=build_id, state="published"))
    with db.session() as session:
        build = records.get_build(session, build_id)
        assert build.package.name == "hello-c"
        assert build.state == "published"
        assert build.version == "0.1.0.dev20261120"
        assert build.started_at is not None and build.finished_at is not None
        [job] = build.jobs
        assert (job.state, job.worker, job.attempts) == ("succeeded", "w2", 2)
        assert job.log_path == "builds/1/jobs/linux-x86_64-cpu/logs/x.log"
        assert job.seconds is not None
        assert sorted(w.python for w in build.wheels) == ["cp311", "cp312"]
        # A late update of a finished build (a retried activity) changes nothing.
        records.update_build(session, BuildUpdate(build_id=build_id, state="building"))
        assert build.state == "published"


def test_finishing_a_build_closes_its_unfinished_jobs(db: Database) -> None:
    with db.session() as session:
        build = new_build(session)
        records.record_plan(session, build.id, planned(), plan_json={}, cost=None)
        records.update_build(
            session, BuildUpdate(build_id=build.id, state="cancelled", message="cancelled")
        )
        assert [j.state for j in build.jobs] == [str(JobState.CANCELLED)]
        assert BuildState(build.state).finished


def test_unknown_builds_and_jobs_are_not_found(db: Database) -> None:
    with db.session() as session, pytest.raises(FarmNotFoundError, match="no build 42"):
        records.get_build(session, 42)


def test_workers_are_upserted_by_identity(db: Database) -> None:
    announcement = WorkerAnnouncement(
        identity="host-1",
        hostname="host",
        queues=["linux-x86_64-cpu"],
        capabilities={"engine": "podman"},
    )
    with db.session() as session:
        records.announce_worker(session, announcement)
        records.announce_worker(
            session,
            WorkerAnnouncement(
                identity="host-1",
                hostname="host",
                queues=["linux-x86_64-cpu"],
                capabilities={"engine": "podman"},
                stopping=True,
            ),
        )
    with db.session() as session:
        [worker] = records.list_workers(session)
        assert worker.queues == ["linux-x86_64-cpu"]
        assert worker.stopped_at is not None
        assert worker.last_seen.tzinfo is dt.UTC


def test_tokens_are_stored_hashed_and_scoped(db: Database) -> None:
    with db.session() as session:
        issued = create_token(session, name="ci", package="Hello_C")
        admin = create_token(session, name="root", admin=True)
    assert issued.secret.startswith("wyt_") and len(issued.secret) > 40
    with db.session() as session:
        stored = session.scalars(select(ApiToken)).all()
        assert all(issued.secret not in (t.token_hash, t.prefix, t.name) for t in stored)
        assert stored[0].token_hash == hash_token(issued.secret)
        who = authenticate(session, issued.secret)
        assert who.package == "hello-c"
        assert who.may_write("hello_c") and who.may_write("Hello-C")
        assert not who.may_write("other")
        assert authenticate(session, admin.secret).may_write("anything")
        assert stored[0].last_used_at is not None
    with db.session() as session:
        revoke_token(session, issued.id)
    with db.session() as session, pytest.raises(FarmRequestError, match="revoked"):
        authenticate(session, issued.secret)
    with db.session() as session, pytest.raises(FarmRequestError, match="unknown token"):
        authenticate(session, "wyt_" + "x" * 43)
    with db.session() as session, pytest.raises(FarmRequestError, match="not a wheelyard token"):
        authenticate(session, "ghp_abc")


def test_a_token_is_either_scoped_or_admin(db: Database) -> None:
    with db.session() as session, pytest.raises(FarmRequestError, match="either"):
        create_token(session, name="x")
    with db.session() as session, pytest.raises(FarmRequestError, match="either"):
        create_token(session, name="x", package="p", admin=True)


def test_totals_count_minutes_saved_from_published_builds(db: Database) -> None:
    cost = {
        "scenarios": {
            "fan-out": {"runner_minutes": 30.0, "gpu_minutes": 20.0},
            "consolidated+split": {"runner_minutes": 10.0, "gpu_minutes": 5.0},
        }
    }
    with db.session() as session:
        for state in ("published", "failed"):
            build = new_build(session)
            build.cost = cost
            build.state = state
    with db.session() as session:
        totals = records.totals(session)
    assert (totals.packages, totals.builds, totals.builds_last_day) == (1, 2, 2)
    assert (totals.runner_minutes_saved, totals.gpu_minutes_saved) == (20.0, 15.0)


def test_a_rebuild_of_a_published_version_takes_the_next_build_tag(db: Database) -> None:
    def build(version: str, wheel: str | None, *, published: bool, tag: str | None = None) -> int:
        with db.session() as session:
            row = new_build(session, options={"rebuild": True})
            plan = replace(planned(), version=version, build_tag=tag)
            records.record_plan(session, row.id, plan, plan_json={}, cost=None)
            if wheel is not None:
                result = StageResult(
                    job_id="linux-x86_64-cpu",
                    status="succeeded",
                    wheels=[_wheel("cp312").model_copy(update={"name": wheel})],
                    worker="w1",
                    attempt=1,
                )
                records.update_job(
                    session,
                    JobUpdate(
                        build_id=row.id, job_id="linux-x86_64-cpu", state="succeeded", result=result
                    ),
                )
                if published:
                    records.record_published(session, row.id, {}, {f"index/{wheel}": wheel})
            return row.id

    def tag_for(build_id: int, version: str) -> str | None:
        with db.session() as session:
            return records.rebuild_tag(session, records.get_build(session, build_id), version)

    v1, v2 = "0.1.0.dev20261120", "0.1.0.dev20261121"
    name = "hello_c-{}{}-cp312-cp312-manylinux_2_35_x86_64.whl"
    # Nothing published at v1 yet (a failed build does not count): no tag.
    build(v1, name.format(v1, ""), published=False)
    assert tag_for(build(v1, None, published=False), v1) is None
    build(v1, name.format(v1, ""), published=True)
    rebuild = build(v1, None, published=False)
    assert tag_for(rebuild, v1) == "1"
    build(v1, name.format(v1, "-1"), published=True, tag="1")
    build(v1, None, published=False, tag="2")  # planned with tag 2, never got further
    assert tag_for(rebuild, v1) == "3"
    assert tag_for(rebuild, v2) is None  # a new version needs none
    with db.session() as session:
        assert records.get_build(session, rebuild).options.get("build_tag") is None
