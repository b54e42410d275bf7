"""The PEP 825 variant metadata document: ``*.dist-info/variant.json`` in a variant wheel and
``{name}-{version}-variants.json`` on the index (same structure, one variant vs. all of them).

Parsing is strict (every problem found is reported at once); merging follows PEP 825: the
``default-priorities.namespace`` lists must be equal or one a prefix of the other (the longer
wins), and a label must map to the same properties everywhere. The result does not depend on
the order of the inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from wheelyard.errors import VariantError
from wheelyard.wheel.variant import (
    LABEL,
    NAME,
    NULL_LABEL,
    VALUE,
    VARIANT_FORMAT,
    Variant,
    check_distinct,
)

SCHEMA_KEY = "$schema"
PRIORITIES_KEY = "default-priorities"
NAMESPACE_KEY = "namespace"
VARIANTS_KEY = "variants"
PROVIDERS_KEY = "providers"
PROVIDER_KEYS = ("requires", "plugin-api", "optional")


@dataclass(frozen=True, kw_only=True)
class Provider:
    """A namespace's variant provider: what installs its plugin, and the plugin's object."""

    requires: tuple[str, ...]
    plugin_api: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"requires": list(self.requires)}
        if self.plugin_api is not None:
            data["plugin-api"] = self.plugin_api
        return data


@dataclass(frozen=True, kw_only=True)
class VariantMetadata:
    """``$schema``, ``default-priorities.namespace`` and ``variants`` (label -> properties)."""

    namespaces: tuple[str, ...]
    variants: Mapping[str, Variant] = field(default_factory=dict)
    providers: Mapping[str, Provider] = field(default_factory=dict)
    """One per namespace of ``namespaces`` (installers require exactly those); empty only for a
    document read without them."""
    schema: str = VARIANT_FORMAT.schema_url

    def __post_init__(self) -> None:
        check_distinct(self.variants.values())
        used = {ns for v in self.variants.values() for ns in v.namespaces}
        missing = sorted(used - set(self.namespaces))
        if missing:
            raise VariantError(
                f"default-priorities.namespace lacks {', '.join(missing)}, used by the variants",
                hint="the namespace list must name every namespace of every variant",
            )
        if self.providers and set(self.providers) != set(self.namespaces):
            raise VariantError(
                f"providers name {sorted(self.providers)} but default-priorities.namespace is "
                f"{list(self.namespaces)}",
                hint="installers require one provider for exactly each listed namespace",
            )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            SCHEMA_KEY: self.schema,
            PRIORITIES_KEY: {NAMESPACE_KEY: list(self.namespaces)},
        }
        if self.providers:
            data[PROVIDERS_KEY] = {ns: self.providers[ns].to_json() for ns in self.namespaces}
        data[VARIANTS_KEY] = {
            label: self.variants[label].to_json() for label in sorted(self.variants)
        }
        return data

    def render(self) -> bytes:
        """Deterministic bytes (the same document always gives the same hash)."""
        return (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")

    def only(self, label: str) -> VariantMetadata:
        """The ``variant.json`` of one wheel: the same priorities, one variant."""
        return VariantMetadata(
            namespaces=self.namespaces,
            variants={label: self.variants[label]},
            providers=self.providers,
            schema=self.schema,
        )


def parse_variant_metadata(
    raw: bytes | str | Mapping[str, Any], *, source: str, single: bool = False
) -> VariantMetadata:
    """Validate a variant.json (``single``: exactly one variant) or variants.json document."""
    if isinstance(raw, bytes | str):
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise VariantError(f"{source}: not valid JSON ({exc})") from exc
    else:
        data = raw
    if not isinstance(data, Mapping):
        raise VariantError(f"{source}: expected a JSON object")
    problems: list[str] = []
    extra = sorted(set(data) - {SCHEMA_KEY, PRIORITIES_KEY, VARIANTS_KEY, PROVIDERS_KEY})
    if extra:
        problems.append(f"unknown key(s) {', '.join(extra)}")
    schema = data.get(SCHEMA_KEY)
    if schema != VARIANT_FORMAT.schema_url:
        raise VariantError(
            f"{source}: variant metadata format {schema!r} is not supported",
            hint=f"wheelyard reads format {VARIANT_FORMAT.version} ({VARIANT_FORMAT.schema_url}); "
            "PEP 825 says an unknown format version makes the variant wheels unusable",
        )
    namespaces = _namespaces(data.get(PRIORITIES_KEY), problems)
    variants = _variants(data.get(VARIANTS_KEY), problems)
    providers = _providers(data.get(PROVIDERS_KEY), problems) if PROVIDERS_KEY in data else {}
    if PROVIDERS_KEY in data and not problems and not providers:
        problems.append(
            f"providers name [] but default-priorities.namespace is {namespaces} (installers "
            "require exactly one provider per listed namespace)"
        )
    if single and len(variants) != 1 and VARIANTS_KEY in data:
        problems.append(
            f"variants: a wheel's variant.json holds exactly one, found {len(variants)}"
        )
    if problems:
        raise VariantError(f"{source}: invalid variant metadata: " + "; ".join(problems))
    try:
        return VariantMetadata(namespaces=tuple(namespaces), variants=variants, providers=providers)
    except VariantError as exc:
        raise VariantError(f"{source}: {exc.message}", hint=exc.hint) from exc


def _providers(value: object, problems: list[str]) -> dict[str, Provider]:
    if not isinstance(value, Mapping):
        problems.append("providers: not an object")
        return {}
    out: dict[str, Provider] = {}
    for namespace, body in value.items():
        where = f"providers.{namespace}"
        if not isinstance(body, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        extra = sorted(set(body) - set(PROVIDER_KEYS))
        if extra:
            problems.append(f"{where}: unknown key(s) {', '.join(extra)}")
        requires = body.get("requires")
        if (
            not isinstance(requires, list)
            or not requires
            or not all(isinstance(r, str) for r in requires)
        ):
            problems.append(f"{where}.requires: must be a non-empty list of requirements")
            continue
        plugin_api = body.get("plugin-api")
        if plugin_api is not None and not isinstance(plugin_api, str):
            problems.append(f"{where}.plugin-api: must be a string")
            continue
        out[str(namespace)] = Provider(requires=tuple(requires), plugin_api=plugin_api)
    return out


def _namespaces(value: object, problems: list[str]) -> list[str]:
    if not isinstance(value, Mapping):
        problems.append("default-priorities: missing or not an object")
        return []
    extra = sorted(set(value) - {NAMESPACE_KEY})
    if extra:
        problems.append(f"default-priorities: unknown key(s) {', '.join(extra)}")
    names = value.get(NAMESPACE_KEY)
    if not isinstance(names, list) or not names:
        problems.append("default-priorities.namespace: must be a non-empty list")
        return []
    if len(set(map(str, names))) != len(names):
        problems.append("default-priorities.namespace: lists a namespace twice")
    bad = [n for n in names if not isinstance(n, str) or not NAME.match(n)]
    if bad:
        problems.append(f"default-priorities.namespace: invalid name(s) {bad!r}")
    return [n for n in names if isinstance(n, str)]


def _variants(value: object, problems: list[str]) -> dict[str, Variant]:
    if not isinstance(value, Mapping):
        problems.append("variants: missing or not an object")
        return {}
    out: dict[str, Variant] = {}
    for label, body in value.items():
        where = f"variants.{label}"
        if not isinstance(label, str) or not LABEL.match(label):
            problems.append(f"{where}: label must match {LABEL.pattern}")
            continue
        if not isinstance(body, Mapping):
            problems.append(f"{where}: must be an object")
            continue
        ok = True
        for namespace, features in body.items():
            if not NAME.match(str(namespace)) or not isinstance(features, Mapping):
                problems.append(f"{where}.{namespace}: invalid namespace or not an object")
                ok = False
                continue
            for feature, values in features.items():
                at = f"{where}.{namespace}.{feature}"
                if not NAME.match(str(feature)):
                    problems.append(f"{at}: feature name must match {NAME.pattern}")
                    ok = False
                elif (
                    not isinstance(values, list)
                    or not values
                    or len(set(map(str, values))) != len(values)
                    or not all(isinstance(v, str) and VALUE.match(v) for v in values)
                ):
                    problems.append(f"{at}: must be a non-empty list of unique values")
                    ok = False
        if not ok:
            continue
        if (label == NULL_LABEL) != (not any(body.values())):
            problems.append(f"{where}: the label 'null' is exactly the variant without properties")
            continue
        try:
            out[label] = Variant.from_json(label, body)
        except VariantError as exc:
            problems.append(f"{where}: {exc.message}")
    return out


def merge_metadata(documents: Iterable[VariantMetadata], *, source: str) -> VariantMetadata:
    """Combine variant metadata of wheels of one release (PEP 825 rules), order-independent."""
    docs = list(documents)
    if not docs:
        raise VariantError(f"{source}: no variant metadata to merge")
    ordered = sorted((d.namespaces for d in docs), key=len)
    longest = ordered[-1]
    for names in ordered:
        if longest[: len(names)] != names:
            raise VariantError(
                f"{source}: default-priorities.namespace differs between wheels: "
                f"{list(names)} vs {list(longest)}",
                hint="one list must start with the other; rebuild the variants with one catalog",
            )
    providers: dict[str, Provider] = {}
    for doc in docs:
        for namespace, provider in doc.providers.items():
            if providers.setdefault(namespace, provider) != provider:
                raise VariantError(
                    f"{source}: the provider of {namespace!r} differs between wheels",
                    hint="publish every variant of a release with one catalog",
                )
    variants: dict[str, Variant] = {}
    for doc in docs:
        for label, variant in doc.variants.items():
            known = variants.setdefault(label, variant)
            if known != variant:
                raise VariantError(
                    f"{source}: variant {label!r} means [{known.describe()}] in one wheel and "
                    f"[{variant.describe()}] in another",
                    hint="every wheel of a release must give a label the same properties",
                )
    try:
        return VariantMetadata(
            namespaces=longest,
            variants=variants,
            providers={ns: providers[ns] for ns in longest if ns in providers}
            if set(longest) <= set(providers)
            else {},
        )
    except VariantError as exc:
        raise VariantError(f"{source}: {exc.message}", hint=exc.hint) from exc


def wheel_name_part(name: str) -> str:
    """A project name as wheel file names spell it (``cuda-kernels`` -> ``cuda_kernels``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def variants_json_filename(name: str, version: str) -> str:
    """``{name}-{version}-variants.json``, normalised as in wheel file names."""
    try:
        normalized = str(Version(version))
    except InvalidVersion as exc:
        raise VariantError(f"{version!r} is not a valid version") from exc
    return f"{wheel_name_part(name)}-{normalized}-variants.json"
