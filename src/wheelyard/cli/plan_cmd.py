"""`wheelyard plan`: the jobs a recipe asks for, as a table, JSON or a GitHub matrix."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from wheelyard.cli.common import Loaded, PathArg, ProfileOpt, RecipeOpt, load_packages
from wheelyard.cli.output import console, err_console, print_json, write_output
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel, PythonMode
from wheelyard.host.platform import host_platform
from wheelyard.plan import Plan, make_plan
from wheelyard.plan.cost import CostComparison, CostParameters, estimate, load_parameters
from wheelyard.plan.github import github_matrix


class PlanFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    GITHUB = "github"


def echo_recipe(loaded: LoadedRecipe) -> None:
    """Say where the configuration came from, so a log explains itself (on stderr)."""
    recipe = loaded.recipe
    rows = [
        ("variants", ", ".join(recipe.variants), "variants"),
        ("python", ", ".join(recipe.python), "python"),
        ("platforms", ", ".join(recipe.platform_names), "platforms"),
        (
            "channel",
            str(recipe.channel) if recipe.channel else "none (the package's own version)",
            "channel",
        ),
        ("consolidation", str(recipe.consolidation), "consolidation"),
    ]
    err_console.print(
        f"[bold]{escape(loaded.project_name)}[/] from {escape(str(loaded.pyproject))}"
        + (f" · profile [bold]{escape(loaded.profile)}[/]" if loaded.profile else "")
    )
    for key, value, source_key in rows:
        err_console.print(
            f"  {key:<14}{escape(value)}  [dim]({escape(loaded.source_of(source_key))})[/]"
        )


def plan_table(plan: Plan) -> Table:
    table = Table(
        title=f"{plan.package}: {len(plan.jobs)} jobs, {plan.wheel_count} wheels "
        f"({plan.consolidation})",
        title_justify="left",
    )
    for column in ("job", "variant", "pythons", "image", "build on", "test"):
        table.add_column(column)
    for job in plan.jobs:
        count = len(job.test_pythons)
        tested = f"{count} Python{'s' if count != 1 else ''}"
        if job.gpu_test:
            test = f"{tested}, separate job on {job.test_runner}"
        else:
            test = f"{tested}, in the build job"
        pythons = " ".join(job.pythons)
        if job.python_mode is not PythonMode.PER_INTERPRETER:
            pythons = f"{job.python_mode} (built with {pythons})"
        table.add_row(job.id, job.variant, pythons, job.image or "-", job.build_runner, test)
    return table


def cost_table(cost: CostComparison) -> Table:
    table = Table(title="cost: today's fan-out vs wheelyard", title_justify="left")
    table.add_column("")
    for scenario in cost.scenarios:
        table.add_column(scenario.name, justify="right")

    def cell(value: str, ratio: float | None, show_ratio: bool) -> str:
        if not show_ratio or ratio is None:
            return value
        return f"{value} ({ratio:.2f}x)"

    rows: list[list[str]] = [["runner jobs"], ["runner-minutes"], ["GPU-minutes"]]
    for index, s in enumerate(cost.scenarios):
        show = index > 0
        jobs = f"{s.jobs}" if s.test_jobs == 0 else f"{s.jobs} ({s.build_jobs}+{s.test_jobs})"
        rows[0].append(jobs)
        rows[1].append(cell(f"{s.runner_minutes:.1f}", cost.ratio(s, "runner_seconds"), show))
        rows[2].append(cell(f"{s.gpu_minutes:.1f}", cost.ratio(s, "gpu_seconds"), show))
    for row in rows:
        table.add_row(*row)
    return table


def describe_parameters(params: CostParameters) -> str:
    return (
        f"parameters ({params.source}): start-up {params.startup_s:.0f} s, checkout "
        f"{params.checkout_s:.0f} s, native core {params.native_core_s:.0f} s, binding "
        f"{params.binding_s:.0f} s/Python, smoke test {params.smoke_test_s:.0f} s/Python, "
        f"artifact hand-over {params.artifact_s:.0f} s"
    )


def plan_command(
    path: PathArg = Path(),
    profile: ProfileOpt = None,
    recipe: RecipeOpt = None,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", "-v", help="Only these variants (repeat).")
    ] = None,
    channel: Annotated[Channel | None, typer.Option(help="Override the recipe's channel.")] = None,
    fmt: Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")] = (
        PlanFormat.TABLE
    ),
    cost: Annotated[bool, typer.Option("--cost", help="Compare the cost of strategies.")] = False,
    timings: Annotated[
        Path | None,
        typer.Option(help="Calibrate the cost model from a timings JSON (bench results)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the JSON plan here.")
    ] = None,
) -> None:
    """Expand the recipe into build jobs (platform x variant x Python group).

    A repository listing several ``packages`` plans each of them, in build order.
    """
    root, units = load_packages(path, profile, recipe)
    params = None
    if cost:
        params = load_parameters(timings) if timings is not None else CostParameters()
    plans = [
        make_plan(
            unit.recipe, unit.catalog, host=host_platform(), only_variants=variant, channel=channel
        )
        for unit in units
    ]
    comparisons = [estimate(plan, params) if params else None for plan in plans]
    multi = len(units) > 1

    def plan_json(unit: Loaded, plan: Plan, comparison: CostComparison | None) -> dict[str, Any]:
        data = plan.to_json()
        if comparison is not None:
            data["cost"] = comparison.to_json()
        return {"package": unit.recipe.project_name, **data} if multi else data

    documents = [plan_json(*item) for item in zip(units, plans, comparisons, strict=True)]
    combined: dict[str, Any] = {"packages": documents} if multi else documents[0]
    if output is not None:
        write_output(output, json.dumps(combined, indent=2) + "\n")

    match fmt:
        case PlanFormat.JSON:
            print_json(combined)
        case PlanFormat.GITHUB:
            include: list[dict[str, str]] = []
            for unit, plan in zip(units, plans, strict=True):
                relative = unit.recipe.project_dir.relative_to(root.recipe.project_dir)
                for entry in github_matrix(plan, unit.catalog)["include"]:
                    include.append(
                        {**entry, "package": unit.recipe.project_name, "package_dir": str(relative)}
                        if multi
                        else entry
                    )
            print_json({"include": include})
        case PlanFormat.TABLE:
            for unit, plan, comparison in zip(units, plans, comparisons, strict=True):
                echo_recipe(unit.recipe)
                console.print(plan_table(plan))
                for skipped in plan.skipped:
                    console.print(f"[dim]skipped: {escape(skipped.reason)}[/]")
                for text in plan.notes:
                    console.print(f"[yellow]note:[/] {escape(text)}")
                if comparison is not None:
                    console.print(cost_table(comparison))
                    console.print(f"[dim]{escape(describe_parameters(comparison.parameters))}[/]")
