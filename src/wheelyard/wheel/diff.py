"""Compare two wheels: files, tags, METADATA field by field, and what each ELF file needs and
offers, then decide whether they are *functionally equivalent*.

The rule (docs/verify.md says the same): two wheels are functionally equivalent when

1. their tags are equal;
2. they hold the same files (the ``.dist-info``/``.data`` folder names aligned) with the same
   permission bits;
3. every file is byte-identical, except
   - ``RECORD`` (derived from the other files),
   - ``WHEEL``, compared field by field without ``Generator``,
   - ``METADATA``, where only the fields that steer resolution and installation must be equal
     (:data:`DECISIVE_METADATA`); descriptive fields are reported but do not count,
   - ``*.dist-info/sboms/*`` (build provenance), reported only,
   - ELF files, which must agree on machine, type, ``NEEDED``, ``RPATH``, ``RUNPATH``, needed
     symbol versions, exported dynamic symbols and the bytes of every loaded section except the
     build-id note; sections that are not loaded (debug info, ``.symtab``, ``.comment``) and the
     build id may differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wheelyard.errors import WheelError
from wheelyard.wheel.archive import Wheel
from wheelyard.wheel.elf import ElfInfo, is_elf, read_elf
from wheelyard.wheel.metadata import metadata_fields, parse_wheel_file

DECISIVE_METADATA = frozenset(
    {
        "name",
        "version",
        "requires_python",
        "requires_dist",
        "provides_extra",
        "requires_external",
        "provides_dist",
        "obsoletes_dist",
    }
)
IGNORED_WHEEL_FIELDS = frozenset({"Generator"})
VERSION_FAMILIES = ("GLIBC", "GLIBCXX", "CXXABI")


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    MODE = "mode"


@dataclass(frozen=True, kw_only=True)
class FileChange:
    path: str
    change: ChangeKind
    old_size: int | None
    new_size: int | None
    decisive: bool
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": str(self.change),
            "old_size": self.old_size,
            "new_size": self.new_size,
            "decisive": self.decisive,
            "note": self.note,
        }


@dataclass(frozen=True, kw_only=True)
class FieldChange:
    field: str
    old: Any
    new: Any
    decisive: bool

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "old": self.old, "new": self.new, "decisive": self.decisive}


@dataclass(frozen=True, kw_only=True)
class ElfChange:
    path: str
    facts: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    """machine, type, rpath, runpath, highest GLIBC/GLIBCXX/CXXABI: (old, new) when different."""
    needed_added: tuple[str, ...] = ()
    needed_removed: tuple[str, ...] = ()
    versions_added: tuple[str, ...] = ()
    versions_removed: tuple[str, ...] = ()
    exports_added: tuple[str, ...] = ()
    exports_removed: tuple[str, ...] = ()
    sections_changed: tuple[str, ...] = ()
    """Loaded sections whose bytes differ, or that only one side has."""

    @property
    def interface_changed(self) -> bool:
        return bool(
            self.facts
            or self.needed_added
            or self.needed_removed
            or self.versions_added
            or self.versions_removed
            or self.exports_added
            or self.exports_removed
        )

    @property
    def decisive(self) -> bool:
        return self.interface_changed or bool(self.sections_changed)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "facts": {k: {"old": o, "new": n} for k, (o, n) in self.facts.items()},
            "needed_added": list(self.needed_added),
            "needed_removed": list(self.needed_removed),
            "versions_added": list(self.versions_added),
            "versions_removed": list(self.versions_removed),
            "exports_added": list(self.exports_added),
            "exports_removed": list(self.exports_removed),
            "sections_changed": list(self.sections_changed),
            "decisive": self.decisive,
        }


@dataclass(frozen=True, kw_only=True)
class _Member:
    sha256: str
    size: int
    mode: int
    elf: ElfInfo | None = None
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class _Side:
    path: Path
    tags: tuple[str, ...]
    dist_info: str
    members: Mapping[str, _Member]


@dataclass(frozen=True, kw_only=True)
class WheelDiff:
    old: Path
    new: Path
    old_tags: tuple[str, ...]
    new_tags: tuple[str, ...]
    files: tuple[FileChange, ...]
    wheel_fields: tuple[FieldChange, ...]
    metadata: tuple[FieldChange, ...]
    elf: tuple[ElfChange, ...]
    unchanged_elf: tuple[str, ...] = ()
    """ELF files present on both sides whose facts are identical (listed for the report)."""
    elf_summary: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The new side's ELF facts, per file (NEEDED, RPATH, highest GLIBC ...)."""
    built_against: tuple[FieldChange, ...] = ()
    """What the two builds' records say each was built against, where it differs (the exact
    torch, ABI-carrying build dependencies): not in the files, so filled in by the caller."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the wheels are not functionally equivalent (empty: they are)."""
        out: list[str] = []
        if self.old_tags != self.new_tags:
            out.append(f"tags differ: {', '.join(self.old_tags)} -> {', '.join(self.new_tags)}")
        for change in self.files:
            if change.decisive:
                out.append(
                    f"{change.path}: {change.change}{f' ({change.note})' if change.note else ''}"
                )
        out.extend(
            f"WHEEL {c.field}: {c.old!r} -> {c.new!r}" for c in self.wheel_fields if c.decisive
        )
        out.extend(
            f"METADATA {c.field}: {c.old!r} -> {c.new!r}" for c in self.metadata if c.decisive
        )
        out.extend(
            f"built against {c.field}: {c.old!r} -> {c.new!r}"
            for c in self.built_against
            if c.decisive
        )
        for elf_change in self.elf:
            if elf_change.interface_changed:
                out.append(f"{elf_change.path}: ELF interface differs")
            if elf_change.sections_changed:
                sections = ", ".join(elf_change.sections_changed)
                out.append(f"{elf_change.path}: loaded sections differ ({sections})")
        return tuple(out)

    @property
    def equivalent(self) -> bool:
        return not self.reasons

    def to_json(self) -> dict[str, Any]:
        return {
            "old": str(self.old),
            "new": str(self.new),
            "equivalent": self.equivalent,
            "reasons": list(self.reasons),
            "tags": {"old": list(self.old_tags), "new": list(self.new_tags)},
            "files": [c.to_json() for c in self.files],
            "wheel": [c.to_json() for c in self.wheel_fields],
            "metadata": [c.to_json() for c in self.metadata],
            "elf": [c.to_json() for c in self.elf],
            "elf_unchanged": list(self.unchanged_elf),
            "elf_facts": {k: dict(v) for k, v in self.elf_summary.items()},
            "built_against": [c.to_json() for c in self.built_against],
        }


