"""`wheelyard env`: the build environment of one variant as KEY=VALUE lines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from wheelyard.cli.common import PathArg, ProfileOpt, RecipeOpt, load
from wheelyard.cli.output import print_json
from wheelyard.config.vocab import Channel
from wheelyard.errors import VersionError
from wheelyard.plan.matrix import check_variants
from wheelyard.version import build_environment, commit_date, render_env


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise VersionError(
            f"--date {value!r} is not a date", hint="write it as YYYY-MM-DD"
        ) from exc


def env_command(
    path: PathArg = Path(),
    variant: Annotated[str, typer.Option("--variant", "-v", help="Variant to describe.")] = "cpu",
    channel: Annotated[Channel | None, typer.Option(help="Override the recipe's channel.")] = None,
    date: Annotated[
        str | None,
        typer.Option(help="Nightly date YYYY-MM-DD (default: the source tree's commit date)."),
    ] = None,
    profile: ProfileOpt = None,
    recipe: RecipeOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Print BUILD_VERSION, channel, variant and toolkit settings as KEY=VALUE lines."""
    loaded = load(path, profile, recipe)
    chosen = channel or loaded.recipe.recipe.channel
    check_variants(loaded.recipe, loaded.catalog, [variant], chosen)
    day: dt.date | None = None
    if date is not None:
        day = parse_date(date)
    elif chosen is Channel.NIGHTLY:
        day = commit_date(loaded.recipe.project_dir)
    values = build_environment(
        loaded.recipe,
        variant=variant,
        entry=loaded.catalog.variant(variant),
        channel=chosen,
        date=day,
    )
    if as_json:
        print_json(values)
    else:
        typer.echo(render_env(values), nl=False)
