"""The pipeline both front ends share: a project loaded into its packages and planned once.

``wheelyard build`` and the farm call the same function (``load_project``) with the same
options; the farm plans in one activity and hands the result to every later stage (build,
verify, GPU smoke, publish) as a file (``LoadedBuild.save`` / ``LoadedBuild.read``) instead of
loading the recipe again. Precedence is the same everywhere: defaults → ``[tool.wheelyard]`` →
the farm recipe of the package → the profile → ``WHEELYARD_*`` (the CLI's environment, or a
submission's overrides: ``python`` as ``WHEELYARD_PYTHON``, a campaign's torch pin as
``WHEELYARD_TORCH``).

A campaign's ABI pins (``constraints``) reach the build through a constraints file written into
each project directory (``.wheelyard-constraints.txt``, which cibuildwheel copies to
``/project``) and ``PIP_CONSTRAINT``/``UV_CONSTRAINT`` in the build environment: pip and uv apply
them to the isolated build environment pypa/build sets up and to the test installs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from wheelyard.builder.engine import ContainerEngine
from wheelyard.builder.image.ensure import local_builder_image
from wheelyard.builder.package import PackageBuild
from wheelyard.builder.steps import ProgressCallback
from wheelyard.catalog import Catalog, load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import BuildRequestError, WheelyardError
from wheelyard.host.platform import host_platform
from wheelyard.plan import Job, make_plan
from wheelyard.record import write_json_atomic
from wheelyard.verify.sandbox import Confinement

CONSTRAINTS_FILE = ".wheelyard-constraints.txt"
CONSTRAINTS_IN_CONTAINER = f"/project/{CONSTRAINTS_FILE}"


class BuildOptions(BaseModel):
    """What a submission may narrow or choose; everything else comes from the recipe. Stored
    and sent as ``model_dump(mode="json")``; read back with ``model_validate`` (keys it does not
    know, which the farm keeps beside them, are ignored)."""

    model_config = ConfigDict(frozen=True)

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

    def only_jobs(self, job_ids: Sequence[str]) -> LoadedBuild:
        """The build narrowed to the jobs with these ids (``wheelyard plan`` shows them; a CI
        matrix entry's ``id``); an id that matches no planned job is an error."""
        known = self.job_ids()
        unknown = [job for job in job_ids if job not in known]
        if unknown:
            raise BuildRequestError(
                f"--job {', '.join(unknown)}: no such job in the plan",
                hint=f"planned jobs: {', '.join(sorted(known))}",
            )
        units = tuple(
            replace(
                unit,
                plan=replace(unit.plan, jobs=tuple(j for j in unit.plan.jobs if j.id in job_ids)),
            )
            for unit in self.units
        )
        return replace(self, units=units)

    # -- handing the planned build to later stages ------------------------------------------

    def save(self, path: Path, *, root: Path) -> None:
        """Write the loaded and planned build to ``path``; project paths are kept relative to
        ``root`` (the farm's data directory, which workers may mount elsewhere)."""
        moved = _rebase(self, lambda p: p.resolve().relative_to(root.resolve()))
        write_json_atomic(path, _ADAPTER.dump_python(moved, mode="json"))

    @classmethod
    def read(cls, path: Path, *, root: Path) -> LoadedBuild:
        """The build ``save`` wrote, its project paths below ``root``."""
        try:
            saved = _ADAPTER.validate_json(path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise WheelyardError(
                f"{path}: cannot read the planned build ({exc})",
                hint="plan the build again (resubmit it)",
            ) from exc
        return _rebase(saved, lambda p: root / p)


def _rebase(build: LoadedBuild, move: Any) -> LoadedBuild:
    def one(loaded: LoadedRecipe) -> LoadedRecipe:
        return replace(
            loaded, project_dir=move(loaded.project_dir), pyproject=move(loaded.pyproject)
        )

    return replace(
        build,
        root=one(build.root),
        units=tuple(replace(unit, loaded=one(unit.loaded)) for unit in build.units),
    )


_ADAPTER: TypeAdapter[LoadedBuild] = TypeAdapter(LoadedBuild)


def load_recipe_and_catalog(
    path: Path,
    *,
    profile: str | None,
    farm_recipe: Path | None,
    environ: Mapping[str, str],
    constraints: tuple[str, ...] = (),
) -> tuple[LoadedRecipe, Catalog]:
    """One project's recipe (with the written precedence) and the catalog it names."""
    loaded = load_recipe(path, profile=profile, farm_recipe=farm_recipe, environ=dict(environ))
    if constraints:
        loaded = _with_constraints(loaded, constraints)
    return loaded, load_catalog(loaded.recipe.catalog, extension_source=loaded.source_of)


def load_packages(
    path: Path,
    *,
    profile: str | None,
    farm_recipe: Path | None,
    environ: Mapping[str, str],
    constraints: tuple[str, ...] = (),
) -> tuple[tuple[LoadedRecipe, Catalog], list[tuple[LoadedRecipe, Catalog]]]:
    """The project at ``path`` and the projects to build: itself, or each of its ``packages``."""

    def load(directory: Path) -> tuple[LoadedRecipe, Catalog]:
        return load_recipe_and_catalog(
            directory,
            profile=profile,
            farm_recipe=farm_recipe,
            environ=environ,
            constraints=constraints,
        )

    root = load(path)
    entries = root[0].recipe.packages
    if not entries:
        return root, [root]
    units = []
    for entry in entries:
        directory = root[0].project_dir / entry
        if not (directory / "pyproject.toml").is_file():
            raise WheelyardError(
                f"packages: {entry} has no pyproject.toml ({directory})",
                hint=f"fix `packages` in {root[0].pyproject}",
            )
        units.append(load(directory))
    return root, units


def load_project(
    path: Path,
    options: BuildOptions,
    *,
    farm_recipe: Path | None,
    host: Platform | None,
    environ: Mapping[str, str] | None = None,
) -> LoadedBuild:
    """Recipe, catalog and plan of the project at ``path`` (and of its ``packages``).

    ``environ`` is where ``WHEELYARD_*`` settings come from (the CLI passes its environment;
    the farm none); the options' own overrides go on top.
    """
    root, sources = load_packages(
        path,
        profile=options.profile,
        farm_recipe=farm_recipe,
        environ={**(environ or {}), **options.environ()},
        constraints=options.constraints,
    )
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
    return LoadedBuild(root=root[0], units=units)


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


# -- the verification sandbox ---------------------------------------------------------------
# Package code (imports, smoke tests) runs in a throw-away container of a builder image (its C
# library and shell run the host's interpreter build, as in the build): no network, only the
# environment verify chooses, the image read-only with a private /tmp, the run's scratch folder
# writable, the virtual environment, interpreter and wheel read-only at their own paths, memory
# and process limits.

SANDBOX_LABEL = "dev.wheelyard.sandbox"
DEFAULT_MEMORY = "4g"
DEFAULT_PIDS = 1024


CDI_FOLDERS = (Path("/etc/cdi"), Path("/var/run/cdi"))
"""Where the NVIDIA Container Toolkit writes its CDI spec (``nvidia-ctk cdi generate``)."""


def _nvidia_cdi() -> bool:
    """Whether this machine describes its NVIDIA GPUs for containers (a CDI spec): then the GPU
    smoke test gets them as ``nvidia.com/gpu=all``; without one it runs with none."""
    return any(
        "nvidia.com/gpu" in spec.read_text(encoding="utf-8", errors="replace")
        for folder in CDI_FOLDERS
        if folder.is_dir()
        for spec in folder.glob("*.*")
        if spec.suffix in (".yaml", ".yml", ".json")
    )


@dataclass(frozen=True, kw_only=True)
class ContainerSandbox:
    """A ``verify.sandbox.Sandbox`` on podman or docker (see the comment above)."""

    engine: ContainerEngine
    image: str
    memory: str = DEFAULT_MEMORY
    pids: int = DEFAULT_PIDS

    @property
    def description(self) -> str:
        return f"{self.engine.name} container of {self.image}, no network"

    def command(self, argv: Sequence[str], confinement: Confinement, *, name: str) -> list[str]:
        mounts = [f"--volume={confinement.workdir}:{confinement.workdir}:rw"]
        mounts += [
            f"--volume={path}:{path}:ro"
            for path in confinement.read_only
            if path.exists() and path != confinement.workdir
        ]
        env = [f"--env={key}={value}" for key, value in sorted(confinement.env.items())]
        gpu = ["--device=nvidia.com/gpu=all"] if confinement.gpu and _nvidia_cdi() else []
        return [
            self.engine.executable,
            "run",
            "--rm",
            f"--name={name}",
            f"--label={SANDBOX_LABEL}=1",
            *self.engine.create_args(),
            "--network=none",
            "--read-only",
            "--tmpfs=/tmp:rw,size=1g",
            f"--memory={self.memory}",
            f"--pids-limit={self.pids}",
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            *gpu,
            *mounts,
            *env,
            f"--workdir={confinement.workdir}",
            self.image,
            *argv,
        ]

    def remove(self, name: str) -> None:
        self.engine.remove_container(name)


def verification_sandbox(
    engine: ContainerEngine,
    catalog: Catalog,
    *,
    variant: str = "cpu",
    platform: Platform | None = None,
    progress: ProgressCallback | None = None,
) -> ContainerSandbox:
    """The sandbox verification runs package code in: ``variant``'s builder image for this
    machine's platform (made when missing, as a build would)."""
    chosen = local_builder_image(
        variant,
        platform or host_platform() or Platform.LINUX_X86_64,
        catalog=catalog,
        engine=engine,
        progress=progress,
    )
    return ContainerSandbox(engine=engine, image=chosen.ref)
