"""Accepting a build: check the source and the recipe before anything starts, record the build,
start its ``BuildPackage`` workflow; cancel one.

A submission is fetched into a staging folder and its recipe loaded and planned there, so a
malformed one (bad git URL, unsafe sdist, recipe errors, an empty plan) is refused with the
reason and no workflow starts. The staged source becomes the build's source folder (the
workflow's fetch then finds it done).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import InvalidName, canonicalize_name

from wheelyard.config.load import package_local_torch_sources
from wheelyard.errors import FarmForbiddenError, FarmRequestError, WheelyardError
from wheelyard.farm.builds import records
from wheelyard.farm.builds.source import SourceSpec, check_source, fetch_source, probe_git
from wheelyard.farm.db.engine import Database
from wheelyard.farm.messages import BuildRequest, BuildUpdate
from wheelyard.farm.orchestrator import Orchestrator
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.tokens import Principal
from wheelyard.farm.vocab import BuildState, SourceKind
from wheelyard.host.platform import host_platform
from wheelyard.pipeline import BuildOptions, LoadedBuild, load_project


@dataclass(frozen=True, kw_only=True)
class Submission:
    source: SourceSpec
    options: BuildOptions = field(default_factory=BuildOptions)
    package: str | None = None
    """The package the submitter means (checked against the token before fetching)."""
    job_timeout_seconds: float = 3600.0
    queue_wait_seconds: float = 6 * 3600.0
    gpu_wait_seconds: float = 3600.0
    heartbeat_seconds: float = 30.0


@dataclass(frozen=True, kw_only=True)
class Staged:
    folder: Path
    name: str
    jobs: int
    packages: tuple[str, ...] = ()
    """Every package the submission plans (a repository's ``packages``): each must be within
    the submitting token's scope."""


def authorise_early(submission: Submission, principal: Principal) -> None:
    source = submission.source
    host_path = source.kind is SourceKind.PATH or (
        source.kind is SourceKind.GIT and source.location.lower().startswith("file:")
    )
    if host_path and not principal.admin:
        raise FarmForbiddenError(
            "building a directory of the farm's machine needs an admin token",
            hint="submit a git URL or upload an sdist",
        )
    if submission.package is not None and not principal.may_write(submission.package):
        raise FarmForbiddenError(f"token {principal.name!r} may not build {submission.package}")


MAX_NAME = 200
"""The longest project name the farm takes (PyPI's names are far shorter; paths hold it)."""


def check_project_name(name: str, where: str = "pyproject.toml") -> None:
    """Refuse a project name that is not a valid one (PEP 508) or too long to be a path."""
    shown = name if len(name) <= 60 else f"{name[:57]}..."
    if len(name) > MAX_NAME:
        raise FarmRequestError(
            f"{where}: project name {shown!r} is {len(name)} characters long; the farm takes "
            f"{MAX_NAME} at most"
        )
    try:
        canonicalize_name(name, validate=True)
    except InvalidName as exc:
        raise FarmRequestError(
            f"{where}: {shown!r} is not a valid project name",
            hint="letters, digits, '.', '-' and '_', starting and ending with a letter or digit",
        ) from exc


def project_name(project_dir: Path) -> str | None:
    """``[project].name`` of the pyproject (to find the package's farm recipe before loading)."""
    try:
        with (project_dir / "pyproject.toml").open("rb") as fh:
            name = tomllib.load(fh).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return str(name) if isinstance(name, str) else None


def stage(
    settings: FarmSettings,
    submission: Submission,
    recipe_of: Callable[[str], str | None] = lambda _name: None,
) -> Staged:
    """Fetch and plan the submission in a staging folder (blocking: git, unpacking).

    ``recipe_of(name)`` gives the package's farm recipe, layered over its own table as the
    build will do.
    """
    check_source(submission.source)
    if submission.source.kind is SourceKind.GIT:
        probe_git(submission.source.location, submission.source.ref)
    staging = settings.data_dir / "staging" / uuid.uuid4().hex
    try:
        fetched = fetch_source(submission.source, staging, today=dt.datetime.now(tz=dt.UTC).date())
        name = project_name(fetched.project_dir)
        farm_recipe = recipe_of(name) if name else None
        recipe_path: Path | None = None
        if farm_recipe:
            recipe_path = staging / "farm-recipe.toml"
            recipe_path.write_text(farm_recipe, encoding="utf-8")
        loaded = load_project(
            fetched.project_dir, submission.options, farm_recipe=recipe_path, host=host_platform()
        )
        for unit in loaded.units:
            check_project_name(unit.loaded.project_name, unit.loaded.pyproject.name)
        check_host_paths(loaded)
        jobs = len(loaded.job_ids())
        if jobs == 0:
            raise FarmRequestError(
                f"{loaded.name}: the plan has no job",
                hint="`wheelyard plan` shows why (variants, Pythons, platforms)",
            )
        if recipe_path is not None:
            recipe_path.unlink()
    except WheelyardError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        blamed = _blamed_on_the_source(exc, staging, submission.source)
        if blamed is exc:
            raise
        raise blamed from exc
    return Staged(
        folder=staging,
        name=loaded.name,
        jobs=jobs,
        packages=tuple(unit.loaded.project_name for unit in loaded.units),
    )


def check_host_paths(loaded: LoadedBuild) -> None:
    """Refuse a package whose own settings name folders of the farm's machines (torch sources):
    only an admin's farm recipe or the farm's own settings may."""
    for unit in loaded.units:
        local = package_local_torch_sources(unit.loaded)
        if local:
            named = ", ".join(f"{source} ({where})" for source, where in local)
            raise FarmForbiddenError(
                f"{unit.loaded.project_name} names folders of the farm's machines as torch "
                f"sources: {named}",
                hint="use an index URL, or ask a farm admin to set them in the package's farm "
                "recipe",
            )


def check_planned_packages(loaded: LoadedBuild, allowed: list[str] | None) -> None:
    """Refuse a plan with a project outside ``allowed`` (a schedule's packages)."""
    if allowed is None:
        return
    permitted = {canonicalize_name(name) for name in allowed}
    outside = [
        unit.loaded.project_name
        for unit in loaded.units
        if canonicalize_name(unit.loaded.project_name) not in permitted
    ]
    if outside:
        raise FarmForbiddenError(
            f"{loaded.name} now plans {', '.join(outside)}, which this build may not build "
            f"(it may build {', '.join(sorted(permitted))})",
            hint="make a new schedule with a token that may build them",
        )


def _blamed_on_the_source(exc: WheelyardError, staging: Path, source: SourceSpec) -> WheelyardError:
    """The error as the submitter can act on it: paths inside the farm's staging folder become
    the submitted source's own (``<source>: pyproject.toml``); the farm recipe is named so."""
    shown = Path(source.location).name if source.kind is SourceKind.SDIST else source.location
    where = shown + (f"@{source.ref}" if source.ref else "")
    inside = str(staging.resolve())
    text = exc.message + ("\n" + exc.hint if exc.hint else "")
    if inside not in text and str(staging) not in text:
        return exc

    def relocate(value: str) -> str:
        for prefix in (inside, str(staging)):
            value = value.replace(f"{prefix}/farm-recipe.toml", "the package's farm recipe")
            for folder in ("checkout", "sdist", "source"):
                value = value.replace(f"{prefix}/{folder}/", f"{where}: ")
            value = value.replace(f"{prefix}/", f"{where}: ")
        return value

    kind = type(exc) if isinstance(exc, FarmRequestError) else FarmRequestError  # 403 stays 403
    return kind(relocate(exc.message), hint=relocate(exc.hint) if exc.hint else None)


def discard(staged: Staged) -> None:
    shutil.rmtree(staged.folder, ignore_errors=True)


def recipe_for(database: Database, package: str) -> str | None:
    with database.session() as session:
        row = records.package_named(session, package)
        recipe = records.latest_recipe(session, row) if row is not None else None
        return recipe.content if recipe is not None else None


def register(
    settings: FarmSettings,
    database: Database,
    submission: Submission,
    staged: Staged,
    principal: Principal | None,
) -> BuildRequest:
    """Record the build and move its staged source into the build's folder."""
    source = submission.source.location
    if submission.source.kind is SourceKind.SDIST:
        source = str(Path(source).resolve().relative_to(settings.data_dir.resolve()))
    farm_recipe = recipe_for(database, staged.name)
    with database.session() as session:
        build = records.create_build(
            session,
            package=staged.name,
            source_kind=str(submission.source.kind),
            source=source,
            ref=submission.source.ref,
            options=submission.options.model_dump(mode="json"),
            submitted_by=principal.token_id if principal else None,
        )
        build_id = build.id
        package = build.package.name
    target = settings.path(FarmSettings.build_dir(build_id)) / "source"
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    staged.folder.replace(target)
    return BuildRequest(
        build_id=build_id,
        package=package,
        source_kind=str(submission.source.kind),
        source=source,
        ref=submission.source.ref,
        options=submission.options.model_dump(mode="json"),
        farm_recipe=farm_recipe,
        job_timeout_seconds=submission.job_timeout_seconds,
        queue_wait_seconds=submission.queue_wait_seconds,
        gpu_wait_seconds=submission.gpu_wait_seconds,
        heartbeat_seconds=submission.heartbeat_seconds,
    )


async def start(database: Database, orchestrator: Orchestrator, request: BuildRequest) -> None:
    """Start the workflow; if that fails the build is marked failed with the reason."""
    try:
        await orchestrator.start_build(request)
    except Exception as exc:
        with database.session() as session:
            records.update_build(
                session,
                BuildUpdate(
                    build_id=request.build_id,
                    state=str(BuildState.FAILED),
                    message=f"the workflow could not start: {exc}",
                ),
            )
        raise
