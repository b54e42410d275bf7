"""A wheel's ``METADATA`` (core metadata, parsed by packaging) and ``WHEEL`` file.

``parse_metadata`` never raises for bad content: it returns the problems packaging found, split
into those that make the metadata unusable (name, version, requirement specifiers ...) and
compatibility notes that installers tolerate (a field newer than the declared
Metadata-Version, a field packaging does not know).
"""

from __future__ import annotations

import email.parser
import email.policy
from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.metadata import InvalidMetadata, Metadata, parse_email
from packaging.tags import Tag, parse_tag

DECISIVE_FIELDS = frozenset(
    {
        "metadata-version",
        "name",
        "version",
        "requires-dist",
        "requires-python",
        "provides-extra",
        "dynamic",
    }
)
"""Fields whose invalid value makes a wheel unusable (resolution and installation read them)."""


@dataclass(frozen=True, kw_only=True)
class MetadataProblem:
    field: str
    message: str


@dataclass(frozen=True, kw_only=True)
class ParsedMetadata:
    metadata: Metadata | None
    """None when a decisive field is invalid."""
    problems: tuple[MetadataProblem, ...] = ()
    """Invalid decisive fields (name, version, requirement specifiers ...)."""
    notes: tuple[MetadataProblem, ...] = ()
    """Other problems packaging reports, which installers tolerate."""
    fields: Mapping[str, object] = field(default_factory=dict)
    """The raw fields, for comparing two wheels field by field."""


def _flatten(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for exc in group.exceptions for leaf in _flatten(exc)]
    return [group]


def metadata_fields(text: str) -> dict[str, object]:
    """Every field, as packaging's raw parse gives it, plus fields it could not parse."""
    raw, unparsed = parse_email(text)
    fields: dict[str, object] = {str(k): v for k, v in raw.items()}
    for key, values in unparsed.items():
        fields[key.lower()] = values
    return fields


def parse_metadata(text: str) -> ParsedMetadata:
    fields = metadata_fields(text)
    problems: list[MetadataProblem] = []
    notes: list[MetadataProblem] = []
    try:
        metadata = Metadata.from_email(text, validate=True)
    except* InvalidMetadata as group:
        for exc in _flatten(group):
            assert isinstance(exc, InvalidMetadata)
            problem = MetadataProblem(field=exc.field, message=str(exc))
            (problems if exc.field in DECISIVE_FIELDS else notes).append(problem)
    else:
        return ParsedMetadata(metadata=metadata, fields=fields)
    # packaging collects its errors in no fixed order: sort them for a stable report.
    problems.sort(key=lambda p: (p.field, p.message))
    notes.sort(key=lambda p: (p.field, p.message))
    if problems:
        return ParsedMetadata(
            metadata=None, problems=tuple(problems), notes=tuple(notes), fields=fields
        )
    # Only tolerated problems: parse again without validation for the usable values.
    lenient = Metadata.from_email(text, validate=False)
    return ParsedMetadata(metadata=lenient, notes=tuple(notes), fields=fields)


@dataclass(frozen=True, kw_only=True)
class WheelFile:
    """The ``WHEEL`` file: ``Wheel-Version``, ``Generator``, ``Root-Is-Purelib``, ``Tag``."""

    wheel_version: str | None
    generator: str | None
    root_is_purelib: bool | None
    tags: tuple[str, ...]
    build: str | None
    fields: Mapping[str, tuple[str, ...]]

    @property
    def tag_set(self) -> frozenset[Tag]:
        return frozenset(tag for text in self.tags for tag in parse_tag(text))


def parse_wheel_file(text: str) -> WheelFile:
    message = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
    fields: dict[str, tuple[str, ...]] = {}
    for key in message:
        fields.setdefault(key, tuple(str(v).strip() for v in message.get_all(key, [])))

    def one(name: str) -> str | None:
        values = message.get_all(name)
        return str(values[0]).strip() if values else None

    purelib = one("Root-Is-Purelib")
    return WheelFile(
        wheel_version=one("Wheel-Version"),
        generator=one("Generator"),
        root_is_purelib=None if purelib is None else purelib.lower() == "true",
        tags=tuple(str(v).strip() for v in message.get_all("Tag", [])),
        build=one("Build"),
        fields=fields,
    )
