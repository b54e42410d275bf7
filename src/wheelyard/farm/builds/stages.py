"""The stages of one farm job, calling the same functions as ``wheelyard build`` / ``verify`` /
``smoke --gpu``: build (cibuildwheel in the builder image), verify (the gate), GPU smoke.

Each runs in a child process (``wheelyard.farm.builds.stage_process``) so that an activity can be
cancelled (SIGINT: containers stopped, the record written) and a worker that dies takes its
build with it. Results are plain ``StageResult`` messages; paths in them are relative to the
farm's data directory.

A build can install what the farm has published: before it starts, the published wheels of the
other farm packages for the job's variant (the non-variant fallback wheels for ``cpu``, the
legacy ``+variant`` wheels otherwise) are linked into the job's wheelhouse, which the build and
its tests use as find-links. A plugin is built and tested against its core as the farm
published it. ``DATA/abi-dependencies.txt`` (one name a line), where present, replaces the list
of build-time dependencies recorded as ABI-carrying.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from wheelyard.builder.engine import detect_engine
from wheelyard.builder.image.ensure import ChosenImage, ImagePolicy, builder_image
from wheelyard.builder.job import PYPI, JobSettings
from wheelyard.builder.package import BuildCallbacks, build_packages
from wheelyard.builder.progress import Event
from wheelyard.catalog.model import Catalog
from wheelyard.errors import StoreError
from wheelyard.farm.messages import StageInput, StageResult
from wheelyard.host.gpu import detect_gpus
from wheelyard.host.platform import host_platform
from wheelyard.index.state import load_state
from wheelyard.index.store import FileStore
from wheelyard.pipeline import LoadedBuild, verification_sandbox
from wheelyard.plan import Job
from wheelyard.record import (
    DEFAULT_ABI_DEPENDENCIES,
    BuildRecord,
    JobRecord,
    JobStatus,
)
from wheelyard.verify import Interpreter, VerifyOptions, gate_build, with_recipe
from wheelyard.verify.gpu import GpuSmokeOptions, gpu_smoke, skipped_for_no_gpu
from wheelyard.verify.report import Check, WheelReport
from wheelyard.verify.sandbox import Sandbox
from wheelyard.wheel.convert import WheelKind
from wheelyard.wheel.linkage import linkage_of
from wheelyard.wheel.torch import torch_facts

ABI_DEPENDENCIES_FILE = "abi-dependencies.txt"
INDEX_DIR = "index"
NO_GPU = "no-gpu"
"""``StageResult.status`` of a GPU smoke test that found no suitable GPU on its worker."""

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, kw_only=True)
class WorkerEnvironment:
    """What the worker process resolved from its command line and environment."""

    data_dir: Path
    engine: str | None = None
    compiler_cache: Path | None = None
    interpreters: tuple[Interpreter, ...] = ()
    index_url: str | None = None
    torch_cache: Path | None = None
    """The torch wheelhouses' folder (default: ``<data>/cache/torch``)."""
    torch_index: tuple[str, ...] = ()
    """The farm's own torch sources (``WHEELYARD_FARM_TORCH_INDEX``): they replace the
    catalog's; a recipe's ``torch-index`` still wins."""
    detect_file: Path | None = None
    """A GPU detection override (``WHEELYARD_DETECT_FILE``), for tests."""
    image_policy: ImagePolicy = ImagePolicy.AUTO
    """Which builder images jobs ask for (``WHEELYARD_FARM_IMAGES``)."""


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def _sandbox(stage: StageInput, env: WorkerEnvironment, loaded: LoadedBuild) -> Sandbox:
    """Package code of the farm's builds runs only here: in a container of the job's builder
    image (a worker without a container engine fails the stage)."""
    return verification_sandbox(
        detect_engine(env.engine), loaded.units[0].catalog, variant=stage.variant
    )


def _load(stage: StageInput, env: WorkerEnvironment) -> LoadedBuild:
    """The build as the plan activity loaded and planned it: never loaded again here."""
    return LoadedBuild.read(env.data_dir / stage.plan, root=env.data_dir)


