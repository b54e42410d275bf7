"""The Recipe: the ``[tool.wheelyard]`` table, validated, with defaults filled in."""

from __future__ import annotations

import functools
import json
import re
from typing import Annotated, Any, Literal

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from pydantic import Field, field_validator

from wheelyard.config.accelerator import VARIANT_NAME, torch_source_problem
from wheelyard.config.fields import FileModel
from wheelyard.config.suggest import did_you_mean
from wheelyard.config.vocab import NATIVE_PLATFORM, Channel, ConsolidationKind, Platform

PYTHON_IDENTIFIER = re.compile(r"^cp3(\d+)(t?)$")
PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SYSTEM_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_:-]*$")
PACKAGE_MANAGERS = ("apt", "dnf", "yum", "apk")


@functools.cache
def cibuildwheel_option_names() -> frozenset[str]:
    """The option names of the pinned cibuildwheel, from the JSON schema it ships."""
    from importlib import resources

    schema = resources.files("cibuildwheel").joinpath("resources/cibuildwheel.schema.json")
    return frozenset(json.loads(schema.read_text(encoding="utf-8"))["properties"])


ABI3 = "abi3"
PY3 = "py3"


class Groups(FileModel):
    """``consolidation = { groups = N }``: split each variant's Pythons into N jobs."""

    groups: int = Field(ge=1, le=64)


Consolidation = Literal["per-variant", "per-python"] | Groups


def consolidation_kind(value: Consolidation) -> ConsolidationKind:
    if isinstance(value, Groups):
        return ConsolidationKind.GROUPS
    return ConsolidationKind(value)


def python_item_problem(item: str) -> str | None:
    """Why ``item`` is not a valid entry of ``python``, or None when it is."""
    if item in (ABI3, PY3) or PYTHON_IDENTIFIER.match(item):
        return None
    try:
        SpecifierSet(item)
    except InvalidSpecifier:
        return (
            f"{item!r} is neither an interpreter identifier (cp312, cp314t), a version range "
            f"('>=3.10'), 'abi3' nor 'py3'"
        )
    if not item.strip():
        return "an empty string selects nothing"
    return None


def _default_platforms() -> list[Platform | Literal["native"]]:
    return [Platform.LINUX_X86_64]