def _read_side(path: Path, max_member_bytes: int) -> _Side:
    with Wheel(path, max_member_bytes=max_member_bytes) as wheel:
        dist_info = wheel.dist_info
        modes = wheel.modes()
        members: dict[str, _Member] = {}
        for name in wheel.names:
            data = wheel.read(name)
            elf = None
            if is_elf(data):
                try:
                    elf = read_elf(data, where=f"{path.name}: {name}")
                except WheelError:
                    elf = None  # compared byte for byte instead
            text = None
            if name in (f"{dist_info}/METADATA", f"{dist_info}/WHEEL"):
                text = data.decode("utf-8", errors="replace")
            members[name] = _Member(
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
                mode=modes.get(name, 0),
                elf=elf,
                text=text,
            )
        tags = tuple(sorted(wheel.name.tag_triples))
    return _Side(path=path, tags=tags, dist_info=dist_info, members=members)


def _aligned(side: _Side, dist_info: str) -> dict[str, _Member]:
    """Member names with this side's ``.dist-info``/``.data`` folders renamed to ``dist_info``'s."""
    old_stem = side.dist_info.removesuffix(".dist-info")
    new_stem = dist_info.removesuffix(".dist-info")
    out: dict[str, _Member] = {}
    for name, member in side.members.items():
        aligned = name
        for suffix in (".dist-info/", ".data/"):
            prefix = old_stem + suffix
            if name.startswith(prefix):
                aligned = new_stem + suffix + name[len(prefix) :]
                break
        out[aligned] = member
    return out


def _field_changes(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    decisive: frozenset[str] | None,
    ignored: frozenset[str],
) -> list[FieldChange]:
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in ignored:
            continue
        a, b = old.get(key), new.get(key)
        if a != b:
            changes.append(
                FieldChange(
                    field=key,
                    old=a,
                    new=b,
                    decisive=True if decisive is None else key in decisive,
                )
            )
    return changes


def _elf_change(path: str, old: ElfInfo, new: ElfInfo) -> ElfChange:
    facts: dict[str, tuple[Any, Any]] = {}
    for key, a, b in (
        ("machine", old.machine, new.machine),
        ("type", old.elf_type, new.elf_type),
        ("class", old.elf_class, new.elf_class),
        ("soname", old.soname, new.soname),
        ("rpath", list(old.rpath), list(new.rpath)),
        ("runpath", list(old.runpath), list(new.runpath)),
    ):
        if a != b:
            facts[key] = (a, b)
    for family in VERSION_FAMILIES:
        a, b = old.highest(family), new.highest(family)
        if a != b:
            facts[f"highest {family}"] = (a, b)
    sections = sorted(
        name
        for name in set(old.sections) | set(new.sections)
        if old.sections.get(name) != new.sections.get(name)
    )
    return ElfChange(
        path=path,
        facts=facts,
        needed_added=tuple(n for n in new.needed if n not in old.needed),
        needed_removed=tuple(n for n in old.needed if n not in new.needed),
        versions_added=tuple(sorted(new.all_versions - old.all_versions)),
        versions_removed=tuple(sorted(old.all_versions - new.all_versions)),
        exports_added=tuple(sorted(new.exported - old.exported)),
        exports_removed=tuple(sorted(old.exported - new.exported)),
        sections_changed=tuple(sections),
    )


def _summary(elf: ElfInfo) -> dict[str, Any]:
    return {
        "needed": list(elf.needed),
        "rpath": list(elf.rpath),
        "runpath": list(elf.runpath),
        **{f"highest {family}": elf.highest(family) for family in VERSION_FAMILIES},
        "exported": len(elf.exported),
    }


