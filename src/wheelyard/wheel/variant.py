"""PEP 825 variant wheels: the format version, properties, labels and variant file names.

A variant wheel carries a *label* after its platform tag
(``name-version-py-abi-platform-label.whl``) and ``*.dist-info/variant.json`` mapping that label
to its *properties* (``namespace :: feature :: value``). The label ``null`` is the variant with no
properties (wheelyard's CPU build). The document format lives in ``variants_json.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wheelyard.errors import VariantError, WheelError
from wheelyard.wheel.archive import WheelName, parse_name


@dataclass(frozen=True, kw_only=True)
class VariantFormat:
    """A version of the PEP 825 variant metadata format and the URL of its JSON schema."""

    version: str
    schema_url: str


VARIANT_FORMAT = VariantFormat(
    version="0.1.1",
    schema_url="https://variants-schema.wheelnext.dev/peps/825/v0.1.1.json",
)
"""The one place the PEP 825 format version is pinned (schema copy: schema/pep825/)."""

NULL_LABEL = "null"
LABEL = re.compile(r"^[0-9a-z_.]+$")
NAME = re.compile(r"^[a-z0-9_]+$")
"""Namespaces and feature names."""
VALUE = re.compile(r"^[a-z0-9_.]+$")
VARIANT_JSON = "variant.json"

KNOWN_NAMESPACES: tuple[str, ...] = ("nvidia", "amd", "intel", "x86_64", "aarch64")
"""Namespaces wheelyard can detect on a machine, in their default priority order."""


@dataclass(frozen=True, order=True)
class VariantProperty:
    """``namespace :: feature :: value``."""

    namespace: str
    feature: str
    value: str

    @classmethod
    def parse(cls, text: str) -> VariantProperty:
        parts = [part.strip() for part in text.split("::")]
        if len(parts) != 3:
            raise VariantError(
                f"{text!r} is not a variant property",
                hint="write it as 'namespace :: feature :: value', e.g. "
                "'nvidia :: cuda_version_lower_bound :: 12.8'",
            )
        prop = cls(*parts)
        prop.check()
        return prop

    def check(self) -> None:
        problems = []
        if not NAME.match(self.namespace):
            problems.append(f"namespace {self.namespace!r} must match {NAME.pattern}")
        if not NAME.match(self.feature):
            problems.append(f"feature {self.feature!r} must match {NAME.pattern}")
        if not VALUE.match(self.value):
            problems.append(f"value {self.value!r} must match {VALUE.pattern}")
        if problems:
            raise VariantError(f"invalid variant property {self}: {'; '.join(problems)}")

    @property
    def feature_key(self) -> tuple[str, str]:
        return (self.namespace, self.feature)

    def __str__(self) -> str:
        return f"{self.namespace} :: {self.feature} :: {self.value}"


def check_label(label: str) -> str:
    if not LABEL.match(label):
        raise VariantError(
            f"variant label {label!r} must match {LABEL.pattern}",
            hint="use lower-case letters, digits, '_' and '.' (variant names double as labels)",
        )
    return label


@dataclass(frozen=True, kw_only=True)
class Variant:
    """A label and the properties it stands for (none for the null variant)."""

    label: str
    properties: frozenset[VariantProperty]

    def __post_init__(self) -> None:
        check_label(self.label)
        for prop in self.properties:
            prop.check()
        if self.label == NULL_LABEL and self.properties:
            raise VariantError("the label 'null' is reserved for the variant without properties")
        if self.label != NULL_LABEL and not self.properties:
            raise VariantError(
                f"variant {self.label!r} has no properties",
                hint="a variant without properties is the null variant and must be labelled 'null'",
            )

    @property
    def is_null(self) -> bool:
        return not self.properties

    @property
    def namespaces(self) -> frozenset[str]:
        return frozenset(p.namespace for p in self.properties)

    def features(self) -> dict[tuple[str, str], frozenset[str]]:
        """Values per ``(namespace, feature)``: one must be compatible for each feature."""
        grouped: dict[tuple[str, str], set[str]] = {}
        for prop in self.properties:
            grouped.setdefault(prop.feature_key, set()).add(prop.value)
        return {key: frozenset(values) for key, values in sorted(grouped.items())}

    def to_json(self) -> dict[str, dict[str, list[str]]]:
        """The ``variants.{label}`` object: namespaces -> features -> sorted values."""
        out: dict[str, dict[str, list[str]]] = {}
        for (namespace, feature), values in self.features().items():
            out.setdefault(namespace, {})[feature] = sorted(values)
        return out

    @classmethod
    def from_json(cls, label: str, data: Mapping[str, Mapping[str, Iterable[str]]]) -> Variant:
        props = frozenset(
            VariantProperty(namespace, feature, value)
            for namespace, features in data.items()
            for feature, values in features.items()
            for value in values
        )
        return cls(label=label, properties=props)

    def describe(self) -> str:
        return ", ".join(str(p) for p in sorted(self.properties)) or "no properties"


def variant_of(name: str, properties: Iterable[str]) -> Variant:
    """The PEP 825 variant of build variant ``name`` (a catalog entry's ``properties``).

    Its label is the variant name, or ``null`` when it has no properties (CPU builds).
    """
    props = frozenset(VariantProperty.parse(text) for text in properties)
    unknown = sorted({p.namespace for p in props} - set(KNOWN_NAMESPACES))
    if unknown:
        raise VariantError(
            f"variant {name!r}: unknown property namespace(s) {', '.join(unknown)}",
            hint=f"wheelyard detects and orders the namespaces {', '.join(KNOWN_NAMESPACES)}; "
            "fix the catalog entry's properties",
        )
    return Variant(label=NULL_LABEL if not props else check_label(name), properties=props)


def check_distinct(variants: Iterable[Variant]) -> None:
    """One label, one property set; two labels with the same properties are an error too."""
    by_label: dict[str, Variant] = {}
    by_props: dict[frozenset[VariantProperty], str] = {}
    for variant in variants:
        known = by_label.setdefault(variant.label, variant)
        if known.properties != variant.properties:
            raise VariantError(
                f"variant label {variant.label!r} stands for two property sets: "
                f"[{known.describe()}] and [{variant.describe()}]",
                hint="every label must mean the same properties in all wheels of a release",
            )
        other = by_props.setdefault(variant.properties, variant.label)
        if other != variant.label:
            raise VariantError(
                f"variant labels {other!r} and {variant.label!r} have the same properties "
                f"[{variant.describe()}]",
                hint="an installer could not tell them apart; give one of them other properties",
            )


def namespace_order(variants: Iterable[Variant]) -> tuple[str, ...]:
    """The ``default-priorities.namespace`` list for ``variants``: known order, then others."""
    used = {ns for v in variants for ns in v.namespaces}
    known = [ns for ns in KNOWN_NAMESPACES if ns in used]
    return tuple(known + sorted(used - set(KNOWN_NAMESPACES)))


@dataclass(frozen=True, kw_only=True)
class VariantWheelName:
    """A wheel file name split into the PEP 427 part and the PEP 825 label (None: no variant)."""

    wheel: WheelName
    label: str | None

    @property
    def filename(self) -> str:
        return variant_filename(self.wheel.filename, self.label)


def parse_variant_filename(filename: str) -> VariantWheelName:
    """Split ``...-{platform tag}-{label}.whl``; a non-variant name has label None.

    PEP 825 tells the two apart by the third dash-separated part: a build tag starts with a
    digit, a Python tag never does.
    """
    if not filename.endswith(".whl"):
        raise WheelError(f"{filename}: not a wheel file name")
    parts = filename[: -len(".whl")].split("-")
    has_label = len(parts) == 7 or (len(parts) == 6 and not parts[2][:1].isdigit())
    if not has_label:
        return VariantWheelName(wheel=parse_name(filename), label=None)
    label = check_label(parts[-1])
    return VariantWheelName(wheel=parse_name("-".join(parts[:-1]) + ".whl"), label=label)


def variant_filename(base_filename: str, label: str | None) -> str:
    """``name-1.0-cp312-cp312-linux_x86_64.whl`` + ``cu128`` -> ``...-linux_x86_64-cu128.whl``."""
    if label is None:
        return base_filename
    return f"{base_filename.removesuffix('.whl')}-{check_label(label)}.whl"
