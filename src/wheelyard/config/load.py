"""Load a Recipe with a written precedence, reporting every problem at once.

Precedence, lowest first:

1. built-in defaults (the Recipe model);
2. ``[tool.wheelyard]`` in the package's ``pyproject.toml``;
3. an optional farm-side recipe file (a TOML file holding the same keys at top level, or under
   ``[tool.wheelyard]``), so a farm can build a package whose repository has no wheelyard table;
4. the profile chosen with ``--profile`` (from the merged ``profiles`` tables);
5. ``WHEELYARD_<KEY>`` environment variables (``WHEELYARD_VARIANTS="cpu cu128"``).

Tables merge key by key; any other value (lists included) replaces the lower one.
"""

from __future__ import annotations

import email.parser
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from wheelyard.config.model import RECIPE_KEYS, Recipe
from wheelyard.config.problems import problems_from
from wheelyard.config.suggest import did_you_mean
from wheelyard.errors import ConfigError, Problem

ENV_PREFIX = "WHEELYARD_"
RESERVED_ENV = frozenset({"WHEELYARD_DEBUG", "WHEELYARD_RECIPE", "WHEELYARD_PROFILE"})
RESERVED_ENV_PREFIXES = (
    "WHEELYARD_SETUP_",
    "WHEELYARD_FARM_",
    "WHEELYARD_TEST_",
    "WHEELYARD_DETECT",
)
LIST_KEYS = frozenset({"variants", "python", "platforms", "torch-index"})
NOT_FROM_ENV = frozenset({"catalog", "profiles", "environment"})
DEFAULT_SOURCE = "built-in default"


@dataclass(frozen=True, kw_only=True)
class LoadedRecipe:
    """A validated Recipe plus what was read around it."""

    recipe: Recipe
    project_dir: Path
    pyproject: Path
    project_name: str
    project_version: str | None
    requires_python: str | None
    profile: str | None
    sources: Mapping[str, str] = field(default_factory=dict)
    cibuildwheel: Mapping[str, Any] = field(default_factory=dict)
    """The package's own ``[tool.cibuildwheel]`` table (never overridden silently), with the
    recipe's ``cibuildwheel`` keys replacing its own."""

    def source_of(self, key: str) -> str:
        return _lookup_source(self.sources, key)


def _lookup_source(sources: Mapping[str, str], key: str) -> str:
    """The source of ``key`` or of its closest ancestor / first descendant that has one."""
    probe = key
    while probe:
        if probe in sources:
            return sources[probe]
        probe = probe.rpartition(".")[0]
    for known, source in sources.items():
        if known.startswith(f"{key}."):
            return source
    return DEFAULT_SOURCE


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            [Problem(source=str(path), key="", message="file not found")],
            hint="pass the package directory (the one holding pyproject.toml) or the file itself",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [Problem(source=str(path), key="", message=f"cannot read: {exc}")]
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [Problem(source=str(path), key="", message=f"TOML syntax error: {exc}")],
            hint="fix the syntax; https://toml.io describes the format",
        ) from exc


def _leaves(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            paths.extend(_leaves(value, dotted))
        else:
            paths.append(dotted)
    return paths


def merge(
    base: dict[str, Any], layer: Mapping[str, Any], sources: dict[str, str], source: str
) -> dict[str, Any]:
    """Deep-merge ``layer`` onto ``base`` (tables merge, other values replace), noting sources."""
    merged = dict(base)
    for key, value in layer.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(dict(merged[key]), value, {}, source)
        else:
            merged[key] = value
    for leaf in _leaves(layer):
        sources[leaf] = source
    return merged


def _env_value(key: str, raw: str) -> Any:
    if key in LIST_KEYS:
        if raw.lstrip().startswith(("[", "{")):
            return json.loads(raw)
        return [item for item in raw.replace(",", " ").split() if item]
    return raw


def _env_layer(environ: Mapping[str, str], problems: list[Problem]) -> dict[str, tuple[str, Any]]:
    layer: dict[str, tuple[str, Any]] = {}
    settable = [k for k in RECIPE_KEYS if k not in NOT_FROM_ENV]
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        if name.startswith(RESERVED_ENV_PREFIXES):
            continue
        key = name.removeprefix(ENV_PREFIX).lower().replace("_", "-")
        if key not in settable:
            env_names = [ENV_PREFIX + k.upper().replace("-", "_") for k in settable]
            problems.append(
                Problem(
                    source=f"environment {name}",
                    key=key,
                    message="not a recipe key that can be set from the environment",
                    hint=did_you_mean(name, env_names) or f"settable: {', '.join(env_names)}",
                )
            )
            continue
        try:
            layer[key] = (name, _env_value(key, raw))
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(source=f"environment {name}", key=key, message=f"invalid list: {exc}")
            )
    return layer


