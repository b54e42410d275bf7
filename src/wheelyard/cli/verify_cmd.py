"""`wheelyard verify`: the verification gate on wheels built here or elsewhere."""

from __future__ import annotations

import json
import math
import os
import urllib.parse
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import filesize
from rich.markup import escape
from rich.table import Table

from wheelyard.catalog import Catalog, load_catalog
from wheelyard.cli.common import (
    SandboxMode,
    SandboxOpt,
    configured_index,
    load,
    verification_sandbox_here,
)
from wheelyard.cli.output import console, err_console, print_json, write_output
from wheelyard.cli.progress import Progress
from wheelyard.errors import VerifyFailedError
from wheelyard.verify import (
    Check,
    Interpreter,
    Outcome,
    VerifyOptions,
    VerifyReport,
    WheelReport,
    WheelStatus,
    discover_interpreters,
    query_interpreter,
    verify_wheels,
    with_recipe,
)

JSON_HELP = "Also write the JSON report to this file ('-': stdout, and no other output there)."

WheelsArg = Annotated[
    list[Path], typer.Argument(help="Wheel files, or folders searched for *.whl.")
]
ProjectOpt = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Package directory (or pyproject.toml) whose recipe gives the smoke test and the "
        "optional modules.",
    ),
]
RecipeFileOpt = Annotated[
    Path | None,
    typer.Option("--recipe", help="Farm-side recipe file layered over [tool.wheelyard]."),
]
PythonOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--python",
        help="Interpreter to install into (repeat); default: every CPython found in "
        "$PYENV_ROOT/versions and on PATH.",
    ),
]
FindLinksOpt = Annotated[
    list[Path] | None,
    typer.Option("--find-links", "-f", help="Folder of wheels dependencies may come from."),
]
MAX_TIMEOUT = 7 * 24 * 3600.0
"""The longest ``--timeout`` taken: a week (the system's timers end well before infinity)."""


def valid_timeout(value: float) -> float:
    """A ``--timeout``: a finite number of seconds above 0 (typer's min/max let NaN through)."""
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT):
        raise typer.BadParameter(
            f"{value} is not a number of seconds above 0 and at most {MAX_TIMEOUT:.0f} (a week)"
        )
    return value


def valid_index_url(value: str | None) -> str | None:
    """An ``--index-url``: an http(s):// or file:// URL, or an existing folder (uv and the
    imports check read a folder as a local index)."""
    if value is None or _is_index(value):
        return value
    raise typer.BadParameter(
        f"{value!r} is not an index URL: give http(s)://HOST/..., file:///PATH or an existing "
        "folder"
    )


def _is_index(value: str) -> bool:
    if "://" not in value:
        return Path(value).is_dir()
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:  # e.g. an unclosed [IPv6 address
        return False
    if any(c.isspace() for c in value):
        return False
    if parts.scheme in ("http", "https"):
        return bool(parts.hostname)
    return parts.scheme == "file" and bool(parts.path)


IndexUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        callback=valid_index_url,
        help="Index a wheel's dependencies are resolved from, as pip would (default: "
        "$UV_INDEX_URL, $PIP_INDEX_URL, else PyPI).",
    ),
]
OfflineOpt = Annotated[
    bool,
    typer.Option(
        "--offline", help="Resolve dependencies only from --find-links folders, never an index."
    ),
]


def dependency_index(index_url: str | None, *, offline: bool) -> str | None:
    """The index dependencies come from: none offline, else the option, the environment's
    (uv's, then pip's), else PyPI."""
    return None if offline else configured_index(index_url)


JsonOpt = Annotated[Path | None, typer.Option("--json", help=JSON_HELP)]


class CheckName(StrEnum):
    STRUCTURE = "structure"
    PLATFORM = "platform"
    INSTALL = "install"
    IMPORTS = "imports"
    SMOKE = "smoke"


def interpreters_from(pythons: list[Path] | None) -> tuple[Interpreter, ...]:
    """``--python`` paths, else the interpreters of pyenv and PATH."""
    if pythons:
        return tuple(query_interpreter(p) for p in pythons)
    root = os.environ.get("PYENV_ROOT")
    pyenv_root = Path(root) if root else Path.home() / ".pyenv"
    directories = [
        Path(entry)
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and Path(entry).name != "shims"
    ]
    return discover_interpreters(pyenv_root=pyenv_root, directories=directories)


def base_options(
    *,
    project: Path | None,
    recipe: Path | None,
    pythons: list[Path] | None,
    find_links: list[Path] | None,
    index_url: str | None,
    optional: list[str] | None = None,
    sandbox: SandboxMode = SandboxMode.CONTAINER,
) -> tuple[VerifyOptions, Catalog]:
    """Options from the command line and the project's recipe; the catalog it extends."""
    options = VerifyOptions(
        interpreters=interpreters_from(pythons),
        find_links=tuple(p.resolve() for p in find_links or ()),
        index_url=index_url,
        optional_modules=tuple(optional or ()),
    )
    if project is None:
        catalog = load_catalog()
    else:
        loaded = load(project, None, recipe)
        options, catalog = with_recipe(options, loaded.recipe), loaded.catalog
    return replace(options, sandbox=verification_sandbox_here(catalog, mode=sandbox)), catalog


