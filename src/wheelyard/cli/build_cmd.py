"""`wheelyard build`: run the planned jobs on this machine with cibuildwheel in containers."""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich import filesize
from rich.markup import escape
from rich.table import Table

from wheelyard.builder.engine import detect_engine
from wheelyard.builder.image.ensure import ChosenImage, ImagePolicy, builder_image
from wheelyard.builder.job import DEFAULT_TORCH_CACHE, JobSettings
from wheelyard.builder.package import BuildCallbacks, PackageBuild, build_packages
from wheelyard.builder.progress import Event, EventKind
from wheelyard.builder.steps import StepEvent, StepState
from wheelyard.builder.torch import DEFAULT_TORCH_CACHE_MAX_BYTES
from wheelyard.catalog.model import Catalog
from wheelyard.cli.common import (
    ProfileOpt,
    RecipeOpt,
    SandboxMode,
    SandboxOpt,
    configured_index,
    recipe_settings,
)
from wheelyard.cli.env_cmd import nightly_date, parse_date
from wheelyard.cli.output import console, err_console, print_json
from wheelyard.cli.plan_cmd import echo_recipe
from wheelyard.cli.progress import Progress
from wheelyard.cli.verify_cmd import dependency_index, valid_index_url, valid_timeout
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel
from wheelyard.errors import BuildFailedError, NothingToRunError, OutputError
from wheelyard.host.platform import host_platform
from wheelyard.pipeline import BuildOptions, load_project, verification_sandbox
from wheelyard.plan import Job
from wheelyard.record import BuildRecord, JobRecord, JobStatus, PythonStatus
from wheelyard.source import fetch_sdist, parse_requirement
from wheelyard.source.sdist import is_sdist, unpack_sdist
from wheelyard.verify.report import WheelReport
from wheelyard.verify.sandbox import Sandbox
from wheelyard.version import check_build_tag
from wheelyard.wheel.linkage import linkage_of
from wheelyard.wheel.torch import torch_facts

DEFAULT_CACHE = Path.home() / ".cache" / "wheelyard" / "ccache"


class Reporter:
    """A build's progress (packages, jobs, Pythons, the native core) on the one reporter."""

    def __init__(self, *, multi: bool = False) -> None:
        self.multi = multi
        self.progress = Progress(console)

    def line(self, text: str) -> None:
        self.progress.line(text)

    def package_started(self, loaded: LoadedRecipe, version: str) -> None:
        if self.multi:
            self.line(f"[bold]{escape(loaded.project_name)} {escape(version)}[/]")

    def job_started(self, job: Job) -> None:
        self.line(
            f"[bold]{escape(job.id)}[/]: {escape(' '.join(job.pythons))} in "
            f"{escape(job.image or '-')}"
        )

    def event(self, job: Job, event: Event) -> None:
        match event.kind:
            case EventKind.PYTHON_STARTED:
                self.line(f"  {event.python}: building")
            case EventKind.PYTHON_FINISHED:
                self.line(f"  {event.python}: [green]done[/] in {event.seconds:.1f} s")
            case EventKind.NATIVE_STARTED:
                self.line("  native-build: compiling the core once for this job")
            case EventKind.NATIVE_FINISHED:
                self.line(f"  native-build: [green]done[/] in {event.seconds:.1f} s")
            case EventKind.TORCH_STARTED:
                self.line(f"  {escape(event.step or 'torch')}: getting the variant's torch")
            case EventKind.TORCH_FINISHED:
                self.line(f"  {escape(event.step or 'torch')} in {event.seconds or 0:.1f} s")
            case EventKind.STEP:
                self.progress.status(f"{job.id} {event.python or ''} {event.step}")

    def job_finished(self, _job: Job, record: JobRecord) -> None:
        self.progress.status(None)
        absent = [p.python for p in record.pythons if p.status is PythonStatus.NOT_IN_IMAGE]
        if absent:
            self.line(f"  [yellow]not in the image[/]: {escape(' '.join(absent))} (not built)")
        if record.status is JobStatus.SKIPPED:
            self.line(f"  [yellow]skipped[/]: {escape(record.reason or '')}")
        elif record.status is JobStatus.FAILED:
            self.line(f"  [red]failed[/] after {record.seconds:.1f} s")
        else:
            self.line(f"  [green]{len(record.wheels)} wheels[/] in {record.seconds:.1f} s")


