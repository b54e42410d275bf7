"""Run one planned job: cibuildwheel in the job's builder image, wheels and a JobRecord out.

The job's wheels land in ``<output>/<variant>/``; its full log in
``<output>/logs/<package>-<job>.log``.
Wheels produced before a failure are kept and listed. Containers the job started carry a label
and are removed whatever happens (failure, timeout, Ctrl-C).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomlkit

from wheelyard import proc
from wheelyard.builder.diagnose import diagnose
from wheelyard.builder.engine import ContainerEngine, ImageInfo
from wheelyard.builder.image.ensure import ChosenImage
from wheelyard.builder.image.recipe import LABEL_INTERPRETERS
from wheelyard.builder.options import (
    CCACHE_DIR,
    EARLY_DIR,
    FIND_LINKS_DIR,
    cibuildwheel_version,
    compose,
    host_environment,
)
from wheelyard.builder.progress import Event, EventKind, LogFollower
from wheelyard.builder.retag import add_build_tag
from wheelyard.builder.torch import (
    CONSTRAINTS_NAME,
    DEFAULT_TORCH_CACHE_MAX_BYTES,
    TORCH_DIR,
    IdentityReader,
    TorchRequest,
    TorchSetup,
    prepare_torch,
    sweep_torch_cache,
)
from wheelyard.config.load import LoadedRecipe
from wheelyard.errors import ProcessError, TorchError
from wheelyard.plan.matrix import Job
from wheelyard.record import (
    DEFAULT_ABI_DEPENDENCIES,
    Cause,
    Failure,
    ImageEntry,
    JobRecord,
    JobSpec,
    JobStatus,
    NativeCore,
    PythonResult,
    PythonStatus,
    TorchEntry,
    WheelInfo,
    build_dependencies_from_log,
    built_against,
)

JOB_LABEL = "dev.wheelyard.job"
DEFAULT_TIMEOUT = 3600.0
BUILD_PIDS_LIMIT = 16384


def default_build_memory() -> int:
    """Bytes a build container may use: 80 % of this machine's memory (a build that runs away
    is stopped before it takes the machine's other work with it)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * 1024**3
    return max(int(total * 0.8), 1024**3)


DEFAULT_TORCH_CACHE = Path.home() / ".cache" / "wheelyard" / "torch"
PYPI = "https://pypi.org/simple"
CONSTRAINT_VARIABLES = ("UV_CONSTRAINT", "PIP_CONSTRAINT")


@dataclass(frozen=True, kw_only=True)
class JobSettings:
    output: Path
    timeout: float = DEFAULT_TIMEOUT
    compiler_cache: Path | None = None
    """Host directory of the persistent compiler cache (one per variant below it); None: off."""
    find_links: bool = False
    """Let builds and tests install wheels already in ``<output>/<variant>/`` (packages built
    earlier in the same run, e.g. the core a plugin needs)."""
    abi_dependencies: tuple[str, ...] = DEFAULT_ABI_DEPENDENCIES
    """Build-time dependencies whose versions the record lists as ABI-carrying (each wheel's
    ``built_against.abi_dependencies``); every build dependency's version is recorded anyway."""
    build_tag: str | None = None
    """A wheel build tag every wheel of the job gets (a rebuild of a published version)."""
    contents: Callable[[Path], Mapping[str, Any]] | None = None
    """Reads what a built wheel's own files say (requirements, ELF ``DT_NEEDED`` libraries) for
    its ``built_against``: ``wheel.linkage.linkage_of``, handed in by the caller (the build
    layer does not read wheels' insides). None: those fields are left out."""
    torch_cache: Path = DEFAULT_TORCH_CACHE
    """Host folder of the torch wheelhouses (one per variant below it), shared by every job of
    a variant: torch and its dependencies are downloaded once."""
    memory_bytes: int = field(default_factory=default_build_memory)
    """The build container's memory limit."""
    pids_limit: int = BUILD_PIDS_LIMIT
    """The build container's process limit (a fork bomb stops there)."""
    torch_cache_max_bytes: int = DEFAULT_TORCH_CACHE_MAX_BYTES
    """The torch cache's bound: after a job has its torch, the least recently used other
    wheelhouses (idle for hours) are removed until the cache is within it."""
    torch_identity: IdentityReader | None = None
    """Reads a torch wheel's identity (``wheel.torch.torch_identity``), handed in by the caller;
    None: a job that builds against torch fails (it could not record which torch)."""
    dependency_index: str = PYPI
    """The index torch's dependencies come from (the configured index)."""
    torch_index: tuple[str, ...] = ()
    """Torch sources that replace the catalog's (a farm's own index); a recipe's
    ``torch-index`` still wins for its package."""