STYLE = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.SKIPPED: "yellow"}
STATUS_STYLE = {
    WheelStatus.PASSED: "green",
    WheelStatus.FAILED: "bold red",
    WheelStatus.INCOMPLETE: "yellow",
}


def print_wheel(report: WheelReport, *, to_stderr: bool = False) -> None:
    out = err_console if to_stderr else console
    status = report.status
    out.print(
        f"[{STATUS_STYLE[status]}]{status}[/] [bold]{escape(report.filename)}[/] "
        f"[dim]({report.seconds:.2f} s)[/]"
    )
    for result in report.checks:
        out.print(
            f"  [{STYLE[result.outcome]}]{result.outcome:<7}[/] {escape(result.label):<14} "
            f"{escape(result.message)}"
        )
        for finding in result.findings:
            out.print(f"      [red]- {escape(finding.code)}:[/] {escape(finding.message)}")
            if finding.details and result.outcome is Outcome.FAIL:
                tail = "\n".join(finding.details.strip().splitlines()[-8:])
                out.print(escape(_indent(tail, 8)), style="dim")
        for text in result.notes:
            out.print(f"      [dim]note: {escape(text)}[/]")


def _indent(text: str, width: int) -> str:
    return "\n".join(" " * width + line for line in text.splitlines())


def summary_table(report: VerifyReport) -> Table:
    table = Table(
        title=f"{len(report.wheels)} wheel(s) in {report.seconds:.1f} s", title_justify="left"
    )
    for column, justify in (
        ("wheel", "left"),
        ("size", "right"),
        ("status", "left"),
        ("time", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for wheel in report.wheels:
        size = filesize.decimal(wheel.path.stat().st_size) if wheel.path.is_file() else "-"
        table.add_row(
            escape(wheel.filename),
            size,
            f"[{STATUS_STYLE[wheel.status]}]{wheel.status}[/]",
            f"{wheel.seconds:.2f} s",
        )
    return table


def write_json(data: dict[str, Any], target: Path | None) -> None:
    if target is None:
        return
    if str(target) == "-":
        print_json(data)
        return
    write_output(target, json.dumps(data, indent=2) + "\n")


def verify_command(
    wheels: WheelsArg,
    project: ProjectOpt = None,
    recipe: RecipeFileOpt = None,
    python: PythonOpt = None,
    find_links: FindLinksOpt = None,
    index_url: IndexUrlOpt = None,
    offline: OfflineOpt = False,
    optional_module: Annotated[
        list[str] | None,
        typer.Option(
            "--optional-module",
            help="Module not to import (dotted name or glob; repeat). Adds to the recipe's "
            "optional-modules.",
        ),
    ] = None,
    skip: Annotated[
        list[CheckName] | None, typer.Option("--skip", help="Check not to run (repeat).")
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Treat skipped checks, and import failures otherwise excused as warnings "
            "(optional dependencies, modules of other platforms or of Python 2), as failures.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            callback=valid_timeout,
            help="Seconds each install, import run or smoke test may take.",
        ),
    ] = 600.0,
    json_path: JsonOpt = None,
    sandbox: SandboxOpt = SandboxMode.CONTAINER,
) -> None:
    """Check wheels: structure, platform tags, clean install, import of every module, smoke test."""
    options, _ = base_options(
        sandbox=sandbox,
        project=project,
        recipe=recipe,
        pythons=python,
        find_links=find_links,
        index_url=dependency_index(index_url, offline=offline),
        optional=optional_module,
    )
    skipped_checks = {Check(str(s)) for s in skip or ()}
    options = replace(
        options,
        checks=options.checks - skipped_checks,
        install_timeout=timeout,
        import_timeout=timeout,
        smoke_timeout=timeout,
        strict=strict,
    )
    quiet = json_path is not None and str(json_path) == "-"
    progress_of = Progress(quiet=quiet)
    if not quiet:
        pythons = ", ".join(i.label for i in options.interpreters) or "none"
        smoke = options.smoke_test.value if options.smoke_test else "none (no --project)"
        err_console.print(f"[dim]interpreters: {escape(pythons)}; smoke test: {escape(smoke)}[/]")

    def progress(report: WheelReport) -> None:
        if not quiet:
            print_wheel(report)

    report = verify_wheels(wheels, options=options, progress=progress)
    write_json(report.to_json(), json_path)
    if not quiet:
        console.print(summary_table(report))
        if json_path is not None:
            console.print(f"report: {escape(str(json_path))}")
        progress_of.done("verified")
    failed = report.by_status(WheelStatus.FAILED)
    incomplete = report.by_status(WheelStatus.INCOMPLETE)
    if failed:
        raise VerifyFailedError(
            f"{len(failed)} of {len(report.wheels)} wheel(s) failed verification: "
            + ", ".join(w.filename for w in failed),
            hint="the findings above say what is wrong with each; such wheels must not be "
            "published",
        )
    if strict and incomplete:
        raise VerifyFailedError(
            f"{len(incomplete)} wheel(s) were not fully verified (--strict): "
            + ", ".join(w.filename for w in incomplete),
            hint="the skipped checks above say why (a missing interpreter, no smoke test ...)",
        )