def _summary(record: BuildRecord) -> Table:
    table = Table(title=f"{record.package} {record.version}", title_justify="left")
    for column, justify in (
        ("wheel", "left"),
        ("size", "right"),
        ("sha256", "left"),
        ("time", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for job in record.jobs:
        times = {p.wheel: p.seconds for p in job.pythons if p.wheel}
        for wheel in job.wheels:
            seconds = times.get(wheel.name)
            table.add_row(
                wheel.path,
                filesize.decimal(wheel.size),
                wheel.sha256[:16],
                f"{seconds:.1f} s" if seconds is not None else "-",
            )
    return table


def _report_failures(record: BuildRecord) -> None:
    for job in record.jobs:
        failure = job.failure
        if job.status is not JobStatus.FAILED or failure is None:
            continue
        err_console.print(f"[bold red]{escape(job.id)} failed:[/] {escape(failure.message)}")
        if failure.cause is not None and failure.cause.line:
            err_console.print(f"  {escape(failure.cause.line)}", style="dim")
        if failure.hint:
            err_console.print(f"[yellow]hint:[/] {escape(failure.hint)}")
        if failure.log_tail and failure.cause is None:
            err_console.print(escape(failure.log_tail), style="dim")
        if job.log:
            err_console.print(f"full log: {escape(job.log)}")
        kept = [w.path for w in job.wheels]
        if kept:
            err_console.print(f"wheels kept from other Pythons: {escape(', '.join(kept))}")
    for job in record.jobs:
        for note in job.composition_notes:
            err_console.print(f"[dim]{escape(job.id)} options: {escape(note)}[/]")


def _check_output(output: Path) -> None:
    """Refuse a wheelhouse folder that cannot be created or written, before anything runs; the
    folders made to find out are removed again."""
    made = []
    for folder in (output, *output.parents):
        if folder.exists() or folder.is_symlink():
            break
        made.append(folder)
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=output):
            pass
    except OSError as exc:
        raise OutputError(
            f"cannot create the output folder {output}: {exc.strerror or exc}",
            hint="pass -o a folder you can write to",
        ) from exc
    finally:
        for folder in made:  # the deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()


def _valid_gigabytes(value: float) -> float:
    """``--torch-cache-max``: a finite number of GB (typer's min lets NaN through)."""
    if not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"{value} is not a number of GB, 0 or more")
    return value


def _verify_gate(
    output: Path,
    units: list[PackageBuild],
    reporter: Reporter | None,
    index_url: str | None,
    sandbox: Sandbox | None,
) -> list[WheelReport]:
    """Verify each package's new wheels (its smoke test, its optional modules); mark each
    wheel's verdict in the build record. Returns the reports of the wheels that failed."""
    # Imported here: the gate's dependencies are only loaded when a build produced wheels.
    from wheelyard.cli.verify_cmd import interpreters_from
    from wheelyard.verify import VerifyOptions, gate_build

    options = VerifyOptions(
        interpreters=interpreters_from(None), index_url=index_url, sandbox=sandbox
    )
    if sandbox is None and reporter is not None:
        reporter.line("  verify: --sandbox host: package code runs on this machine")

    def progress(report: WheelReport) -> None:
        if reporter is not None:
            style = "green" if report.ok else "red"
            reporter.line(
                f"  verify {escape(report.filename)}: [{style}]{report.status}[/]"
                f" ({report.seconds:.1f} s)"
            )

    reports = gate_build(
        output, [unit.loaded for unit in units], options=options, progress=progress
    )
    return [r for r in reports if not r.ok]


