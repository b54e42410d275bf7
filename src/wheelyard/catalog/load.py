"""Read the shipped catalog data file, merge a recipe's extension, validate every entry."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from wheelyard.catalog.model import Catalog
from wheelyard.config.accelerator import (
    VARIANT_NAME,
    PlatformEntry,
    ProviderEntry,
    RunnerEntry,
    TorchSources,
    VariantEntry,
)
from wheelyard.config.problems import problems_from
from wheelyard.config.vocab import Platform
from wheelyard.errors import CatalogError, Problem

M = TypeVar("M", bound=BaseModel)

DATA_FILE = "accelerators.toml"
SHIPPED_SOURCE = f"wheelyard catalog ({DATA_FILE})"


def shipped_data() -> dict[str, Any]:
    text = resources.files("wheelyard.catalog").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


def _validate_table(
    table: Mapping[str, Any],
    model: type[M],
    section: str,
    source_of: Callable[[str], str],
    problems: list[Problem],
) -> dict[str, M]:
    out: dict[str, M] = {}
    for name, body in table.items():
        key = f"{section}.{name}"
        if not isinstance(body, Mapping):
            problems.append(Problem(source=source_of(key), key=key, message="must be a table"))
            continue
        try:
            out[name] = model.model_validate(body)
        except ValidationError as exc:
            problems.extend(problems_from(exc, model=model, source_of=source_of, prefix=key))
    return out


def load_catalog(
    extension: Mapping[str, Any] | None = None,
    *,
    extension_source: Callable[[str], str] | None = None,
) -> Catalog:
    """The shipped catalog with ``extension`` (a recipe's ``catalog`` table) merged on top.

    An extension entry for an existing variant patches it key by key; a new name adds a variant
    (then ``kind`` and ``platforms`` are required). ``extension_source`` names where each key of
    the extension came from, for error messages.
    """
    data = shipped_data()
    extension = extension or {}
    touched: set[str] = set()
    for section in ("variants", "runners", "providers"):
        for name, patch in (extension.get(section) or {}).items():
            if not isinstance(patch, Mapping):
                data.setdefault(section, {})[name] = patch
            else:
                data.setdefault(section, {})[name] = {**data[section].get(name, {}), **patch}
            touched.add(f"catalog.{section}.{name}")

    def source_of(key: str) -> str:
        recipe_key = f"catalog.{key}"
        if extension_source is not None and any(
            recipe_key == t or recipe_key.startswith(f"{t}.") for t in touched
        ):
            return extension_source(recipe_key)
        return SHIPPED_SOURCE

    problems: list[Problem] = []
    for name in data["variants"]:
        if not VARIANT_NAME.match(name):
            problems.append(
                Problem(
                    source=source_of(f"variants.{name}"),
                    key=f"variants.{name}",
                    message=f"variant name must match {VARIANT_NAME.pattern} (PEP 825 labels)",
                )
            )
    variants = _validate_table(data["variants"], VariantEntry, "variants", source_of, problems)
    runners = _validate_table(data["runners"], RunnerEntry, "runners", source_of, problems)
    raw_platforms = _validate_table(
        data["platforms"], PlatformEntry, "platforms", source_of, problems
    )
    platforms: dict[Platform, PlatformEntry] = {}
    for name, entry in raw_platforms.items():
        try:
            platforms[Platform(name)] = entry
        except ValueError:
            problems.append(
                Problem(
                    source=source_of(f"platforms.{name}"),
                    key=f"platforms.{name}",
                    message="unknown platform name",
                )
            )
    providers = _validate_table(
        data.get("providers", {}), ProviderEntry, "providers", source_of, problems
    )
    _check_properties_unique(variants, source_of, problems)
    for name, variant in variants.items():
        for namespace in sorted({p.split("::", 1)[0].strip() for p in variant.properties}):
            if namespace not in providers:
                problems.append(
                    Problem(
                        source=source_of(f"variants.{name}"),
                        key=f"variants.{name}.properties",
                        message=f"namespace {namespace!r} has no variant provider",
                        hint=f"add [providers.{namespace}] (requires, plugin-api) to the catalog: "
                        "installers ignore variants whose namespace has no provider",
                    )
                )
    torch: TorchSources | None = None
    if "torch" in extension:
        touched.add("catalog.torch")
    raw_torch = {**(data.get("torch") or {}), **(extension.get("torch") or {})}
    if raw_torch:
        try:
            torch = TorchSources.model_validate(raw_torch)
        except ValidationError as exc:
            problems.extend(
                problems_from(exc, model=TorchSources, source_of=source_of, prefix="torch")
            )
    if problems:
        raise CatalogError(problems, hint="fix the catalog entries above")
    return Catalog(
        variants=variants, platforms=platforms, runners=runners, providers=providers, torch=torch
    )


def _check_properties_unique(
    variants: Mapping[str, VariantEntry],
    source_of: Callable[[str], str],
    problems: list[Problem],
) -> None:
    """Two GPU variants with the same PEP 825 properties could never be told apart."""
    seen: dict[frozenset[str], str] = {}
    for name, entry in variants.items():
        if not entry.properties:
            continue
        props = frozenset(entry.properties)
        if props in seen:
            problems.append(
                Problem(
                    source=source_of(f"variants.{name}"),
                    key=f"variants.{name}.properties",
                    message=f"same variant properties as {seen[props]!r}",
                    hint="an installer could not choose between them; change one of them",
                )
            )
        seen.setdefault(props, name)