LEGACY_MARKERS = ("setup.py", "setup.cfg")
"""A project without pyproject.toml (setuptools' legacy layout) is still a project."""


def _find_pyproject(path: Path) -> Path:
    candidate = path / "pyproject.toml" if path.is_dir() else path
    if path.is_dir() and any((path / m).is_file() for m in LEGACY_MARKERS):
        return candidate
    if not candidate.is_file():
        where = path if path.is_dir() else path.parent
        raise ConfigError(
            [Problem(source=str(candidate), key="", message="no pyproject.toml found")],
            hint=f"run wheelyard in a package directory, or pass its path (looked in {where})",
        )
    return candidate


def _sdist_name(project_dir: Path) -> str | None:
    """The ``Name`` in an unpacked sdist's PKG-INFO (a setup.py package has no [project])."""
    try:
        head = (project_dir / "PKG-INFO").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    message = email.parser.HeaderParser().parsestr(head)
    return message.get("Name") or None


def load_recipe(
    path: Path,
    *,
    profile: str | None = None,
    farm_recipe: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedRecipe:
    """Load and validate the recipe of the package at ``path`` (a directory or pyproject.toml)."""
    environ = {} if environ is None else environ
    pyproject = _find_pyproject(path)
    document = _read_toml(pyproject) if pyproject.is_file() else {}
    project = document.get("project", {})
    tool = document.get("tool", {})
    table = tool.get("wheelyard", {}) if isinstance(tool, dict) else {}
    problems: list[Problem] = []
    pyproject_source = f"{pyproject} [tool.wheelyard]"
    if not isinstance(table, dict):
        problems.append(Problem(source=str(pyproject), key="tool.wheelyard", message="not a table"))
        table = {}

    sources: dict[str, str] = {}
    raw = merge({}, table, sources, pyproject_source)
    if farm_recipe is not None:
        farm_doc = _read_toml(farm_recipe)
        farm_table = farm_doc.get("tool", {}).get("wheelyard", farm_doc)
        raw = merge(raw, farm_table, sources, f"farm recipe {farm_recipe}")

    # Validate the merged file layers first so that profile and env errors point at their source.
    env_layer = _env_layer(environ, problems)
    recipe: Recipe | None = None
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        problems.extend(
            problems_from(exc, model=Recipe, source_of=lambda k: _lookup_source(sources, k))
        )

    raw_profiles = raw.get("profiles")
    if isinstance(raw_profiles, dict):
        # Every profile is checked, not only the chosen one: a typo must not wait for its day.
        for profile_name, body in raw_profiles.items():
            if not isinstance(body, dict):
                continue
            try:
                Recipe.model_validate(body)
            except ValidationError as exc:
                problems.extend(
                    problems_from(
                        exc,
                        model=Recipe,
                        source_of=lambda k: _lookup_source(sources, k),
                        prefix=f"profiles.{profile_name}",
                    )
                )
    if recipe is not None and profile is not None:
        if profile not in recipe.profiles:
            known = sorted(recipe.profiles)
            problems.append(
                Problem(
                    source=pyproject_source,
                    key=f"profiles.{profile}",
                    message=f"no profile named {profile!r}",
                    hint=did_you_mean(profile, known)
                    or (f"defined: {', '.join(known)}" if known else "no profiles are defined"),
                )
            )
        else:
            profile_source = _lookup_source(sources, f"profiles.{profile}")
            raw = merge(raw, recipe.profiles[profile], sources, f"{profile_source} (profile)")
    for key, (name, value) in env_layer.items():
        raw = merge(raw, {key: value}, sources, f"environment {name}")

    if not problems:
        try:
            recipe = Recipe.model_validate(raw)
        except ValidationError as exc:
            problems.extend(
                problems_from(exc, model=Recipe, source_of=lambda k: _lookup_source(sources, k))
            )
    problems += _project_problems(project, pyproject)
    if problems or recipe is None:
        raise ConfigError(
            problems, hint="fix the keys above; `wheelyard config schema` shows every key"
        )

    raw_name = project.get("name") if isinstance(project, dict) else None
    raw_name = raw_name or _sdist_name(pyproject.parent)
    version = project.get("version") if isinstance(project, dict) else None
    requires = project.get("requires-python") if isinstance(project, dict) else None
    cibw = tool.get("cibuildwheel", {}) if isinstance(tool, dict) else {}
    cibw = merge(dict(cibw) if isinstance(cibw, dict) else {}, recipe.cibuildwheel, {}, "recipe")
    return LoadedRecipe(
        recipe=recipe,
        project_dir=pyproject.parent.resolve(),
        pyproject=pyproject,
        project_name=str(raw_name) if raw_name else pyproject.parent.resolve().name,
        project_version=str(version) if version else None,
        requires_python=str(requires) if requires else None,
        profile=profile,
        sources=dict(sources),
        cibuildwheel=cibw,
    )


def _valid_name(value: str) -> object:
    return canonicalize_name(value, validate=True)


_PROJECT_CHECKS: tuple[tuple[str, Any, type[Exception], str, str], ...] = (
    ("name", _valid_name, InvalidName, "is not a valid project name",
     "letters, digits, '.', '-', '_'; a letter or digit at both ends"),
    ("version", Version, InvalidVersion, "is not a version (PEP 440)",
     "e.g. 1.2.0, 1.2.0rc1, 1.2.0.dev20261205"),
    ("requires-python", SpecifierSet, InvalidSpecifier, "is not a version specifier",
     "e.g. >=3.10"),
)  # fmt: skip
"""``[project]`` keys wheelyard builds with: the parser that accepts a valid value, its error,
the message and the hint."""


def _project_problems(project: object, pyproject: Path) -> list[Problem]:
    """``[project]`` values that are not valid (PEP 508 name, PEP 440 version, requires-python
    specifier). Dynamic ones are read later, from the backend."""
    if not isinstance(project, dict):
        return []
    problems = []
    for key, parse, error, message, hint in _PROJECT_CHECKS:
        value = project.get(key)
        if value is None:
            continue
        try:
            parse(str(value))
        except error:
            problems.append(
                Problem(
                    source=f"{pyproject} [project]",
                    key=key,
                    message=f"{str(value)[:80]!r} {message}",
                    hint=hint,
                )
            )
    return problems


MAX_FARM_RECIPE_BYTES = 64 * 1024
"""The largest farm-side recipe a farm stores (real ones are a few hundred bytes)."""


def file_inside(root: Path, value: str) -> Path | None:
    """The file ``root/value`` names when it is one and stays inside ``root`` once links are
    followed; None for an absolute path, ``..`` out of the tree or a link that leaves it (a
    recipe's paths never reach the rest of the machine that builds)."""
    if not value or "\0" in value or Path(value).is_absolute():
        return None
    candidate = root / value
    try:
        candidate.resolve().relative_to(root.resolve())
    except (OSError, ValueError, RuntimeError):
        return None
    return candidate if candidate.is_file() else None


def local_torch_sources(recipe: Recipe) -> list[str]:
    """The recipe's torch sources that are folders of the machine that builds (host paths:
    a farm takes them only from an admin)."""
    value = recipe.torch_index
    lists = [value] if isinstance(value, list) else list(value.values())
    torch_table = recipe.catalog.get("torch") or {}
    if isinstance(torch_table, dict):
        lists += [v for v in torch_table.values() if isinstance(v, list)]
    return [s for sources in lists for s in sources if str(s).startswith(("/", "file:"))]


def package_local_torch_sources(loaded: LoadedRecipe) -> list[tuple[str, str]]:
    """Host-folder torch sources that did not come from a farm recipe (the package's own
    table, an environment variable): ``(source, where it was set)``. A farm refuses them: only
    its admins name folders of its machines."""
    recipe = loaded.recipe
    keyed: list[tuple[str, list[str]]] = []
    if isinstance(recipe.torch_index, list):
        keyed.append(("torch-index", recipe.torch_index))
    else:
        keyed += [(f"torch-index.{v}", list(s)) for v, s in recipe.torch_index.items()]
    torch_table = recipe.catalog.get("torch") or {}
    if isinstance(torch_table, dict):
        keyed += [(f"catalog.torch.{c}", v) for c, v in torch_table.items() if isinstance(v, list)]
    found: list[tuple[str, str]] = []
    for key, sources in keyed:
        where = loaded.source_of(key)
        if where.startswith("farm recipe"):
            continue
        found += [(str(s), where) for s in sources if str(s).startswith(("/", "file:"))]
    return found


def check_farm_recipe(text: str, *, source: str = "farm recipe") -> Recipe:
    """Refuse a farm-side recipe that is too large, not TOML, or not valid recipe keys: what
    would otherwise fail every later submission of the package. All problems at once."""
    size = len(text.encode("utf-8"))
    if size > MAX_FARM_RECIPE_BYTES:
        raise ConfigError(
            [
                Problem(
                    source=source,
                    key="",
                    message=f"{size} bytes; a farm recipe may have {MAX_FARM_RECIPE_BYTES}",
                )
            ]
        )
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [Problem(source=source, key="", message=f"not valid TOML: {exc}")],
            hint="fix the syntax; https://toml.io describes the format",
        ) from exc
    table = document.get("tool", {}).get("wheelyard", document)
    if not isinstance(table, dict):
        raise ConfigError([Problem(source=source, key="tool.wheelyard", message="not a table")])
    try:
        return Recipe.model_validate(table)
    except ValidationError as exc:
        raise ConfigError(
            problems_from(exc, model=Recipe, source_of=lambda _key: source),
            hint="`wheelyard config schema` prints every key and its type",
        ) from exc