def build_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="Package directory, pyproject.toml, an sdist (.tar.gz), or NAME==VERSION "
            "(the sdist from the index)."
        ),
    ] = Path(),
    index_url: Annotated[
        str | None,
        typer.Option(
            "--index-url",
            callback=valid_index_url,
            help="Index to fetch NAME==VERSION from and to resolve the gate's dependencies from "
            "(default: $UV_INDEX_URL, $PIP_INDEX_URL, else PyPI).",
        ),
    ] = None,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", "-v", help="Only these variants (repeat).")
    ] = None,
    job_ids: Annotated[
        list[str] | None,
        typer.Option("--job", "-j", help="Only the planned job with this id (repeat)."),
    ] = None,
    profile: ProfileOpt = None,
    recipe: RecipeOpt = None,
    channel: Annotated[Channel | None, typer.Option(help="Override the recipe's channel.")] = None,
    date: Annotated[
        str | None,
        typer.Option(
            help="Build a nightly of this date, YYYY-MM-DD (a nightly's default: "
            "SOURCE_DATE_EPOCH, then the commit date)."
        ),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Wheelhouse: <output>/<variant>/*.whl.")
    ] = Path("wheelhouse"),
    build_tag: Annotated[
        str | None,
        typer.Option(
            "--build-tag",
            help="Wheel build tag (1, 2, ...) for a rebuild of a version already published.",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline",
            help="The gate resolves the wheels' dependencies only from the wheelhouse, never an "
            "index.",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(callback=valid_timeout, help="Seconds one job may run.")
    ] = 3600.0,
    compiler_cache: Annotated[
        Path | None, typer.Option(help="Persistent compiler cache directory.")
    ] = DEFAULT_CACHE,
    no_compiler_cache: Annotated[
        bool, typer.Option("--no-compiler-cache", help="Build without a compiler cache.")
    ] = False,
    torch_cache: Annotated[
        Path,
        typer.Option(
            help="Folder of the per-variant torch wheelhouses (torch and its dependencies, "
            "downloaded once, shared by every job of a variant)."
        ),
    ] = DEFAULT_TORCH_CACHE,
    torch_cache_max: Annotated[
        float,
        typer.Option(
            callback=_valid_gigabytes,
            help="GB the torch wheelhouses may take: after a job has its torch, the least "
            "recently used others (idle for 6 hours) are removed.",
        ),
    ] = DEFAULT_TORCH_CACHE_MAX_BYTES / 1e9,
    engine_name: Annotated[
        str | None, typer.Option("--engine", help="podman or docker (default: detect).")
    ] = None,
    sandbox: SandboxOpt = SandboxMode.CONTAINER,
    image_policy: Annotated[
        ImagePolicy,
        typer.Option(
            "--images",
            envvar="WHEELYARD_IMAGES",
            help="auto: the catalog's official image where it can be pulled, else wheelyard's "
            "own (said in the output and the record); registry: pull or fail; local: "
            "wheelyard's own, never pulling.",
        ),
    ] = ImagePolicy.AUTO,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the build record as JSON on stdout.")
    ] = False,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify",
            help="Skip the verification gate (wheels are then not marked eligible).",
        ),
    ] = False,
) -> None:
    """Build the planned wheels here with cibuildwheel, in the variants' builder images."""
    if build_tag is not None:
        check_build_tag(build_tag)
    with tempfile.TemporaryDirectory(prefix="wheelyard-sdist-") as tmp:
        source = str(path)
        requirement = None if path.exists() else parse_requirement(str(path))
        if requirement is not None:
            url = configured_index(index_url)
            if not as_json:
                console.print(f"fetching the sdist of {escape(str(requirement))} from {url}")
            path = fetch_sdist(requirement, index_url=url, into=Path(tmp) / "download")
            source = f"{requirement} ({path.name} from {url})"
        if is_sdist(path):
            path = unpack_sdist(path, Path(tmp) / "source")
        profile, recipe = recipe_settings(profile, recipe)
        loaded = load_project(
            path,
            BuildOptions(
                variants=tuple(variant or ()),
                channel=channel,
                profile=profile,
                date=parse_date(date) if date is not None else None,
            ),
            farm_recipe=recipe,
            host=host_platform(),
            environ=os.environ,
        )
        if job_ids:
            loaded = loaded.only_jobs(job_ids)
        _check_output(output)
        units = list(loaded.units)
        first = units[0]
        if not as_json:
            for unit in units:
                echo_recipe(unit.loaded)
        host = host_platform()
        day: dt.date | None = None
        if any(unit.plan.channel is Channel.NIGHTLY for unit in units):
            day = nightly_date(date, first.loaded.project_dir)
        engine = detect_engine(engine_name)
        reporter = Reporter(multi=len(units) > 1)

        def image_step(event: StepEvent) -> None:
            if event.state is not StepState.STARTED:
                took = f" ({event.seconds:.0f} s)" if event.seconds is not None else ""
                reporter.line(f"  image {escape(event.step)}: {event.state}{took}")

        def images(job: Job, catalog: Catalog) -> ChosenImage:
            chosen = builder_image(
                job.variant,
                job.platform,
                catalog=catalog,
                engine=engine,
                progress=None if as_json else image_step,
                policy=image_policy,
            )
            if chosen.note is not None and not as_json:
                reporter.line(f"  image: {escape(chosen.note)}")
            return chosen

        record = build_packages(
            units,
            name=loaded.name,
            engine=engine,
            images=images,
            settings=JobSettings(
                output=output.resolve(),
                timeout=timeout,
                compiler_cache=None if no_compiler_cache else compiler_cache,
                build_tag=build_tag,
                contents=linkage_of,
                torch_cache=torch_cache,
                torch_cache_max_bytes=int(torch_cache_max * 1e9),
                torch_identity=torch_facts,
                dependency_index=configured_index(index_url),
            ),
            date=day,
            host=host,
            source=source,
            callbacks=BuildCallbacks(
                job_started=None if as_json else reporter.job_started,
                job_finished=None if as_json else reporter.job_finished,
                event=None if as_json else reporter.event,
                package_started=None if as_json else reporter.package_started,
            ),
        )
        # Inside the block: an unpacked sdist's smoke test must still exist.
        failed_wheels: list[WheelReport] = []
        if not no_verify and any(j.wheels for j in record.jobs):
            failed_wheels = _verify_gate(
                output,
                units,
                None if as_json else reporter,
                dependency_index(index_url, offline=offline),
                None
                if sandbox is SandboxMode.HOST
                else verification_sandbox(engine, first.catalog),
            )
    if as_json:
        print_json(BuildRecord.load(output).dump())
    else:
        console.print(_summary(record))
        console.print(f"build record: {escape(str(BuildRecord.path_in(output)))}")
    _report_failures(record)
    if not record.ok:
        failed = [j.id for j in record.jobs if j.status is JobStatus.FAILED]
        raise BuildFailedError(
            f"{len(failed)} job(s) failed: {', '.join(failed)}",
            hint="the log paths above have the full output",
        )
    if failed_wheels:
        for wheel in failed_wheels:
            for check in wheel.failures:
                err_console.print(
                    f"[bold red]{escape(wheel.filename)}[/]: {escape(check.label)}: "
                    f"{escape(check.message)}"
                )
        raise BuildFailedError(
            f"{len(failed_wheels)} wheel(s) failed verification and are not eligible for "
            "publishing",
            hint="`wheelyard verify WHEEL` shows every finding; the record marks them failed",
        )
    if not any(j.wheels for j in record.jobs):
        raise NothingToRunError(
            "no job ran on this machine, so no wheel was built",
            hint="`wheelyard plan` shows where each job runs; build the others on their runners",
        )
    sys.stdout.flush()
