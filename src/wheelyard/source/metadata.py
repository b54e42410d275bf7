"""What a package says it is: its name, version and supported Pythons, read the way installers
read them.

In order:

1. ``PKG-INFO`` of an sdist (the unpacked sdist's top folder): the version the sdist was made
   with, exactly as an installer would see it; nothing of the package runs;
2. a static ``[project]`` table (``name`` and ``version`` not listed in ``dynamic``);
3. the build backend's own metadata (PEP 517 ``prepare_metadata_for_build_wheel``, or a wheel
   build when the backend lacks that hook), through pypa/build in an isolated environment (uv
   installs the build requirements): setuptools-scm, hatch-vcs, ``setup.py``, ``attr:`` and
   flit's ``__version__`` all report their real version this way.
"""

from __future__ import annotations

import email.errors
import tempfile
import tomllib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PathDistribution
from pathlib import Path
from typing import Any

from packaging.metadata import parse_email
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelyard import proc
from wheelyard.config.load import LoadedRecipe
from wheelyard.errors import MetadataError, ProcessError

BACKEND_TIMEOUT = 600.0
"""Seconds the backend may take to install its build requirements and report metadata."""
PKG_INFO = "PKG-INFO"


@dataclass(frozen=True, kw_only=True)
class ProjectMetadata:
    name: str
    version: str
    requires_python: str | None
    origin: str
    """Where it was read: ``PKG-INFO``, ``pyproject.toml [project]``, or the build backend."""


def _checked(name: str, version: str, requires: str | None, origin: str) -> ProjectMetadata:
    try:
        Version(version)
    except InvalidVersion as exc:
        raise MetadataError(
            f"{origin}: {name} reports version {version!r}, which is not a PEP 440 version",
            hint="fix the package's version, or set version = 'X.Y.Z' in its recipe",
        ) from exc
    return ProjectMetadata(name=name, version=version, requires_python=requires, origin=origin)


def _pyproject(project_dir: Path) -> Mapping[str, Any]:
    path = project_dir / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MetadataError(f"cannot read {path}: {exc}") from exc


def pkg_info(project_dir: Path) -> ProjectMetadata | None:
    """The metadata of an unpacked sdist (its ``PKG-INFO``), or None where there is none."""
    path = project_dir / PKG_INFO
    if not path.is_file():
        return None
    try:
        raw, _unparsed = parse_email(path.read_bytes())
    except (ValueError, email.errors.MessageError) as exc:
        raise MetadataError(f"{path}: not valid core metadata: {exc}") from exc
    name, version = raw.get("name"), raw.get("version")
    if not name or not version:
        raise MetadataError(f"{path}: no Name or Version", hint="the sdist is damaged")
    return _checked(name, version, raw.get("requires_python"), str(path))


def static_metadata(project_dir: Path) -> ProjectMetadata | None:
    """PKG-INFO, else a ``[project]`` table whose name and version are static; None when the
    version is only known to the backend."""
    found = pkg_info(project_dir)
    if found is not None:
        return found
    project = _pyproject(project_dir).get("project")
    if not isinstance(project, Mapping):
        return None
    dynamic = project.get("dynamic") or []
    name, version = project.get("name"), project.get("version")
    if not isinstance(name, str) or not isinstance(version, str) or "version" in dynamic:
        return None
    requires = project.get("requires-python")
    where = f"{project_dir / 'pyproject.toml'} [project]"
    return _checked(name, version, str(requires) if requires else None, where)


def _runner(log: list[str]) -> Any:
    """A pyproject-hooks subprocess runner through ``proc.run`` that keeps the backend's output
    for the error message."""

    def run(
        cmd: Sequence[str], cwd: str | None = None, extra_environ: Mapping[str, str] | None = None
    ) -> None:
        import os

        env = {**os.environ, **(extra_environ or {})}
        result = proc.run(
            cmd, cwd=Path(cwd) if cwd else None, env=env, timeout=BACKEND_TIMEOUT, check=False
        )
        log.append(result.output)
        if result.returncode != 0:
            raise ProcessError(
                f"the build backend exited {result.returncode}",
                argv=result.argv,
                returncode=result.returncode,
                output_tail=result.tail,
            )

    return run


def backend_metadata(project_dir: Path) -> ProjectMetadata:
    """Ask the package's build backend, in an isolated environment, for its metadata."""
    from build import BuildBackendException, BuildException, ProjectBuilder
    from build.env import DefaultIsolatedEnv

    output: list[str] = []
    try:
        with (
            warnings.catch_warnings(),  # the backend's warnings are its own, not the user's
            DefaultIsolatedEnv(installer="uv") as env,
            tempfile.TemporaryDirectory(prefix="wheelyard-metadata-") as tmp,
        ):
            warnings.simplefilter("ignore")
            builder = ProjectBuilder.from_isolated_env(env, project_dir, runner=_runner(output))
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel"))
            dist_info = Path(builder.metadata_path(tmp))
            meta = PathDistribution(dist_info).metadata
            name, version = meta["Name"], meta["Version"]
            requires = meta["Requires-Python"]
    except (BuildException, BuildBackendException, ProcessError, OSError) as exc:
        tail = "\n".join("\n".join(output).splitlines()[-15:])
        cause = exc.exception if isinstance(exc, BuildBackendException) else exc
        raise MetadataError(
            f"the build backend of {project_dir} could not report the package's metadata: "
            f"{cause}" + (f"\n{tail}" if tail else ""),
            hint="set version = 'X.Y.Z' in the recipe ([tool.wheelyard] or --recipe) to build "
            "without asking the backend, or fix the package's build",
        ) from exc
    if not name or not version:
        raise MetadataError(f"the build backend of {project_dir} reported no name or version")
    return _checked(str(name), str(version), requires, f"build backend of {project_dir}")


def project_metadata(project_dir: Path) -> ProjectMetadata:
    """The package's own name and version: static where they are, else from its backend."""
    return static_metadata(project_dir) or backend_metadata(project_dir)


def own_version(loaded: LoadedRecipe) -> str | None:
    """The package's own version, where the recipe names none (``version``/``version-file``
    win): static where it is, else from the build backend."""
    recipe = loaded.recipe
    if recipe.version is not None or recipe.version_file is not None:
        return None
    return project_metadata(loaded.project_dir).version


def same_name(a: str, b: str) -> bool:
    return canonicalize_name(a) == canonicalize_name(b)