def container_limits(settings: JobSettings) -> list[str]:
    """The build container's resource limits (the engine enforces them)."""
    return [f"--memory={settings.memory_bytes}b", f"--pids-limit={settings.pids_limit}"]


def image_interpreters(image: ImageInfo) -> tuple[str, ...] | None:
    raw = image.labels.get(LABEL_INTERPRETERS)
    return tuple(raw.split()) if raw else None


def run_job(
    job: Job,
    loaded: LoadedRecipe,
    *,
    engine: ContainerEngine,
    image: ChosenImage,
    build_env: Mapping[str, str],
    settings: JobSettings,
    on_event: Callable[[Event], None] | None = None,
    base_environ: Mapping[str, str] | None = None,
    torch: TorchRequest | None = None,
) -> JobRecord:
    """Build ``job`` with cibuildwheel; never raises for a failed build (the record says so).

    ``torch``: the job builds against torch; it is had first (``builder.torch``), and a torch
    that cannot be had fails the job before anything compiles."""
    started = time.monotonic()
    # A build process killed outright (SIGKILL of a farm worker) leaves its exited container.
    reap_exited_containers(engine)
    image_ref = image.ref
    in_image = image_interpreters(image.info)
    pythons = [p for p in job.pythons if in_image is None or p in in_image]
    missing = [p for p in job.pythons if p not in pythons]
    run_id = uuid.uuid4().hex[:12]
    out_dir = settings.output / job.variant
    staging = settings.output / ".staging" / f"{job.id}-{run_id}"
    log_path = settings.output / "logs" / f"{_slug(loaded.project_name)}-{job.id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("", encoding="utf-8")

    early = staging / "early"
    early.mkdir(parents=True, exist_ok=True)
    extra_args = [
        f"--label={JOB_LABEL}={run_id}",
        f"--volume={early.resolve()}:{EARLY_DIR}:rw",
        *container_limits(settings),
    ]
    if settings.compiler_cache is not None:
        # One cache per package and variant: a package's writes never reach another's build.
        cache = settings.compiler_cache / _slug(loaded.project_name) / job.variant
        cache.mkdir(parents=True, exist_ok=True)
        extra_args.append(f"--volume={cache.resolve()}:{CCACHE_DIR}:rw")
    if settings.find_links:
        out_dir.mkdir(parents=True, exist_ok=True)
        extra_args.append(f"--volume={out_dir.resolve()}:{FIND_LINKS_DIR}:ro")
        build_env = {**build_env, "PIP_FIND_LINKS": FIND_LINKS_DIR, "UV_FIND_LINKS": FIND_LINKS_DIR}
    failure: Failure | None = None
    torch_setup: TorchSetup | None = None
    if torch is not None and pythons:
        request = replace(torch, pythons=tuple(pythons))
        torch_setup, failure = _have_torch(request, settings, log_path, on_event)
    if torch_setup is not None:
        (early / CONSTRAINTS_NAME).write_text(torch_setup.constraints, encoding="utf-8")
        extra_args.append(f"--volume={torch_setup.wheelhouse.resolve()}:{TORCH_DIR}:ro")
        ours = torch_setup.environment(f"{EARLY_DIR}/{CONSTRAINTS_NAME}")
        build_env = _with_installer_settings(build_env, ours)
        loaded = replace(
            loaded,
            recipe=loaded.recipe.model_copy(
                update={
                    "environment": _with_installer_settings(
                        loaded.recipe.environment,
                        {k: v for k, v in ours.items() if k in loaded.recipe.environment},
                    )
                }
            ),
        )
    options = compose(
        job,
        loaded,
        build_env=build_env,
        pythons=pythons,
        image=image_ref,
        container_engine=engine.cibw_container_engine(extra_create_args=extra_args),
        compiler_cache=settings.compiler_cache is not None,
    )
    follower = LogFollower(on_event=on_event)
    environ = dict(base_environ if base_environ is not None else _clean_environ())
    environ.update(options.env)
    environ.update({"CIBW_LOG_FOLD_MODE": "disabled", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})

    if not pythons:
        failure = Failure(
            message=f"none of {', '.join(job.pythons)} is in the image {image_ref}",
            step="select",
            hint="rebuild the image with those interpreters, or narrow python",
        )
    elif failure is None:
        # cibuildwheel reads the package's options from this file: the package's own table as
        # wheelyard composed it (the recipe's replacements, enable groups it knows).
        config = staging.parent / f"{staging.name}.cibuildwheel.toml"
        config.write_text(
            tomlkit.dumps({"tool": {"cibuildwheel": dict(options.package_options)}}),
            encoding="utf-8",
        )
        argv = [
            sys.executable,
            "-m",
            "cibuildwheel",
            "--platform",
            job.os,
            "--config-file",
            str(config),
            "--output-dir",
            str(staging),
            ".",
        ]
        try:
            proc.run(
                argv,
                cwd=loaded.project_dir,  # cibuildwheel copies its working directory as {project}
                env=environ,
                timeout=settings.timeout,
                log_path=log_path,
                on_line=follower.feed,
                keep_output=False,
            )
        except ProcessError as exc:
            python = follower.current
            step = follower.failed_step
            reason = "ran past its timeout" if exc.timed_out else f"exited {exc.returncode}"
            where = f"{python or 'the job'} during {step or 'start-up'}"
            cause = None if exc.timed_out else diagnose(_read(log_path))
            failure = Failure(
                message=f"{cause.message} ({where})"
                if cause is not None
                else f"cibuildwheel {reason}: {where}",
                python=python,
                step=step,
                returncode=exc.returncode,
                timed_out=exc.timed_out,
                log_tail=exc.output_tail,
                cause=Cause(kind=cause.kind, line=cause.line) if cause is not None else None,
                hint=cause.hint if cause is not None else None,
            )
        except KeyboardInterrupt:
            # proc.run has stopped cibuildwheel's process group; record what was built.
            python = follower.current
            failure = Failure(
                message=f"interrupted: {python or 'the job'} during "
                f"{follower.failed_step or 'start-up'}",
                python=python,
                step=follower.failed_step,
                interrupted=True,
            )
        finally:
            config.unlink(missing_ok=True)  # the staging folder must be left empty
            for container in engine.containers_with_label(f"{JOB_LABEL}={run_id}"):
                engine.remove_container(container.id)

    finished = {p for p, t in follower.pythons.items() if t.seconds is not None}
    wheels = _collect(
        staging, out_dir, settings.output, finished=finished, build_tag=settings.build_tag
    )
    image_entry = image.entry(tuple(in_image or ()))
    torch_entry = torch_setup.entry if torch_setup is not None else None
    wheels = _with_built_against(wheels, settings, image_entry, log_path, torch_entry)
    results = _python_results(job.pythons, missing, follower, wheels, failure)
    return JobRecord(
        job=JobSpec.model_validate(job.to_json()),
        status=JobStatus.FAILED if failure else JobStatus.SUCCEEDED,
        package=loaded.project_name,
        image=image_entry,
        engine=engine.name,
        cibuildwheel=cibuildwheel_version(),
        effective_options=options.env,
        composition_notes=options.notes,
        pythons=results,
        wheels=tuple(wheels),
        native_core=NativeCore(
            command=loaded.recipe.native_build,
            seconds=follower.native_seconds,
            runs=1 if follower.native_seconds is not None else 0,
            reused_by=tuple(r.python for r in results if r.status is PythonStatus.BUILT)
            if loaded.recipe.native_build
            else (),
            compiler_cache=dict(follower.native_cache),
        ),
        torch=torch_entry,
        seconds=time.monotonic() - started,
        log=str(log_path),
        failure=failure,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _have_torch(
    request: TorchRequest,
    settings: JobSettings,
    log_path: Path,
    on_event: Callable[[Event], None] | None,
) -> tuple[TorchSetup | None, Failure | None]:
    """The job's torch in the variant's wheelhouse, or the failure that stops the job."""
    if settings.torch_identity is None:
        return None, Failure(
            message="this build cannot read torch wheels (no identity reader was handed in)",
            step="torch",
        )
    if on_event is not None:
        on_event(Event(kind=EventKind.TORCH_STARTED, step=f"torch{request.specifier}"))
    try:
        setup = prepare_torch(
            request, settings.torch_cache, identity=settings.torch_identity, log_path=log_path
        )
    except TorchError as exc:
        return None, Failure(message=exc.message, step="torch", hint=exc.hint)
    evicted = sweep_torch_cache(
        settings.torch_cache, max_bytes=settings.torch_cache_max_bytes, keep=setup.wheelhouse
    )
    if evicted:
        entry = setup.entry.model_copy(
            update={
                "evicted": tuple(str(e.wheelhouse) for e in evicted),
                "evicted_bytes": sum(e.bytes for e in evicted),
            }
        )
        setup = replace(setup, entry=entry)
    if on_event is not None:
        entry = setup.entry
        versions = ", ".join(sorted({f"{b.version} ({b.accelerator})" for b in entry.builds}))
        on_event(
            Event(
                kind=EventKind.TORCH_FINISHED,
                step=f"torch {versions}: {entry.downloaded_files} files downloaded "
                f"({entry.downloaded_bytes / 1e6:.0f} MB), {entry.reused_files} from the cache",
                seconds=entry.seconds,
            )
        )
    return setup, None


def _with_installer_settings(base: Mapping[str, str], ours: Mapping[str, str]) -> dict[str, str]:
    """``base`` with wheelyard's installer settings; constraint files add up (a campaign's
    pins and the torch pins both apply)."""
    merged = dict(base)
    for key, value in ours.items():
        if key in CONSTRAINT_VARIABLES and merged.get(key) and value not in merged[key].split():
            merged[key] = f"{merged[key]} {value}"
        else:
            merged[key] = value
    return merged


def _with_built_against(
    wheels: list[WheelInfo],
    settings: JobSettings,
    image: ImageEntry,
    log_path: Path,
    torch: TorchEntry | None = None,
) -> list[WheelInfo]:
    """Each wheel with what it was built against; build-time dependency versions come from
    pypa/build's own report in the job's log (see ``build_dependencies_from_log``)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    dependencies = build_dependencies_from_log(text)
    return [
        wheel.model_copy(
            update={
                "built_against": built_against(
                    settings.output / wheel.path,
                    image=image.dump(),
                    build_dependencies=dependencies.get(wheel.python, {}),
                    abi_dependencies=settings.abi_dependencies,
                    contents=(
                        settings.contents(settings.output / wheel.path)
                        if settings.contents is not None
                        else None
                    ),
                    torch=_torch_of(torch, wheel.python),
                )
            }
        )
        for wheel in wheels
    ]


def _torch_of(entry: TorchEntry | None, python: str) -> dict[str, Any] | None:
    build = entry.for_python(python) if entry is not None else None
    return build.dump() if build is not None else None


def reap_exited_containers(engine: ContainerEngine) -> list[str]:
    """Remove build containers that have exited but were left behind (their build process was
    killed before it could clean up); running ones belong to live builds and are kept."""
    removed = []
    for container in engine.containers_with_label(JOB_LABEL):
        if container.status.lower().startswith(("exited", "stopped", "dead")):
            engine.remove_container(container.id)
            removed.append(container.id)
    return removed


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "package"


def compiler_cache_deltas(follower: LogFollower) -> dict[str, dict[str, int]]:
    """Each Python's own ccache hits/misses: ccache prints cumulative counters (zeroed in
    before-all, printed after the native-build and after each Python's repair), so each
    Python's share is its print minus the previous one, in build order."""
    previous = dict(follower.native_cache)
    deltas: dict[str, dict[str, int]] = {}
    for python, timing in follower.pythons.items():
        if not timing.compiler_cache:
            continue
        current = timing.compiler_cache
        deltas[python] = {k: v - previous.get(k, 0) for k, v in current.items()}
        previous = dict(current)
    return deltas


def _clean_environ() -> dict[str, str]:
    return host_environment(os.environ)


def _collect(
    staging: Path, out_dir: Path, root: Path, *, finished: set[str], build_tag: str | None
) -> list[WheelInfo]:
    """Move the job's wheels into the variant's directory (one rename each), with the build
    tag when there is one.

    cibuildwheel's output when it finished; otherwise the wheels copied out early for the
    Pythons that went through every step (built, repaired, tested).
    """
    found: list[WheelInfo] = []
    if not staging.is_dir():
        return found
    out_dir.mkdir(parents=True, exist_ok=True)
    candidates = sorted(staging.glob("*.whl"))
    if not candidates:
        candidates = [
            w
            for w in sorted((staging / "early").glob("*.whl"))
            if WheelInfo.of(w, staging).python in finished
        ]
    for wheel in candidates:
        target = out_dir / wheel.name
        wheel.replace(target)
        if build_tag is not None:
            target = add_build_tag(target, build_tag)
        found.append(WheelInfo.of(target, root))
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # only when no other job is staging
    return found


def _python_results(
    planned: tuple[str, ...],
    missing: list[str],
    follower: LogFollower,
    wheels: list[WheelInfo],
    failure: Failure | None,
) -> tuple[PythonResult, ...]:
    own_cache = compiler_cache_deltas(follower)
    results = []
    for python in planned:
        wheel = next((w.name for w in wheels if w.python == python), None)
        timing = follower.pythons.get(python)
        status: PythonStatus
        step: str | None = None
        if python in missing:
            status = PythonStatus.NOT_IN_IMAGE
        elif wheel is not None and timing is not None and timing.seconds is not None:
            status = PythonStatus.BUILT
        elif failure is not None and failure.python == python:
            status, step = PythonStatus.FAILED, follower.failed_step
        else:
            status = PythonStatus.NOT_STARTED
        results.append(
            PythonResult(
                python=python,
                status=status,
                seconds=timing.seconds if timing else None,
                wheel=wheel,
                step=step,
                compiler_cache=own_cache.get(python, {}),
            )
        )
    return tuple(results)