def _status(jobs: Sequence[JobRecord]) -> tuple[str, str | None]:
    failed = [j for j in jobs if j.status is JobStatus.FAILED]
    if failed:
        first = failed[0].failure
        return "failed", first.message if first is not None else "the build failed"
    if jobs and all(j.status is JobStatus.SKIPPED for j in jobs):
        return "skipped", jobs[0].reason
    if not any(j.wheels for j in jobs):
        return "failed", "the job built no wheel"
    return "succeeded", None


def abi_dependencies(data_dir: Path) -> tuple[str, ...]:
    """The farm's list of ABI-carrying build dependencies (``DATA/abi-dependencies.txt``)."""
    try:
        text = (data_dir / ABI_DEPENDENCIES_FILE).read_text(encoding="utf-8")
    except OSError:
        return DEFAULT_ABI_DEPENDENCIES
    names = tuple(
        line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()
    )
    return names or DEFAULT_ABI_DEPENDENCIES


def link_farm_wheels(data_dir: Path, target: Path, *, variant: str, exclude: set[str]) -> int:
    """Link the farm's published wheels for ``variant`` (other projects than ``exclude``) into
    ``target``, where the build finds them; returns how many."""
    root = data_dir / INDEX_DIR
    if not root.is_dir():
        return 0
    try:
        state = load_state(FileStore(root.resolve()))
    except StoreError:
        return 0
    kind = WheelKind.FALLBACK if variant == "cpu" else WheelKind.LEGACY
    count = 0
    for published in state.files:
        if published.kind is not kind or published.variant != variant:
            continue
        if published.project in exclude or published.yanked is not None:
            continue
        source = root / published.key
        if not source.is_file():
            continue
        target.mkdir(parents=True, exist_ok=True)
        destination = target / published.filename
        if destination.exists():
            continue
        try:
            destination.hardlink_to(source)
        except OSError:
            shutil.copyfile(source, destination)
        count += 1
    return count


def run_build(stage: StageInput, env: WorkerEnvironment, progress: Progress) -> StageResult:
    """Build one job (every package of the submission that plans it) into ``stage.output``.

    A retried attempt starts from an empty wheelhouse, so the job's record lists exactly the
    wheels of the attempt that finished.
    """
    started = time.monotonic()
    loaded = _load(stage, env)
    units = loaded.only(stage.job_id)
    output = env.data_dir / stage.output
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    own = {str(canonicalize_name(unit.loaded.project_name)) for unit in loaded.units}
    linked = link_farm_wheels(
        env.data_dir, output / stage.variant, variant=stage.variant, exclude=own
    )
    if linked:
        progress({"step": "farm-wheels", "count": linked})
    engine = detect_engine(env.engine)

    def images(job: Job, catalog: Catalog) -> ChosenImage:
        progress({"step": "image", "variant": job.variant})
        chosen = builder_image(
            job.variant, job.platform, catalog=catalog, engine=engine, policy=env.image_policy
        )
        if chosen.note is not None:
            progress({"step": "image", "variant": job.variant, "note": chosen.note})
        return chosen

    def on_event(_job: Job, event: Event) -> None:
        progress(
            {
                "step": str(event.kind),
                "python": event.python,
                "detail": event.step,
                "seconds": event.seconds,
            }
        )

    record: BuildRecord = build_packages(
        units,
        name=loaded.name,
        engine=engine,
        images=images,
        settings=JobSettings(
            output=output.resolve(),
            timeout=stage.timeout_seconds,
            compiler_cache=env.compiler_cache,
            find_links=linked > 0,
            abi_dependencies=abi_dependencies(env.data_dir),
            build_tag=stage.build_tag,
            contents=linkage_of,
            torch_cache=env.torch_cache or env.data_dir / "cache" / "torch",
            torch_identity=torch_facts,
            dependency_index=env.index_url or PYPI,
            torch_index=env.torch_index,
        ),
        date=dt.date.fromisoformat(stage.date),
        host=host_platform(),
        source=f"farm build {stage.build_id}",
        callbacks=BuildCallbacks(event=on_event),
    )
    jobs = [j for j in record.jobs if j.id == stage.job_id]
    status, message = _status(jobs)
    pythons = {
        (f"{j.package}:{p.python}" if len(loaded.units) > 1 else p.python): str(p.status)
        for j in jobs
        for p in j.pythons
    }
    logs = [j.log for j in jobs if j.log]
    return StageResult(
        job_id=stage.job_id,
        status=status,
        message=message,
        wheels=[wheel for job in jobs for wheel in job.wheels],
        log=_relative(Path(logs[0]), env.data_dir) if logs else None,
        seconds=time.monotonic() - started,
        pythons=pythons,
        record={"jobs": [_job_json(j) for j in jobs]},
    )


