"""A farm build's recipe and plan, loaded the same way in every stage.

Each stage (plan, build, verify, smoke, publish) runs in its own activity, possibly on another
machine, and loads the recipe again from the fetched source with the same ``BuildOptions``; the
plan is deterministic, so every stage sees the same jobs. Precedence is the CLI's: defaults →
``[tool.wheelyard]`` → the farm recipe of the package → the profile → the submission's
overrides (``python`` as ``WHEELYARD_PYTHON``, a rebuild campaign's torch pin as
``WHEELYARD_TORCH``).

A campaign's ABI pins (``constraints``) reach the build through a constraints file written into
each project directory (``.wheelyard-constraints.txt``, which cibuildwheel copies to
``/project``) and ``PIP_CONSTRAINT``/``UV_CONSTRAINT`` in the build environment: pip and uv apply
them to the isolated build environment pypa/build sets up and to the test installs.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wheelyard.builder.package import PackageBuild
from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import WheelyardError
from wheelyard.plan import Job, make_plan

CONSTRAINTS_FILE = ".wheelyard-constraints.txt"
CONSTRAINTS_IN_CONTAINER = f"/project/{CONSTRAINTS_FILE}"


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """What a submission may narrow or choose; everything else comes from the recipe."""

    variants: tuple[str, ...] = ()
    python: tuple[str, ...] = ()
    channel: Channel | None = None
    profile: str | None = None
    date: dt.date | None = None
    constraints: tuple[str, ...] = ()
    """Requirement pins (``numpy==2.3.*``) every install of the build obeys (campaign pins)."""
    torch: str | None = None
    """Overrides the recipe's ``torch`` specifier (a campaign's torch pin)."""
    rebuild: bool = False
    """A rebuild of what is published (a campaign's): when its version is published already,
    the plan gives its wheels the next build tag instead of colliding with the published files."""

    def environ(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.python:
            env["WHEELYARD_PYTHON"] = json.dumps(list(self.python))
        if self.torch:
            env["WHEELYARD_TORCH"] = self.torch
        return env

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "variants": list(self.variants),
            "python": list(self.python),
            "channel": str(self.channel) if self.channel else None,
            "profile": self.profile,
            "date": self.date.isoformat() if self.date else None,
        }
        if self.constraints:
            data["constraints"] = list(self.constraints)
        if self.torch:
            data["torch"] = self.torch
        if self.rebuild:
            data["rebuild"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildOptions:
        return cls(
            variants=tuple(data.get("variants") or ()),
            python=tuple(data.get("python") or ()),
            channel=Channel(data["channel"]) if data.get("channel") else None,
            profile=data.get("profile"),
            date=dt.date.fromisoformat(data["date"]) if data.get("date") else None,
            constraints=tuple(data.get("constraints") or ()),
            torch=data.get("torch") or None,
            rebuild=bool(data.get("rebuild")),
        )


@dataclass(frozen=True, kw_only=True)
class LoadedBuild:
    root: LoadedRecipe
    """The submitted project (a repository listing ``packages`` builds each of them)."""
    units: tuple[PackageBuild, ...]

    @property
    def name(self) -> str:
        return self.root.project_name

    def job_ids(self) -> list[str]:
        """Every planned job id, in plan order; one farm job builds that id for each package."""
        seen: dict[str, None] = {}
        for unit in self.units:
            for job in unit.plan.jobs:
                seen.setdefault(job.id, None)
        return list(seen)

    def job(self, job_id: str) -> Job:
        for unit in self.units:
            for job in unit.plan.jobs:
                if job.id == job_id:
                    return job
        raise WheelyardError(f"job {job_id} is not in the plan of {self.name}")

    def only(self, job_id: str) -> list[PackageBuild]:
        """Each package's plan narrowed to ``job_id`` (packages without it build nothing)."""
        self.job(job_id)
        return [
            replace(
                unit,
                plan=replace(unit.plan, jobs=tuple(j for j in unit.plan.jobs if j.id == job_id)),
            )
            for unit in self.units
        ]


def _load(path: Path, options: BuildOptions, farm_recipe: Path | None) -> tuple[LoadedRecipe, Any]:
    loaded = load_recipe(
        path, profile=options.profile, farm_recipe=farm_recipe, environ=options.environ()
    )
    if options.constraints:
        loaded = _with_constraints(loaded, options.constraints)
    return loaded, load_catalog(loaded.recipe.catalog, extension_source=loaded.source_of)


def _with_constraints(loaded: LoadedRecipe, constraints: tuple[str, ...]) -> LoadedRecipe:
    """Write the constraints file into the project and point pip and uv at it (the recipe's
    own environment keeps its other variables)."""
    path = loaded.project_dir / CONSTRAINTS_FILE
    text = "".join(f"{line}\n" for line in constraints)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    environment = {
        **loaded.recipe.environment,
        "PIP_CONSTRAINT": CONSTRAINTS_IN_CONTAINER,
        "UV_CONSTRAINT": CONSTRAINTS_IN_CONTAINER,
    }
    return replace(loaded, recipe=loaded.recipe.model_copy(update={"environment": environment}))


def load_build(
    project_dir: Path,
    options: BuildOptions,
    *,
    farm_recipe: Path | None,
    host: Platform | None,
) -> LoadedBuild:
    """Recipe, catalog and plan of the project at ``project_dir`` (and of its ``packages``)."""
    root, root_catalog = _load(project_dir, options, farm_recipe)
    entries = root.recipe.packages
    sources: list[tuple[LoadedRecipe, Any]] = []
    if not entries:
        sources.append((root, root_catalog))
    else:
        for entry in entries:
            directory = root.project_dir / entry
            if not (directory / "pyproject.toml").is_file():
                raise WheelyardError(
                    f"packages: {entry} has no pyproject.toml ({directory})",
                    hint=f"fix `packages` in {root.pyproject}",
                )
            sources.append(_load(directory, options, farm_recipe))
    units = tuple(
        PackageBuild(
            loaded=loaded,
            catalog=catalog,
            plan=make_plan(
                loaded,
                catalog,
                host=host,
                only_variants=list(options.variants) or None,
                channel=options.channel,
                dated=options.date is not None,
            ),
        )
        for loaded, catalog in sources
    )
    return LoadedBuild(root=root, units=units)
