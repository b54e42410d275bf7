"""Options shared by several commands, and loading recipe + catalog from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from wheelyard import pipeline
from wheelyard.builder.engine import detect_engine
from wheelyard.catalog import Catalog
from wheelyard.cli.output import note
from wheelyard.config import LoadedRecipe
from wheelyard.errors import EngineError
from wheelyard.pipeline import load_recipe_and_catalog
from wheelyard.source import DEFAULT_INDEX
from wheelyard.verify.sandbox import Sandbox

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


def recipe_settings(
    profile: str | None, recipe_file: Path | None
) -> tuple[str | None, Path | None]:
    """The profile and farm recipe: the options, else ``WHEELYARD_PROFILE``/``WHEELYARD_RECIPE``."""
    if recipe_file is None and os.environ.get("WHEELYARD_RECIPE"):
        recipe_file = Path(os.environ["WHEELYARD_RECIPE"])
    if profile is None and os.environ.get("WHEELYARD_PROFILE"):
        profile = os.environ["WHEELYARD_PROFILE"]
    return profile, recipe_file


def load(path: Path, profile: str | None, recipe_file: Path | None) -> Loaded:
    profile, recipe_file = recipe_settings(profile, recipe_file)
    loaded, catalog = load_recipe_and_catalog(
        path, profile=profile, farm_recipe=recipe_file, environ=os.environ
    )
    return Loaded(recipe=loaded, catalog=catalog)


def load_packages(
    path: Path, profile: str | None, recipe_file: Path | None
) -> tuple[Loaded, list[Loaded]]:
    """The recipe at ``path`` and the projects to build: itself, or each of its ``packages``."""
    profile, recipe_file = recipe_settings(profile, recipe_file)
    root, units = pipeline.load_packages(
        path, profile=profile, farm_recipe=recipe_file, environ=os.environ
    )
    return Loaded(*root), [Loaded(*unit) for unit in units]


class SandboxMode(StrEnum):
    """Where verification runs package code (``--sandbox``)."""

    CONTAINER = "container"
    """In a container of wheelyard's own image (no network, nothing from the host)."""
    HOST = "host"
    """On this machine, with its environment: for a CI runner building its own repository,
    where wheelyard's image cannot be made (no pyenv interpreters). Never on a farm."""


SandboxOpt = Annotated[
    SandboxMode,
    typer.Option(
        "--sandbox",
        envvar="WHEELYARD_SANDBOX",
        help="Where imports and smoke tests run package code: container (default; no network, "
        "nothing from this machine) or host (this machine, its environment: for a CI runner "
        "that builds its own repository).",
    ),
]


def verification_sandbox_here(
    catalog: Catalog,
    engine_name: str | None = None,
    mode: SandboxMode = SandboxMode.CONTAINER,
) -> Sandbox | None:
    """The sandbox package code runs in during verification; None (and a note saying so) with
    ``--sandbox host``, or when this machine has no working container engine."""
    if mode is SandboxMode.HOST:
        note("--sandbox host: imports and smoke tests run on this machine, with its environment")
        return None
    try:
        engine = detect_engine(engine_name)
    except EngineError as exc:
        note(
            f"no container engine ({exc.message}): imports and smoke tests run on this machine, "
            "with its environment"
        )
        return None
    return pipeline.verification_sandbox(engine, catalog)