def _job_json(job: JobRecord) -> dict[str, Any]:
    """The job's record entry as the farm's database keeps it (without the long option list)."""
    return job.model_copy(update={"effective_options": {}}).dump()


def run_verify(stage: StageInput, env: WorkerEnvironment, progress: Progress) -> StageResult:
    """The verification gate on the job's wheels; each verdict goes into its build record."""
    started = time.monotonic()
    loaded = _load(stage, env)
    output = env.data_dir / stage.output
    options = VerifyOptions(
        interpreters=env.interpreters,
        index_url=env.index_url,
        sandbox=_sandbox(stage, env, loaded),
    )

    def on_wheel(report: WheelReport) -> None:
        progress({"step": "verify", "wheel": report.filename, "status": str(report.status)})

    reports = gate_build(
        output, [unit.loaded for unit in loaded.units], options=options, progress=on_wheel
    )
    failed = []
    for report in reports:
        if not report.ok:
            first = report.failures[0] if report.failures else None
            failed.append(
                f"{report.filename}: {first.label}: {first.message}" if first else report.filename
            )
    return StageResult(
        job_id=stage.job_id,
        status="failed" if failed else "succeeded",
        message="; ".join(failed) or None,
        wheels=[wheel for _, wheel in BuildRecord.load(output).entries()],
        seconds=time.monotonic() - started,
    )


def run_smoke(stage: StageInput, env: WorkerEnvironment, progress: Progress) -> StageResult:
    """The GPU smoke stage on the job's wheels, on a machine with a GPU."""
    started = time.monotonic()
    loaded = _load(stage, env)
    output = env.data_dir / stage.output
    wheels = BuildRecord.load(output).wheels_by_package(output)
    sandbox = _sandbox(stage, env, loaded)
    inventory = detect_gpus(override=env.detect_file)
    progress({"step": "gpu", "present": inventory.present})
    failed: list[str] = []
    no_gpu = False
    for unit in loaded.units:
        paths = wheels.get(unit.loaded.project_name)
        if not paths:
            continue
        options = with_recipe(
            VerifyOptions(interpreters=env.interpreters, index_url=env.index_url, sandbox=sandbox),
            unit.loaded,
        )
        report = gpu_smoke(
            paths,
            GpuSmokeOptions(
                verify=options, catalog=unit.catalog, inventory=inventory, variant=stage.variant
            ),
        )
        for wheel in report.wheels:
            if skipped_for_no_gpu(wheel):
                no_gpu = True
            elif not wheel.ok:
                result = wheel.result(Check.GPU)
                failed.append(
                    f"{wheel.filename}: {result.message if result else 'smoke test failed'}"
                )
    status = "failed" if failed else (NO_GPU if no_gpu else "succeeded")
    return StageResult(
        job_id=stage.job_id,
        status=status,
        message="; ".join(failed) or (inventory.reason if no_gpu else None),
        seconds=time.monotonic() - started,
        gpu=inventory.to_json(),
    )


STAGES: dict[str, Callable[[StageInput, WorkerEnvironment, Progress], StageResult]] = {
    "build": run_build,
    "verify": run_verify,
    "smoke": run_smoke,
}
