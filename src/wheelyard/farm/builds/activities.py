"""Temporal activities: the farm's own (fetch, plan, record, publish; on ``FARM_QUEUE``, next to
the database) and the stages of a job (build, verify, GPU smoke; on the job's runner queue).

Every activity is idempotent: fetch is done once per build (``fetched.json``), the plan is
stored on the same rows again, a retried build starts from an empty wheelhouse and replaces
the wheel rows of the attempt before, and publish skips files already published with the same
bytes. Stage activities run their stage in a child process and heartbeat every few seconds with
its last progress line; a worker that dies stops heartbeating and Temporal retries the job on
another worker of the same queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, TypeVar

from packaging.specifiers import SpecifierSet
from temporalio import activity
from temporalio.exceptions import ApplicationError

from wheelyard.errors import WheelyardError
from wheelyard.farm.builds import records
from wheelyard.farm.builds.source import SourceSpec, fetch_source
from wheelyard.farm.builds.stage_process import write_spec
from wheelyard.farm.builds.stages import WorkerEnvironment
from wheelyard.farm.builds.submit import check_host_paths, check_planned_packages
from wheelyard.farm.db.engine import Database
from wheelyard.farm.messages import (
    BuildRequest,
    BuildUpdate,
    FetchResult,
    JobSpec,
    JobUpdate,
    PlanResult,
    PublishInput,
    PublishResult,
    ScheduledBuild,
    StageInput,
    StageResult,
    WorkerAnnouncement,
)
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import Activity, SourceKind
from wheelyard.host.platform import host_platform
from wheelyard.index.publish import PublishOptions, publish_wheelhouse
from wheelyard.index.state import load_state
from wheelyard.index.store import FileStore
from wheelyard.pipeline import BuildOptions, LoadedBuild, load_project
from wheelyard.plan.cost import CostParameters, estimate
from wheelyard.record import BuildRecord, WheelInfo
from wheelyard.source import own_version
from wheelyard.version import package_version
from wheelyard.wheel.convert import WheelKind

HEARTBEAT_EVERY = 5.0
FARM_HEARTBEAT_EVERY = 2.0
"""How often the farm's own activities heartbeat while their work runs in a thread."""
CANCEL_GRACE = 60.0
T = TypeVar("T")
PLANNED_BUILD = "planned-build.json"
"""The loaded and planned build the plan activity saves in the build's folder for the stages."""
BAD_INPUT = "BadInput"
"""ApplicationError type of failures that would fail the same way on any worker."""
NO_GPU = "NoGpu"


async def heartbeating(work: Callable[..., T], *args: Any) -> T:
    """Run blocking ``work(*args)`` in a thread and heartbeat until it returns.

    Every activity of the farm's own queue runs this way and is scheduled with a short
    heartbeat timeout: when the process running it dies (a SIGKILLed ``farm up``), Temporal
    retries it seconds later on the restarted farm instead of waiting out its start-to-close
    timeout (up to half an hour for a publish), during which the build would sit silently in
    its last state."""
    task = asyncio.ensure_future(asyncio.to_thread(work, *args))
    every = FARM_HEARTBEAT_EVERY
    if activity.in_activity():
        timeout = activity.info().heartbeat_timeout
        if timeout:
            every = min(every, timeout.total_seconds() / 3)
    while True:
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return task.result()
        if activity.in_activity():
            activity.heartbeat()


