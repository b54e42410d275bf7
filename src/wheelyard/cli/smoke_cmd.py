"""`wheelyard smoke --gpu`: the GPU smoke stage, meant for a GPU runner.

Exit status: 0 every GPU wheel passed; 1 a wheel failed (wrong GPU, driver too old, smoke test
failed); 2 bad input; 3 skipped: no GPU (of the kind the variant needs) on this machine.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wheelyard.cli.common import SandboxMode, SandboxOpt
from wheelyard.cli.output import console, err_console
from wheelyard.cli.progress import Progress
from wheelyard.cli.verify_cmd import (
    FindLinksOpt,
    IndexUrlOpt,
    JsonOpt,
    OfflineOpt,
    ProjectOpt,
    PythonOpt,
    RecipeFileOpt,
    WheelsArg,
    base_options,
    dependency_index,
    print_wheel,
    summary_table,
    valid_timeout,
    write_json,
)
from wheelyard.errors import VerifyError, VerifyFailedError
from wheelyard.host.facts import DETECT_FILE_ENV
from wheelyard.host.gpu import GpuInventory, detect_gpus
from wheelyard.verify.gate import verify_wheels
from wheelyard.verify.gpu import GpuSmokeOptions, gpu_smoke, skipped_for_no_gpu
from wheelyard.verify.report import Check, Outcome, VerifyReport

EXIT_NO_GPU = 3


def _environment(pairs: list[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise VerifyError(f"--env {pair!r} is not KEY=VALUE")
        env[key] = value
    return env


def smoke_command(
    wheels: WheelsArg,
    gpu: Annotated[
        bool,
        typer.Option(
            "--gpu/--no-gpu",
            help="Require a GPU that suits each wheel's variant (the GPU smoke stage).",
        ),
    ] = False,
    variant: Annotated[
        str | None,
        typer.Option(
            "--variant",
            "-v",
            help="The wheels' variant (default: their +<variant> local version, else the "
            "name of the folder they are in).",
        ),
    ] = None,
    project: ProjectOpt = None,
    recipe: RecipeFileOpt = None,
    python: PythonOpt = None,
    find_links: FindLinksOpt = None,
    index_url: IndexUrlOpt = None,
    offline: OfflineOpt = False,
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="KEY=VALUE for the smoke test's environment (repeat)."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(callback=valid_timeout, help="Seconds the smoke test may take.")
    ] = 900.0,
    json_path: JsonOpt = None,
    sandbox: SandboxOpt = SandboxMode.CONTAINER,
) -> None:
    """Smoke-test wheels in a clean environment; with --gpu, on a GPU that suits their variant.

    Exit status 3 means skipped: no GPU (never a silent pass).
    """
    options, catalog = base_options(
        sandbox=sandbox,
        project=project,
        recipe=recipe,
        pythons=python,
        find_links=find_links,
        index_url=dependency_index(index_url, offline=offline),
    )
    if variant is not None and variant not in catalog.variants:
        raise VerifyError(
            f"unknown variant {variant}", hint=f"known: {', '.join(catalog.variants)}"
        )
    quiet = json_path is not None and str(json_path) == "-"
    progress = Progress(quiet=quiet)
    options = replace(options, smoke_timeout=timeout, smoke_environment=_environment(env))
    inventory: GpuInventory | None = None
    if gpu:
        override = os.environ.get(DETECT_FILE_ENV)
        inventory = detect_gpus(override=Path(override) if override else None)
        if not quiet:
            _print_inventory(inventory)
        report = gpu_smoke(
            wheels,
            GpuSmokeOptions(verify=options, catalog=catalog, inventory=inventory, variant=variant),
        )
        if not quiet:
            for wheel in report.wheels:
                print_wheel(wheel)
    else:
        report = verify_wheels(
            wheels,
            options=replace(options, checks=frozenset({Check.INSTALL, Check.SMOKE})),
            progress=None if quiet else print_wheel,
        )
    data = report.to_json()
    if inventory is not None:
        data["gpu"] = inventory.to_json()
    write_json(data, json_path)
    if not quiet:
        console.print(summary_table(report))
        progress.done("done")
    failed = [w for w in report.wheels if not w.ok]
    if failed:
        raise VerifyFailedError(
            f"{len(failed)} of {len(report.wheels)} wheel(s) failed the smoke test: "
            + ", ".join(w.filename for w in failed)
        )
    if inventory is not None:
        _gpu_exit(report, inventory, quiet=quiet)


def _print_inventory(inventory: GpuInventory) -> None:
    if inventory.present:
        gpus = "; ".join(
            f"{g.name} (compute capability {g.compute_capability})" for g in inventory.gpus
        )
        err_console.print(
            f"GPU: {escape(gpus)}; driver {escape(inventory.driver or '?')}, CUDA "
            f"{escape(inventory.cuda or '?')} [dim]({escape(inventory.source)})[/]"
        )
    else:
        err_console.print(f"[yellow]no GPU:[/] {escape(inventory.reason or '')}")


def _gpu_exit(report: VerifyReport, inventory: GpuInventory, *, quiet: bool) -> None:
    """Nothing failed: exit 3 when a wheel was skipped for lack of a GPU, 2 when none was
    a GPU wheel at all, else return (exit 0)."""
    if any(skipped_for_no_gpu(w) for w in report.wheels):
        if not quiet:
            reason = inventory.reason or "none of the kind the variant needs"
            console.print(
                f"[yellow]skipped: no GPU[/] ({escape(reason)}); exit status {EXIT_NO_GPU}"
            )
        raise typer.Exit(code=EXIT_NO_GPU)
    tested = [w for w in report.wheels if (r := w.result(Check.GPU)) and r.outcome is Outcome.PASS]
    if not tested:
        raise VerifyError(
            "no GPU-variant wheel among the inputs was smoke-tested",
            hint="cpu wheels are smoke-tested by `wheelyard verify`; pass --variant when the "
            "wheels carry no +<variant> local version and are not in a <variant>/ folder",
        )