class Recipe(FileModel):
    """What to build. Every key is optional; the defaults build CPU wheels for linux-x86_64."""

    variants: list[Annotated[str, Field(pattern=VARIANT_NAME.pattern)]] = Field(
        default_factory=lambda: ["cpu"],
        min_length=1,
        description="Accelerator variants to build (names from the catalog).",
    )
    python: list[str] = Field(
        default_factory=lambda: [">=3.10"],
        min_length=1,
        description="Interpreters: identifiers (cp312, cp314t), ranges ('>=3.10'), 'abi3' "
        "(one stable-ABI wheel tested on every interpreter) or 'py3' (one Python-independent "
        "wheel per platform x variant).",
    )
    free_threaded: bool = Field(
        default=False, description="Let version ranges also select free-threaded builds (cp314t)."
    )
    platforms: list[Platform | Literal["native"]] = Field(
        default_factory=_default_platforms,
        min_length=1,
        description="Target platforms; 'native' is the platform wheelyard runs on.",
    )
    channel: Channel | None = Field(
        default=None,
        description="nightly, test or release: rewrite the version for that channel (nightly: "
        "X.Y.Z.devYYYYMMDD). Unset: the package's own version, unchanged.",
    )
    version: str | None = Field(
        default=None, description="Base version (default: [project].version or version-file)."
    )
    version_file: str | None = Field(
        default=None, description="File whose first line is the base version."
    )
    torch: str | None = Field(
        default=None, description="PyTorch requirement the package builds against ('==2.9.*')."
    )
    torch_index: list[str] | dict[str, list[str]] = Field(
        default_factory=list,
        description="Where builds get torch, first source first: index URLs (PEP 503 simple, "
        "e.g. https://download.pytorch.org/whl/cu130) or local folders of wheels (absolute "
        "paths or file:// URLs); '{variant}' and '{channel}' are filled in. One list for every "
        "variant, or lists per variant ({ cu130 = [...], cpu = [...] }; a variant not named "
        "keeps the catalog's sources). Default: the catalog's (PyTorch's own index).",
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="Extra environment for every build."
    )
    before_build: str | None = Field(
        default=None, description="Script run before each Python's build."
    )
    native_build: str | None = Field(
        default=None,
        description="Commands that build the Python-independent native core, once per job.",
    )
    smoke_test: str | None = Field(
        default=None, description="Smoke test: a script path in the project, or a command."
    )
    optional_modules: list[str] = Field(
        default_factory=list,
        description="Modules the import-all check of `wheelyard verify` does not import "
        "(dotted names or globs; a package covers its submodules), e.g. a backend that needs "
        "an optional dependency.",
    )
    needs_gpu_test: bool | None = Field(
        default=None, description="Run a separate GPU smoke test (default: true for GPU variants)."
    )
    consolidation: Consolidation = Field(
        default="per-variant",
        description="per-variant (one job per variant), per-python, or { groups = N }.",
    )
    system_packages: list[str] | dict[str, list[str]] = Field(
        default_factory=list,
        description="System packages the build needs (headers and libraries such as "
        "libyaml-dev), installed in the builder container before the build with the image's "
        "package manager: one list, or names per manager: { apt = [...], dnf = [...] }.",
    )
    cibuildwheel: dict[str, Any] = Field(
        default_factory=dict,
        description="Options that replace the package's own [tool.cibuildwheel] ones, key by "
        "key (a farm recipe for a package you do not own: e.g. a before-all written for another "
        "distribution's package manager).",
    )
    packages: list[str] = Field(
        default_factory=list,
        description="A repository of several packages: the sub-directories (each with its own "
        "pyproject.toml) that wheelyard builds, in order.",
    )
    catalog: dict[str, Any] = Field(
        default_factory=dict,
        description="Extend or override the accelerator catalog: 'variants' and 'runners' tables.",
    )
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Named overrides selected with --profile."
    )

    @field_validator("python", "variants", "platforms", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("platforms", mode="before")
    @classmethod
    def _platform_names(cls, value: object) -> object:
        known = [p.value for p in Platform] + [NATIVE_PLATFORM]
        if isinstance(value, list):
            unknown = [i for i in value if isinstance(i, str) and i not in known]
            if len(unknown) == 1:
                hint = did_you_mean(unknown[0], known)
                raise ValueError(
                    f"unknown platform {unknown[0]!r}"
                    + (f", {hint}" if hint else f"; known: {', '.join(known)}")
                )
            if unknown:  # every one at once, each with its closest name
                described = []
                for item in unknown:
                    hint = did_you_mean(item, known)
                    described.append(f"{item!r}" + (f" ({hint})" if hint else ""))
                raise ValueError(
                    f"unknown platforms {', '.join(described)}; known: {', '.join(known)}"
                )
        return value

    @field_validator("consolidation", mode="before")
    @classmethod
    def _consolidation(cls, value: object) -> object:
        if isinstance(value, Groups):
            return value
        if isinstance(value, str):
            if value in ("per-variant", "per-python"):
                return value
            match = re.fullmatch(r"groups\s*=\s*(\d+)", value.strip())
            if match:
                return Groups(groups=int(match.group(1)))
            hint = did_you_mean(value, ["per-variant", "per-python"])
            raise ValueError(
                f"unknown consolidation {value!r}"
                + (f", {hint}" if hint else "")
                + "; use 'per-variant', 'per-python' or { groups = N }"
            )
        if isinstance(value, dict):
            extra = sorted(set(value) - {"groups"})
            if extra:
                raise ValueError(f"unknown key(s) {', '.join(extra)}: only 'groups' is allowed")
            groups = value.get("groups")
            if isinstance(groups, bool) or not isinstance(groups, int) or not 1 <= groups <= 64:
                raise ValueError("'groups' must be a whole number from 1 to 64")
            return Groups(groups=groups)
        raise ValueError("use 'per-variant', 'per-python' or { groups = N }")

    @field_validator("python")
    @classmethod
    def _python_items(cls, value: list[str]) -> list[str]:
        problems = [p for p in (python_item_problem(item) for item in value) if p is not None]
        if problems:
            raise ValueError("; ".join(problems))
        if ABI3 in value and PY3 in value:
            raise ValueError("'abi3' and 'py3' exclude each other: choose one wheel kind")
        return value

    @field_validator("variants")
    @classmethod
    def _unique_variants(cls, value: list[str]) -> list[str]:
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"listed more than once: {', '.join(dupes)}")
        return value

    @field_validator("optional_modules", mode="before")
    @classmethod
    def _module_list(cls, value: object) -> object:
        """A string (``WHEELYARD_OPTIONAL_MODULES="a.b c.*"``) is split on spaces and commas."""
        if isinstance(value, str):
            return [item for item in value.replace(",", " ").split() if item]
        return value

    @field_validator("torch")
    @classmethod
    def _torch_spec(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            SpecifierSet(value)
        except InvalidSpecifier as exc:
            raise ValueError(
                f"{value!r} is not a version specifier; write e.g. '==2.9.*' or '>=2.8,<2.10'"
            ) from exc
        return value

    @field_validator("torch_index", mode="before")
    @classmethod
    def _torch_index_one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("torch_index")
    @classmethod
    def _torch_sources(
        cls, value: list[str] | dict[str, list[str]]
    ) -> list[str] | dict[str, list[str]]:
        lists = [value] if isinstance(value, list) else list(value.values())
        if isinstance(value, dict):
            bad_names = [n for n in value if not VARIANT_NAME.match(n)]
            if bad_names:
                raise ValueError(f"not a variant name: {', '.join(map(repr, bad_names))}")
        for sources in lists:
            for source in sources:
                problem = torch_source_problem(source)
                if problem is not None:
                    raise ValueError(problem)
        return value

    @field_validator("packages")
    @classmethod
    def _relative_dirs(cls, value: list[str]) -> list[str]:
        for item in value:
            if item.startswith("/") or ".." in item.split("/"):
                raise ValueError(f"{item!r} must be a relative path inside the repository")
        return value

    @field_validator("system_packages")
    @classmethod
    def _system_packages(
        cls, value: list[str] | dict[str, list[str]]
    ) -> list[str] | dict[str, list[str]]:
        names = value if isinstance(value, list) else [n for v in value.values() for n in v]
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(PACKAGE_MANAGERS))
            if unknown:
                hint = did_you_mean(unknown[0], PACKAGE_MANAGERS)
                raise ValueError(
                    f"unknown package manager(s) {', '.join(unknown)}"
                    + (f", {hint}" if hint else f"; known: {', '.join(PACKAGE_MANAGERS)}")
                )
        bad = [n for n in names if not SYSTEM_PACKAGE.match(n)]
        if bad:
            raise ValueError(f"not a package name: {', '.join(map(repr, bad))}")
        return value

    @field_validator("cibuildwheel")
    @classmethod
    def _cibuildwheel_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        known = cibuildwheel_option_names()
        for key in value:
            if key not in known:
                hint = did_you_mean(key, sorted(known))
                raise ValueError(
                    f"{key!r} is not a cibuildwheel option" + (f", {hint}" if hint else "")
                )
        return value

    @field_validator("catalog")
    @classmethod
    def _catalog_tables(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - {"variants", "runners", "providers", "torch"})
        if unknown:
            raise ValueError(
                f"unknown catalog table(s) {', '.join(unknown)}: "
                "only 'variants', 'runners', 'providers' and 'torch'"
            )
        return value

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for name, body in value.items():
            if not PROFILE_NAME.match(name):
                raise ValueError(f"profile name {name!r} must match {PROFILE_NAME.pattern}")
            for forbidden in ("profiles", "catalog"):
                if forbidden in body:
                    raise ValueError(f"profile {name!r} cannot set {forbidden!r}")
        return value

    @property
    def platform_names(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self.platforms)

    @property
    def uses_native_platform(self) -> bool:
        return NATIVE_PLATFORM in self.platform_names


RECIPE_KEYS: tuple[str, ...] = tuple(
    field.alias or name for name, field in Recipe.model_fields.items()
)
