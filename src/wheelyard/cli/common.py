"""Options shared by several commands, and loading recipe + catalog from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from wheelyard.catalog import Catalog, load_catalog
from wheelyard.config import LoadedRecipe, load_recipe
from wheelyard.errors import WheelyardError
from wheelyard.source import DEFAULT_INDEX

PathArg = Annotated[
    Path,
    typer.Argument(help="Package directory (holding pyproject.toml) or the pyproject.toml file."),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option("--profile", "-p", help="Apply a named profile from [tool.wheelyard.profiles]."),
]
RecipeOpt = Annotated[
    Path | None,
    typer.Option(
        "--recipe",
        help="Farm-side recipe file layered over [tool.wheelyard] (env: WHEELYARD_RECIPE).",
    ),
]


def configured_index(option: str | None) -> str:
    """The package index: the option, then uv's and pip's environment settings, then PyPI."""
    return (
        option or os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    )


@dataclass(frozen=True)
class Loaded:
    recipe: LoadedRecipe
    catalog: Catalog


def load(path: Path, profile: str | None, recipe_file: Path | None) -> Loaded:
    environ = dict(os.environ)
    if recipe_file is None and environ.get("WHEELYARD_RECIPE"):
        recipe_file = Path(environ["WHEELYARD_RECIPE"])
    if profile is None and environ.get("WHEELYARD_PROFILE"):
        profile = environ["WHEELYARD_PROFILE"]
    loaded = load_recipe(path, profile=profile, farm_recipe=recipe_file, environ=environ)
    catalog = load_catalog(loaded.recipe.catalog, extension_source=loaded.source_of)
    return Loaded(recipe=loaded, catalog=catalog)


def load_packages(
    path: Path, profile: str | None, recipe_file: Path | None
) -> tuple[Loaded, list[Loaded]]:
    """The recipe at ``path`` and the projects to build: itself, or each of its ``packages``."""
    root = load(path, profile, recipe_file)
    listed = root.recipe.recipe.packages
    if not listed:
        return root, [root]
    units = []
    for entry in listed:
        directory = root.recipe.project_dir / entry
        if not (directory / "pyproject.toml").is_file():
            raise WheelyardError(
                f"packages: {entry} has no pyproject.toml ({directory})",
                hint=f"fix `packages` in {root.recipe.pyproject}",
            )
        units.append(load(directory, profile, recipe_file))
    return root, units
