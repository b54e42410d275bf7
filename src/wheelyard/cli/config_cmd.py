"""`wheelyard config`: the resolved recipe with the source of every key, and its JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wheelyard.cli.common import PathArg, ProfileOpt, RecipeOpt, load
from wheelyard.cli.output import console, print_json, write_output
from wheelyard.config.model import RECIPE_KEYS
from wheelyard.config.schema import recipe_schema_text

app = typer.Typer(help="Show the resolved recipe or its JSON Schema.", no_args_is_help=True)


@app.command("show")
def show(
    path: PathArg = Path(),
    profile: ProfileOpt = None,
    recipe: RecipeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """The recipe after defaults, [tool.wheelyard], farm recipe, profile and environment."""
    loaded = load(path, profile, recipe).recipe
    values = loaded.recipe.model_dump(mode="json", by_alias=True)
    if as_json:
        print_json(
            {
                "package": loaded.project_name,
                "pyproject": str(loaded.pyproject),
                "profile": loaded.profile,
                "recipe": values,
                "sources": {key: loaded.source_of(key) for key in RECIPE_KEYS},
            }
        )
        return
    table = Table(title=f"{loaded.project_name} recipe", title_justify="left")
    table.add_column("key")
    table.add_column("value")
    table.add_column("from", style="dim")
    for key in RECIPE_KEYS:
        table.add_row(key, escape(repr(values[key])), escape(loaded.source_of(key)))
    console.print(table)


@app.command("schema")
def schema(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """The JSON Schema of [tool.wheelyard] (also kept in schema/recipe.schema.json)."""
    text = recipe_schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_output(output, text)
