"""A farm build's recipe and plan, loaded the same way in every stage.

Each stage (plan, build, verify, smoke, publish) runs in its own activity, possibly on another
machine, and loads the recipe again from the fetched source with the same ``BuildOptions``; the
plan is deterministic, so every stage sees the same jobs. Precedence is the CLI's: defaults →
``[tool.wheelyard]`` → the farm recipe of the package → the profile → the submission's
overrides (``python`` as ``WHEELYARD_PYTHON``).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wheelyard.build.package import PackageBuild
from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import WheelyardError
from wheelyard.plan import Job, make_plan


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """What a submission may narrow or choose; everything else comes from the recipe."""

    variants: tuple[str, ...] = ()
    python: tuple[str, ...] = ()
    channel: Channel | None = None
    profile: str | None = None
    date: dt.date | None = None

    def environ(self) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.python:
            env["WHEELYARD_PYTHON"] = json.dumps(list(self.python))
        return env

    def to_json(self) -> dict[str, Any]:
        return {
            "variants": list(self.variants),
            "python": list(self.python),
            "channel": str(self.channel) if self.channel else None,
            "profile": self.profile,
            "date": self.date.isoformat() if self.date else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BuildOptions:
        return cls(
            variants=tuple(data.get("variants") or ()),
            python=tuple(data.get("python") or ()),
            channel=Channel(data["channel"]) if data.get("channel") else None,
            profile=data.get("profile"),
            date=dt.date.fromisoformat(data["date"]) if data.get("date") else None,
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
    return loaded, load_catalog(loaded.recipe.catalog, extension_source=loaded.source_of)


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
            ),
        )
        for loaded, catalog in sources
    )
    return LoadedBuild(root=root, units=units)
