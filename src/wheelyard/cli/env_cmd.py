"""`wheelyard env`: the build environment of one variant as KEY=VALUE lines."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Annotated

import typer

from wheelyard.cli.common import PathArg, ProfileOpt, RecipeOpt, load
from wheelyard.cli.output import print_json
from wheelyard.config.vocab import Channel
from wheelyard.errors import VersionError
from wheelyard.plan.matrix import check_variants
from wheelyard.source import own_version
from wheelyard.version import build_environment, commit_date, render_env


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise VersionError(
            f"--date {value!r} is not a date", hint="write it as YYYY-MM-DD"
        ) from exc


def nightly_date(option: str | None, project_dir: Path) -> dt.date:
    """A nightly's date: ``--date``, then ``SOURCE_DATE_EPOCH`` (reproducible builds), then the
    commit date of the source tree; an error only when none of them exists."""
    if option is not None:
        return parse_date(option)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        except (ValueError, OverflowError, OSError) as exc:
            raise VersionError(
                f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds",
                hint="set it to a Unix time, or pass --date YYYY-MM-DD",
            ) from exc
    try:
        return commit_date(project_dir)
    except VersionError as exc:
        raise VersionError(
            f"a nightly build needs a date, and {project_dir} is not a git checkout",
            hint="pass --date YYYY-MM-DD or set SOURCE_DATE_EPOCH, or build the package's own "
            "version (no channel in the recipe, no --channel)",
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
    chosen = (
        channel or loaded.recipe.recipe.channel or (Channel.NIGHTLY if date is not None else None)
    )
    check_variants(loaded.recipe, loaded.catalog, [variant], chosen)
    day: dt.date | None = None
    if chosen is Channel.NIGHTLY:
        day = nightly_date(date, loaded.recipe.project_dir)
    values = build_environment(
        loaded.recipe,
        variant=variant,
        entry=loaded.catalog.variant(variant),
        channel=chosen,
        date=day,
        own=own_version(loaded.recipe),
    )
    if as_json:
        print_json(values)
    else:
        typer.echo(render_env(values), nl=False)