def diff_wheels(old: Path, new: Path, *, max_member_bytes: int = 1024 * 1024 * 1024) -> WheelDiff:
    """Compare two wheel files; raise :class:`WheelError` when either cannot be read."""
    a = _read_side(old, max_member_bytes)
    b = _read_side(new, max_member_bytes)
    old_members = _aligned(a, b.dist_info)
    new_members = dict(b.members)
    dist = b.dist_info
    record, metadata_path, wheel_path = f"{dist}/RECORD", f"{dist}/METADATA", f"{dist}/WHEEL"
    files: list[FileChange] = []
    elf_changes: list[ElfChange] = []
    unchanged_elf: list[str] = []
    wheel_fields: list[FieldChange] = []
    metadata: list[FieldChange] = []
    for path in sorted(set(old_members) | set(new_members)):
        before, after = old_members.get(path), new_members.get(path)
        provenance = path.startswith(f"{dist}/sboms/")
        if before is None or after is None:
            assert before is not None or after is not None
            files.append(
                FileChange(
                    path=path,
                    change=ChangeKind.ADDED if before is None else ChangeKind.REMOVED,
                    old_size=before.size if before else None,
                    new_size=after.size if after else None,
                    decisive=not provenance,
                )
            )
            continue
        if before.mode != after.mode:
            files.append(
                FileChange(
                    path=path,
                    change=ChangeKind.MODE,
                    old_size=before.size,
                    new_size=after.size,
                    decisive=True,
                    note=f"{before.mode:o} -> {after.mode:o}",
                )
            )
        if before.elf is not None and after.elf is not None:
            change = _elf_change(path, before.elf, after.elf)
            if change.decisive:
                elf_changes.append(change)
            else:
                unchanged_elf.append(path)
        if before.sha256 == after.sha256:
            continue
        decisive = True
        note = ""
        if path == record:
            decisive, note = False, "derived from the other files"
        elif provenance:
            decisive, note = False, "build provenance"
        elif path == wheel_path and before.text is not None and after.text is not None:
            wheel_fields = _field_changes(
                dict(parse_wheel_file(before.text).fields),
                dict(parse_wheel_file(after.text).fields),
                None,
                IGNORED_WHEEL_FIELDS,
            )
            decisive, note = False, "compared field by field"
        elif path == metadata_path and before.text is not None and after.text is not None:
            metadata = _field_changes(
                metadata_fields(before.text),
                metadata_fields(after.text),
                DECISIVE_METADATA,
                frozenset(),
            )
            decisive, note = False, "compared field by field"
        elif before.elf is not None and after.elf is not None:
            changed = next((c for c in elf_changes if c.path == path), None)
            decisive = changed is not None  # judged by its ELF comparison
            note = (
                "same interface and loaded code; other sections differ"
                if changed is None
                else "ELF differs"
            )
        files.append(
            FileChange(
                path=path,
                change=ChangeKind.CHANGED,
                old_size=before.size,
                new_size=after.size,
                decisive=decisive,
                note=note,
            )
        )
    summary = {path: _summary(m.elf) for path, m in sorted(new_members.items()) if m.elf}
    return WheelDiff(
        old=old,
        new=new,
        old_tags=a.tags,
        new_tags=b.tags,
        files=tuple(files),
        wheel_fields=tuple(wheel_fields),
        metadata=tuple(metadata),
        elf=tuple(elf_changes),
        unchanged_elf=tuple(unchanged_elf),
        elf_summary=summary,
    )


@dataclass(frozen=True, kw_only=True)
class FolderDiff:
    """Two folders of wheels matched by relative path."""

    old: Path
    new: Path
    pairs: tuple[WheelDiff, ...]
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]

    @property
    def equivalent(self) -> bool:
        return not self.only_old and not self.only_new and all(p.equivalent for p in self.pairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "old": str(self.old),
            "new": str(self.new),
            "equivalent": self.equivalent,
            "only_old": list(self.only_old),
            "only_new": list(self.only_new),
            "wheels": [p.to_json() for p in self.pairs],
        }


def diff_folders(old: Path, new: Path, *, max_member_bytes: int = 1024 * 1024 * 1024) -> FolderDiff:
    """Compare the wheels of two folders (searched recursively), matched by relative path."""
    old_wheels = {p.relative_to(old).as_posix(): p for p in sorted(old.rglob("*.whl"))}
    new_wheels = {p.relative_to(new).as_posix(): p for p in sorted(new.rglob("*.whl"))}
    pairs = tuple(
        diff_wheels(old_wheels[name], new_wheels[name], max_member_bytes=max_member_bytes)
        for name in sorted(set(old_wheels) & set(new_wheels))
    )
    return FolderDiff(
        old=old,
        new=new,
        pairs=pairs,
        only_old=tuple(sorted(set(old_wheels) - set(new_wheels))),
        only_new=tuple(sorted(set(new_wheels) - set(old_wheels))),
    )
