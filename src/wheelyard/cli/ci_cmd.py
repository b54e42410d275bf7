"""`wheelyard ci`: CI configuration that runs wheelyard (GitHub Actions), and its helpers."""

from __future__ import annotations

import sys
from pathlib import Path, PurePosixPath
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wheelyard import __version__
from wheelyard.ci import GeneratedFile, GeneratorOptions, Ownership, generator
from wheelyard.ci.explain import WorkflowExplanation, explain_workflow
from wheelyard.ci.github_matrix import PackagePlan, derive_matrices, plan_include, read_plan_matrix
from wheelyard.cli.common import Loaded, PathArg, ProfileOpt, RecipeOpt, load_packages
from wheelyard.cli.output import console, err_console, print_json, write_output
from wheelyard.cli.plan_cmd import cost_table, describe_parameters, echo_recipe
from wheelyard.errors import CiError
from wheelyard.host.platform import host_platform
from wheelyard.plan import make_plan
from wheelyard.plan.cost import CostParameters, estimate, load_parameters

app = typer.Typer(
    help="Generate CI configuration that runs wheelyard (GitHub Actions).", no_args_is_help=True
)

EXIT_DRIFT = 1


def _package_path(package_dir: Path, output: Path) -> str:
    """The package directory relative to the root of the repository ``output`` belongs to.

    ``output`` ending in ``.github/workflows`` names its repository root; any other output
    folder is taken to be in the repository at the current directory.
    """
    parts = output.resolve().parts
    root = (
        output.resolve().parent.parent
        if parts[-2:] == (".github", "workflows")
        else Path.cwd().resolve()
    )
    try:
        relative = package_dir.resolve().relative_to(root)
    except ValueError:
        raise CiError(
            f"the package ({package_dir}) is not inside the repository at {root}",
            hint="run wheelyard ci github from the repository's root, or pass "
            "--output REPOSITORY/.github/workflows",
        ) from None
    return PurePosixPath(*relative.parts).as_posix() if relative.parts else "."


def _explain(
    root: Loaded,
    units: list[Loaded],
    parameters: CostParameters,
    as_json: bool,
) -> None:
    multi = len(units) > 1
    plans = [make_plan(unit.recipe, unit.catalog, host=host_platform()) for unit in units]
    package_plans = [
        PackagePlan(
            plan=plan,
            catalog=unit.catalog,
            package_dir=unit.recipe.project_dir.relative_to(root.recipe.project_dir).as_posix()
            if multi
            else None,
        )
        for unit, plan in zip(units, plans, strict=True)
    ]
    explanation = explain_workflow(derive_matrices({"include": plan_include(package_plans)}))
    comparisons = [estimate(plan, parameters) for plan in plans]
    if as_json:
        print_json(
            {
                "package": root.recipe.project_name,
                "workflow": explanation.to_json(),
                "cost": {
                    plan.package: comparison.to_json()
                    for plan, comparison in zip(plans, comparisons, strict=True)
                },
            }
        )
        return
    for unit in units:
        echo_recipe(unit.recipe)
    console.print(_jobs_table(root.recipe.project_name, explanation))
    for plan, comparison in zip(plans, comparisons, strict=True):
        if multi:
            console.print(f"[bold]{escape(plan.package)}[/]")
        console.print(cost_table(comparison))
    console.print(f"[dim]{escape(describe_parameters(parameters))}[/]")


def _jobs_table(project: str, explanation: WorkflowExplanation) -> Table:
    table = Table(
        title=f"{project}: the GitHub workflow runs {explanation.summary()}",
        title_justify="left",
    )
    for column in ("job", "runs on", "variant", "what it does"):
        table.add_column(column)
    for job in explanation.jobs:
        table.add_row(job.name, job.runs_on, job.variant or "-", job.does)
    return table


def _write(files: tuple[GeneratedFile, ...], output: Path, *, force: bool) -> None:
    output.mkdir(parents=True, exist_ok=True)
    for item in files:
        target = output / item.path
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == item.text:
            console.print(f"unchanged: {escape(str(target))}")
            continue
        if current is not None and item.ownership is Ownership.STARTER and not force:
            console.print(
                f"kept: {escape(str(target))} (yours to edit; --force writes the example again)"
            )
            continue
        write_output(target, item.text)
        console.print(f"wrote: {escape(str(target))}")


def _check(files: tuple[GeneratedFile, ...], output: Path) -> None:
    drifted = []
    for item in files:
        if item.ownership is not Ownership.GENERATED:
            continue
        target = output / item.path
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current != item.text:
            drifted.append(str(target))
    if drifted:
        for path in drifted:
            err_console.print(f"[bold red]out of date:[/] {escape(path)}")
        err_console.print("[yellow]hint:[/] run `wheelyard ci github` to regenerate")
        raise typer.Exit(code=EXIT_DRIFT)
    console.print("up to date")


@app.command("github")
def github_command(
    path: PathArg = Path(),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Folder for the workflows (default: .github/workflows)."
        ),
    ] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Write nothing: print the jobs and runners the workflow would run for the "
            "package, with the cost comparison of `plan --cost`.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --explain: print JSON.")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 when the generated workflow differs."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Also overwrite the caller example if it exists.")
    ] = False,
    wheelyard_version: Annotated[
        str,
        typer.Option(help="wheelyard release the workflow installs ('' for the newest)."),
    ] = __version__,
    profile: ProfileOpt = None,
    recipe: RecipeOpt = None,
    timings: Annotated[
        Path | None,
        typer.Option(help="With --explain: calibrate the cost model from a timings JSON."),
    ] = None,
) -> None:
    """Write a reusable GitHub Actions workflow (plan, build, smoke, publish) and a caller.

    The reusable workflow (wheelyard.yml) is regenerated by every run; the caller (wheels.yml)
    is written once, for the package's maintainers to edit.
    """
    root, units = load_packages(path, profile, recipe)
    if explain:
        parameters = load_parameters(timings) if timings is not None else CostParameters()
        _explain(root, units, parameters, as_json)
        return
    ci = generator("github")
    folder = output if output is not None else Path(ci.default_output)
    options = GeneratorOptions(
        wheelyard_version=wheelyard_version,
        package_path=_package_path(root.recipe.project_dir, folder),
        project_name=root.recipe.project_name,
    )
    files = ci.generate(options)
    if check:
        _check(files, folder)
    else:
        _write(files, folder, force=force)


@app.command("github-matrix")
def github_matrix_command(
    plan_matrix: Annotated[
        Path,
        typer.Argument(
            help="Output of `wheelyard plan PATH --format github` ('-': standard input)."
        ),
    ],
) -> None:
    """Derive the workflow's build and smoke matrices from a plan matrix.

    Prints ``name=value`` lines for ``$GITHUB_OUTPUT``: matrix (one build job per job id),
    smoke-matrix (the jobs tested on a GPU runner), build-count and smoke-count.
    """
    if str(plan_matrix) == "-":
        text, source = sys.stdin.read(), "standard input"
    else:
        try:
            text = plan_matrix.read_text(encoding="utf-8")
        except OSError as exc:
            raise CiError(
                f"{plan_matrix}: cannot read: {exc.strerror or exc}",
                hint="write it with `wheelyard plan PATH --format github > FILE`",
            ) from exc
        source = str(plan_matrix)
    matrices = read_plan_matrix(text, source=source)
    sys.stdout.write(matrices.output_lines())
    sys.stdout.flush()
    err_console.print(
        f"[dim]{len(matrices.build)} build job(s), {len(matrices.smoke)} smoke job(s)[/]"
    )