def bad_input(exc: WheelyardError, data_dir: Path | None = None) -> ApplicationError:
    """The error as the build's (public) message: paths below the farm's data folder are shown
    relative to it, so the message names no folder of the farm's machine."""
    text = str(exc)
    if data_dir is not None:
        for root in dict.fromkeys([str(data_dir.resolve()), str(data_dir)]):
            text = text.replace(f"{root}/", "")
    return ApplicationError(text, type=BAD_INPUT, non_retryable=exc.exit_code == 2)


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One publisher per store at a time (several builds may finish together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _built_key(filename: str, *, variant_file: bool) -> tuple[str, tuple[str, ...]]:
    """(distribution, python-abi-platform) of a wheel file name, without a variant label."""
    parts = filename.removesuffix(".whl").split("-")
    if variant_file:
        parts = parts[:-1]
    return parts[0].lower(), tuple(parts[-3:])


class FarmActivities:
    """The activities that read and write the farm's database and index."""

    def __init__(self, settings: FarmSettings, database: Database) -> None:
        self.settings = settings
        self.database = database

    @activity.defn(name=Activity.FETCH_SOURCE)
    async def fetch_source(self, request: BuildRequest) -> FetchResult:
        return await heartbeating(self._fetch, request)

    def _fetch(self, request: BuildRequest) -> FetchResult:
        build_dir = FarmSettings.build_dir(request.build_id)
        folder = self.settings.path(build_dir) / "source"
        spec = SourceSpec(
            kind=SourceKind(request.source_kind), location=request.source, ref=request.ref
        )
        if spec.kind is SourceKind.SDIST:
            spec = SourceSpec(kind=spec.kind, location=str(self.settings.path(request.source)))
        try:
            fetched = fetch_source(spec, folder, today=dt.datetime.now(tz=dt.UTC).date())
        except WheelyardError as exc:
            raise bad_input(exc, self.settings.data_dir) from exc
        recipe: str | None = None
        if request.farm_recipe:
            path = self.settings.path(build_dir) / "farm-recipe.toml"
            path.write_text(request.farm_recipe, encoding="utf-8")
            recipe = f"{build_dir}/farm-recipe.toml"
        options = BuildOptions.model_validate(request.options)
        date = options.date or fetched.date
        return FetchResult(
            project_dir=str(fetched.project_dir.relative_to(self.settings.data_dir)),
            farm_recipe=recipe,
            date=date.isoformat(),
            commit=fetched.commit,
        )

    @activity.defn(name=Activity.PLAN_BUILD)
    async def plan_build(self, request: BuildRequest, fetched: FetchResult) -> PlanResult:
        return await heartbeating(self._plan, request, fetched)

    def _plan(self, request: BuildRequest, fetched: FetchResult) -> PlanResult:
        options = BuildOptions.model_validate(request.options)
        try:
            loaded = load_project(
                self.settings.path(fetched.project_dir),
                options,
                farm_recipe=self.settings.path(fetched.farm_recipe)
                if fetched.farm_recipe
                else None,
                host=host_platform(),
            )
            check_host_paths(loaded)
            check_planned_packages(loaded, request.packages)
        except WheelyardError as exc:
            raise bad_input(exc, self.settings.data_dir) from exc
        plan_file = f"{FarmSettings.build_dir(request.build_id)}/{PLANNED_BUILD}"
        loaded.save(self.settings.path(plan_file), root=self.settings.data_dir)
        first = loaded.units[0]
        date = dt.date.fromisoformat(fetched.date)
        try:
            version, channel = package_version(
                first.loaded, first.plan.channel, date, own=own_version(first.loaded)
            )
        except WheelyardError as exc:
            raise bad_input(exc, self.settings.data_dir) from exc
        if request.version_pin is not None and not SpecifierSet(request.version_pin).contains(
            version, prereleases=True
        ):
            raise ApplicationError(
                f"{loaded.name} would be built as {version}, which the pin "
                f"{request.version_pin} excludes: nothing was built (set the campaign's --date, "
                "or the source's version)",
                type=BAD_INPUT,
                non_retryable=True,
            )
        build_tag: str | None = None
        if options.rebuild:
            with self.database.session() as session:
                build_tag = records.rebuild_tag(
                    session, records.get_build(session, request.build_id), version
                )
        jobs = []
        for job_id in loaded.job_ids():
            job = loaded.job(job_id)
            jobs.append(
                JobSpec(
                    job_id=job.id,
                    variant=job.variant,
                    platform=str(job.platform),
                    pythons=sorted(
                        {
                            p
                            for u in loaded.units
                            for j in u.plan.jobs
                            if j.id == job_id
                            for p in j.pythons
                        }
                    ),
                    build_queue=job.build_runner,
                    test_queue=job.test_runner,
                    gpu_test=job.gpu_test,
                )
            )
        result = PlanResult(
            package=loaded.name,
            version=version,
            channel=str(channel),
            jobs=jobs,
            plan=plan_file,
            build_tag=build_tag,
        )
        plan_json = {"packages": [unit.plan.to_json() for unit in loaded.units]}
        cost = estimate(first.plan, CostParameters()).to_json()
        with self.database.session() as session:
            records.record_plan(session, request.build_id, result, plan_json=plan_json, cost=cost)
        return result

    @activity.defn(name=Activity.RECORD_BUILD)
    async def record_build(self, update: BuildUpdate) -> None:
        def write() -> None:
            with self.database.session() as session:
                records.update_build(session, update)

        await heartbeating(write)

    @activity.defn(name=Activity.RECORD_JOB)
    async def record_job(self, update: JobUpdate) -> None:
        def write() -> None:
            with self.database.session() as session:
                records.update_job(session, update)

        await heartbeating(write)

    @activity.defn(name=Activity.RECORD_WORKER)
    async def record_worker(self, announcement: WorkerAnnouncement) -> None:
        def write() -> None:
            with self.database.session() as session:
                records.announce_worker(session, announcement)

        await heartbeating(write)

    @activity.defn(name=Activity.CREATE_SCHEDULED_BUILD)
    async def create_scheduled_build(self, scheduled: ScheduledBuild) -> BuildRequest:
        """A nightly schedule's build: a row like a submission's, then ``BuildPackage``."""

        def write() -> BuildRequest:
            with self.database.session() as session:
                build = records.create_build(
                    session,
                    package=scheduled.package,
                    source_kind=scheduled.source_kind,
                    source=scheduled.source,
                    ref=scheduled.ref,
                    options=scheduled.options,
                    submitted_by=None,
                )
                recipe = records.latest_recipe(session, build.package)
                return BuildRequest(
                    build_id=build.id,
                    package=build.package.name,
                    source_kind=scheduled.source_kind,
                    source=scheduled.source,
                    ref=scheduled.ref,
                    options=scheduled.options,
                    farm_recipe=recipe.content if recipe else None,
                    packages=list(scheduled.packages) or [scheduled.package],
                )

        return await heartbeating(write)

    @activity.defn(name=Activity.PUBLISH_BUILD)
    async def publish_build(self, request: PublishInput) -> PublishResult:
        return await heartbeating(self._publish, request)

    def _publish(self, request: PublishInput) -> PublishResult:
        options = BuildOptions.model_validate(request.options)
        try:
            loaded = LoadedBuild.read(self.settings.path(request.plan), root=self.settings.data_dir)
        except WheelyardError as exc:
            raise bad_input(exc, self.settings.data_dir) from exc
        catalog = loaded.units[0].catalog
        store = FileStore(self.settings.index_dir.resolve())
        published: list[str] = []
        already: list[str] = []
        excluded: list[str] = []
        reports: list[dict[str, Any]] = []
        sources: dict[str, str] = {}
        built: dict[tuple[str, str, tuple[str, ...]], str] = {}
        with _lock(self.settings.data_dir / "index.lock"):
            for output in request.outputs:
                wheelhouse = self.settings.path(output)
                try:
                    record = BuildRecord.load(wheelhouse)
                except WheelyardError as exc:
                    raise bad_input(exc, self.settings.data_dir) from exc
                for job, wheel in record.entries():
                    dist, tags = _built_key(wheel.name, variant_file=False)
                    built[(job.variant, dist, tags)] = wheel.name
                try:
                    report = publish_wheelhouse(
                        wheelhouse,
                        store,
                        catalog=catalog,
                        options=PublishOptions(channel=options.channel),
                    )
                except WheelyardError as exc:
                    raise bad_input(exc, self.settings.data_dir) from exc
                reports.append(report.to_json())
                published += [f.filename for f in report.published]
                already += list(report.already)
                excluded += [f"{e.name}: {e.reason}" for e in report.excluded]
            index_files = {f.filename: f for f in load_state(store).files}
        for name in published + already:
            entry = index_files.get(name)
            if entry is None:
                continue  # pruned by retention in the same publish
            dist, tags = _built_key(name, variant_file=entry.kind is WheelKind.VARIANT)
            source = built.get((entry.variant, dist, tags))
            if source is not None:
                sources[name] = source
        with self.database.session() as session:
            records.record_published(session, request.build_id, {"reports": reports}, sources)
        return PublishResult(published=published, already=already, excluded=excluded)


class StageActivities:
    """The stages of a job, on the worker of a runner queue."""

    def __init__(self, environment: WorkerEnvironment, *, identity: str) -> None:
        self.environment = environment
        self.identity = identity

    @activity.defn(name=Activity.BUILD_JOB)
    async def build_job(self, stage: StageInput) -> StageResult:
        """Build into ``<job>/attempt-N``: an attempt Temporal gave up on (a worker that went
        silent) can never write into the folder of the attempt that replaced it."""
        attempt = replace(stage, output=f"{stage.output}/attempt-{activity.info().attempt}")
        result = await self._run("build", attempt)
        result.output = attempt.output
        return result

    @activity.defn(name=Activity.VERIFY_JOB)
    async def verify_job(self, stage: StageInput) -> StageResult:
        return await self._run("verify", stage)

    @activity.defn(name=Activity.GPU_SMOKE_JOB)
    async def gpu_smoke_job(self, stage: StageInput) -> StageResult:
        result = await self._run("smoke", stage)
        if result.status == "no-gpu":
            # The worker announced a GPU queue but has no suitable GPU: let another one try.
            raise ApplicationError(
                f"{self.identity} has no GPU for {stage.variant}: {result.message}", type=NO_GPU
            )
        return result

    async def _run(self, stage_name: str, stage: StageInput) -> StageResult:
        info = activity.info()
        root = self.environment.data_dir
        job_dir = f"{FarmSettings.build_dir(stage.build_id)}/jobs/{stage.job_id}"
        runs = root / job_dir / "runs" / f"{stage_name}-{info.attempt}"
        runs.mkdir(parents=True, exist_ok=True)
        spec, result_path, progress_path = (
            runs / "spec.json",
            runs / "result.json",
            runs / "progress.jsonl",
        )
        for stale in (result_path, progress_path):
            stale.unlink(missing_ok=True)
        write_spec(
            spec,
            stage=stage_name,
            stage_input=stage,
            env=self.environment,
            result=result_path,
            progress=progress_path,
        )
        every = HEARTBEAT_EVERY
        if info.heartbeat_timeout:
            every = min(every, info.heartbeat_timeout.total_seconds() / 3)
        with (runs / "stage.log").open("ab") as log:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "wheelyard.farm.builds.stage_process",
                str(spec),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                while True:
                    try:
                        await asyncio.wait_for(child.wait(), timeout=every)
                        break
                    except TimeoutError:
                        activity.heartbeat(_last_progress(progress_path))
            except asyncio.CancelledError:
                await _stop(child)
                raise
        try:
            outcome = json.loads(result_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ApplicationError(
                f"the {stage_name} stage of {stage.job_id} ended (exit {child.returncode}) "
                f"without a result; see {runs / 'stage.log'}"
            ) from exc
        if "error" in outcome:
            raise ApplicationError(
                f"{stage_name} of {stage.job_id} on {self.identity}: {outcome['error']}",
                type=BAD_INPUT if not outcome.get("retryable") else outcome.get("type"),
                non_retryable=not outcome.get("retryable", True),
            )
        data = outcome["result"]
        result = StageResult(**{k: v for k, v in data.items() if k != "wheels"})
        result.wheels = [WheelInfo.model_validate(w) for w in data.get("wheels", [])]
        result.worker = self.identity
        result.attempt = info.attempt
        return result


def _last_progress(path: Path) -> dict[str, Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(line)
            if isinstance(value, dict):
                return value
    return {}


async def _stop(child: asyncio.subprocess.Process) -> None:
    """SIGINT (the stage stops its containers and writes its record), then SIGKILL."""
    if child.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(child.pid, signal.SIGINT)
    try:
        await asyncio.wait_for(child.wait(), timeout=CANCEL_GRACE)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            child.kill()
        await child.wait()


def stage_result_json(result: StageResult) -> dict[str, Any]:
    return asdict(result)
