"""Is a wheel file well-formed? Every structural problem of the archive, found in one pass.

The zip container (one end record, no data before or after it, no absolute or ``..`` paths, no
duplicate names, no encrypted members, sizes within limits so a zip bomb is refused before
anything is inflated), the ``.dist-info`` folder, RECORD (complete; every hash and size right),
``WHEEL`` (tags equal to the file name's) and ``METADATA`` (packaging's parser; name and version
equal to the file name's). Reading is bounded by :class:`Limits`. Nothing here raises for a bad
wheel: problems are data, each with a stable ``code`` and a precise message.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from wheelyard.errors import WheelError
from wheelyard.wheel.archive import Wheel, WheelName, parse_name, parse_record, record_hash
from wheelyard.wheel.elf import is_binary, is_elf
from wheelyard.wheel.metadata import ParsedMetadata, WheelFile, parse_metadata, parse_wheel_file

EOCD_SIGNATURE = b"PK\x05\x06"
LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
EOCD_SIZE = 22
MAX_COMMENT = 0xFFFF
UNHASHED = re.compile(r"^[^/]+\.dist-info/RECORD(\.jws|\.p7s)?$")
"""RECORD itself and its signatures carry no hash in RECORD."""


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Bounds on what reading a wheel may inflate (a zip bomb hits one of them)."""

    max_member_bytes: int = 1024 * 1024 * 1024
    max_total_bytes: int = 8 * 1024 * 1024 * 1024
    max_members: int = 200_000
    max_ratio: int = 100
    """How many times its compressed size a large member may inflate to: real files (code,
    data, debug info) compress 2-20x; a run of zeros compresses ~1000x."""
    ratio_floor_bytes: int = 16 * 1024 * 1024
    """Members smaller than this are never refused for their ratio (a sparse table, a font)."""


@dataclass(frozen=True, kw_only=True)
class ArchiveProblem:
    code: str
    message: str
    path: str | None = None
    """The member the problem is about, if any."""
    fatal: bool = False
    """The archive must not be extracted or installed (later checks are skipped)."""


@dataclass(frozen=True, kw_only=True)
class ArchiveReport:
    path: Path
    problems: tuple[ArchiveProblem, ...]
    name: WheelName | None = None
    dist_info: str | None = None
    files: Mapping[str, int] = field(default_factory=dict)
    """Member -> uncompressed size, in archive order."""
    binaries: tuple[str, ...] = ()
    """Members holding native code (ELF, Mach-O, PE)."""
    elf_files: tuple[str, ...] = ()
    metadata: ParsedMetadata | None = None
    wheel_file: WheelFile | None = None
    notes: tuple[str, ...] = ()

    @property
    def fatal(self) -> bool:
        return any(p.fatal for p in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems


def _end_record_problems(path: Path) -> list[ArchiveProblem]:
    """Data before the first local header or after the end record (which zipfile tolerates)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(4)
        tail_start = max(0, size - EOCD_SIZE - MAX_COMMENT)
        fh.seek(tail_start)
        tail = fh.read()
    at = tail.rfind(EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < EOCD_SIZE:
        if head == LOCAL_HEADER_SIGNATURE:
            message = (
                "truncated: the file starts like a zip archive but has no end-of-central-"
                f"directory record ({size} bytes)"
            )
            return [ArchiveProblem(code="truncated", message=message, fatal=True)]
        return [
            ArchiveProblem(
                code="not-a-zip",
                message=f"not a zip archive: no end-of-central-directory record ({size} bytes)",
                fatal=True,
            )
        ]
    (comment_length,) = struct.unpack("<H", tail[at + 20 : at + 22])
    end = tail_start + at + EOCD_SIZE + comment_length
    problems: list[ArchiveProblem] = []
    if end < size:
        problems.append(
            ArchiveProblem(
                code="trailing-data",
                message=f"{size - end} bytes of data after the end of the zip archive",
                fatal=True,
            )
        )
    elif end > size:
        problems.append(
            ArchiveProblem(
                code="truncated",
                message=f"truncated: the zip comment runs {end - size} bytes past the file end",
                fatal=True,
            )
        )
    if head != LOCAL_HEADER_SIGNATURE and not (
        head == EOCD_SIGNATURE and size == EOCD_SIZE + comment_length
    ):
        problems.append(
            ArchiveProblem(
                code="leading-data",
                message="data before the first zip member (the file does not start with a "
                "local file header)",
                fatal=True,
            )
        )
    return problems


def unsafe_path_reason(name: str) -> str | None:
    """Why extracting member ``name`` could write outside the target folder, or None."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if "\0" in name:
        return "NUL byte in path"
    parts = name.split("/")
    if ".." in parts:
        return "'..' path component"
    if posixpath.normpath(name).startswith("../"):
        return "path leaves the archive root"
    return None


def _member_problems(infos: list[zipfile.ZipInfo], limits: Limits) -> list[ArchiveProblem]:
    problems: list[ArchiveProblem] = []
    if len(infos) > limits.max_members:
        problems.append(
            ArchiveProblem(
                code="too-many-members",
                message=f"{len(infos)} members, over the limit of {limits.max_members}",
                fatal=True,
            )
        )
    for info in infos:
        reason = unsafe_path_reason(info.filename)
        if reason is not None:
            problems.append(
                ArchiveProblem(
                    code="unsafe-path",
                    message=f"member {info.filename!r}: {reason}; extracting it could write "
                    "outside the target folder",
                    path=info.filename,
                    fatal=True,
                )
            )
        if info.flag_bits & 0x1:
            problems.append(
                ArchiveProblem(
                    code="encrypted-member",
                    message=f"member {info.filename} is encrypted",
                    path=info.filename,
                    fatal=True,
                )
            )
        if info.file_size > limits.max_member_bytes:
            problems.append(
                ArchiveProblem(
                    code="too-large",
                    message=f"member {info.filename} inflates to {info.file_size} bytes, over "
                    f"the limit of {limits.max_member_bytes} bytes per file (zip bomb?)",
                    path=info.filename,
                    fatal=True,
                )
            )
        inflates = info.file_size / max(info.compress_size, 1)
        if info.file_size >= limits.ratio_floor_bytes and inflates > limits.max_ratio:
            problems.append(
                ArchiveProblem(
                    code="too-large",
                    message=f"member {info.filename} inflates {inflates:.0f}-fold, from "
                    f"{info.compress_size} to {info.file_size} bytes, over the limit of "
                    f"{limits.max_ratio}-fold for files of {limits.ratio_floor_bytes} bytes "
                    "or more (zip bomb?)",
                    path=info.filename,
                    fatal=True,
                )
            )
    by_case: dict[str, list[str]] = {}
    for info in infos:
        by_case.setdefault(info.filename.casefold(), []).append(info.filename)
    for names in by_case.values():
        if len(set(names)) > 1:
            shown = " and ".join(sorted(set(names)))
            problems.append(
                ArchiveProblem(
                    code="case-collision",
                    message=f"members {shown} differ only in case: on macOS and Windows one "
                    "overwrites the other",
                    path=names[0],
                    fatal=True,
                )
            )
    for name, count in Counter(info.filename for info in infos).items():
        if count > 1:
            problems.append(
                ArchiveProblem(
                    code="duplicate-entry",
                    message=f"member {name} appears {count} times",
                    path=name,
                    fatal=True,
                )
            )
    total = sum(info.file_size for info in infos)
    if total > limits.max_total_bytes:
        problems.append(
            ArchiveProblem(
                code="too-large",
                message=f"the members inflate to {total} bytes in all, over the limit of "
                f"{limits.max_total_bytes} bytes (zip bomb?)",
                fatal=True,
            )
        )
    return problems


@dataclass
class _Contents:
    hashes: dict[str, tuple[str, int]] = field(default_factory=dict)
    binaries: list[str] = field(default_factory=list)
    elf_files: list[str] = field(default_factory=list)
    texts: dict[str, bytes] = field(default_factory=dict)


def _read_members(wheel: Wheel, dist_info: str | None, problems: list[ArchiveProblem]) -> _Contents:
    contents = _Contents()
    keep = {f"{dist_info}/RECORD", f"{dist_info}/WHEEL", f"{dist_info}/METADATA"}
    for name in wheel.names:
        try:
            if name in keep:
                data = wheel.read(name)
                contents.texts[name] = data
                digest, size, head = record_hash(data), len(data), data[:64]
            else:  # hashed in chunks: a large member never sits in memory whole
                digest, size, head = wheel.digest(name)
        except WheelError as exc:
            problems.append(
                ArchiveProblem(
                    code="corrupt-member",
                    message=f"member {name} cannot be read: {exc.message}",
                    path=name,
                    fatal=True,
                )
            )
            continue
        contents.hashes[name] = (digest, size)
        if is_binary(name, head):
            contents.binaries.append(name)
            if is_elf(head):
                contents.elf_files.append(name)
    return contents


def _record_problems(
    record_text: str, contents: _Contents, record_path: str
) -> list[ArchiveProblem]:
    try:
        rows = parse_record(record_text)
    except WheelError as exc:
        return [ArchiveProblem(code="record-invalid", message=f"RECORD: {exc.message}")]
    problems: list[ArchiveProblem] = []
    listed: dict[str, int] = Counter(row.path for row in rows)
    for path, count in listed.items():
        if count > 1:
            problems.append(
                ArchiveProblem(
                    code="record-duplicate",
                    message=f"RECORD lists {path} {count} times",
                    path=path,
                )
            )
    for row in rows:
        actual = contents.hashes.get(row.path)
        if actual is None:
            problems.append(
                ArchiveProblem(
                    code="record-missing-file",
                    message=f"RECORD lists {row.path}, which is not in the archive",
                    path=row.path,
                )
            )
            continue
        if UNHASHED.match(row.path):
            continue
        digest, size = actual
        if not row.hash:
            problems.append(
                ArchiveProblem(
                    code="record-no-hash",
                    message=f"RECORD has no hash for {row.path}",
                    path=row.path,
                )
            )
        elif not row.hash.startswith("sha256="):
            algorithm = row.hash.partition("=")[0]
            problems.append(
                ArchiveProblem(
                    code="record-weak-hash",
                    message=f"RECORD hashes {row.path} with {algorithm}; sha256 is required",
                    path=row.path,
                )
            )
        elif row.hash != digest:
            problems.append(
                ArchiveProblem(
                    code="record-hash-mismatch",
                    message=f"{row.path}: RECORD says {row.hash}, the file hashes to {digest}",
                    path=row.path,
                )
            )
        if row.size is not None and row.size != size:
            problems.append(
                ArchiveProblem(
                    code="record-size-mismatch",
                    message=f"{row.path}: RECORD says {row.size} bytes, the file has {size}",
                    path=row.path,
                )
            )
        elif row.size is None and row.path != record_path and row.hash:
            problems.append(
                ArchiveProblem(
                    code="record-no-size",
                    message=f"RECORD has no size for {row.path}",
                    path=row.path,
                )
            )
    for name in contents.hashes:
        if name not in listed:
            problems.append(
                ArchiveProblem(
                    code="record-unlisted",
                    message=f"{name} is in the archive but not in RECORD",
                    path=name,
                )
            )
    return problems


def _wheel_file_problems(
    wheel_file: WheelFile, name: WheelName, contents: _Contents
) -> list[ArchiveProblem]:
    problems: list[ArchiveProblem] = []
    if wheel_file.wheel_version is None:
        problems.append(
            ArchiveProblem(code="wheel-file-invalid", message="WHEEL has no Wheel-Version")
        )
    elif wheel_file.wheel_version.split(".")[0] != "1":
        problems.append(
            ArchiveProblem(
                code="wheel-file-invalid",
                message=f"WHEEL says Wheel-Version {wheel_file.wheel_version}; only 1.x exists",
            )
        )
    if wheel_file.root_is_purelib is None:
        problems.append(
            ArchiveProblem(code="wheel-file-invalid", message="WHEEL has no Root-Is-Purelib")
        )
    try:
        claimed = wheel_file.tag_set
    except ValueError:
        problems.append(
            ArchiveProblem(
                code="tag-mismatch",
                message=f"WHEEL has malformed Tag lines: {', '.join(wheel_file.tags)}",
            )
        )
        return problems
    if claimed != name.tags:
        wheel_tags = ", ".join(sorted(str(t) for t in claimed)) or "none"
        name_tags = ", ".join(sorted(str(t) for t in name.tags))
        problems.append(
            ArchiveProblem(
                code="tag-mismatch",
                message=f"WHEEL says {wheel_tags}; the file name says {name_tags}",
            )
        )
    if name.build and wheel_file.build != f"{name.build[0]}{name.build[1]}":
        problems.append(
            ArchiveProblem(
                code="tag-mismatch",
                message=f"the file name has build tag {name.build[0]}{name.build[1]}; WHEEL "
                f"says {wheel_file.build or 'none'}",
            )
        )
    if wheel_file.root_is_purelib and contents.binaries:
        problems.append(
            ArchiveProblem(
                code="purelib-binary",
                message="WHEEL says Root-Is-Purelib: true but the wheel holds native code "
                f"({', '.join(contents.binaries[:3])}); binaries belong in platlib",
            )
        )
    return problems


def _metadata_problems(parsed: ParsedMetadata, name: WheelName) -> list[ArchiveProblem]:
    problems = [
        ArchiveProblem(code="metadata-invalid", message=f"METADATA: {p.message}")
        for p in parsed.problems
    ]
    metadata = parsed.metadata
    if metadata is None:
        return problems
    if canonicalize_name(metadata.name) != name.name:
        problems.append(
            ArchiveProblem(
                code="name-mismatch",
                message=f"METADATA says Name: {metadata.name}; the file name says {name.name}",
            )
        )
    if metadata.version != name.version:
        problems.append(
            ArchiveProblem(
                code="version-mismatch",
                message=f"METADATA says Version: {metadata.version}; the file name says "
                f"{name.version}",
            )
        )
    return problems


def _dist_info_problems(wheel: Wheel, name: WheelName) -> tuple[str | None, list[ArchiveProblem]]:
    dirs = wheel.dist_info_dirs()
    if len(dirs) != 1:
        found = ", ".join(dirs) or "none"
        return None, [
            ArchiveProblem(
                code="dist-info-count",
                message=f"expected exactly one .dist-info folder, found {found}",
                fatal=True,
            )
        ]
    dist_info = dirs[0]
    stem = dist_info.removesuffix(".dist-info")
    dist_name, _, dist_version = stem.rpartition("-")
    problems: list[ArchiveProblem] = []
    if canonicalize_name(dist_name) != name.name or dist_version != str(name.version):
        problems.append(
            ArchiveProblem(
                code="dist-info-name",
                message=f"the .dist-info folder is {dist_info}; the file name asks for "
                f"{str(name.name).replace('-', '_')}-{name.version}.dist-info",
            )
        )
    return dist_info, problems


def _text(contents: _Contents, member: str, problems: list[ArchiveProblem]) -> str | None:
    data = contents.texts.get(member)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.append(
            ArchiveProblem(code="not-utf8", message=f"{member} is not UTF-8 ({exc})", path=member)
        )
        return data.decode("utf-8", errors="replace")


def inspect_archive(path: Path, *, limits: Limits | None = None) -> ArchiveReport:
    """Inspect the wheel at ``path``; every problem found is in the report, none raised."""
    limits = limits or Limits()
    try:
        problems = _end_record_problems(path)
    except OSError as exc:
        message = f"cannot read the file: {exc.strerror or exc}"
        return ArchiveReport(
            path=path, problems=(ArchiveProblem(code="unreadable", message=message, fatal=True),)
        )
    if any(p.code in ("not-a-zip", "truncated") for p in problems):
        return ArchiveReport(path=path, problems=tuple(problems))
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        problems.append(
            ArchiveProblem(
                code="not-a-zip", message=f"not a readable zip archive ({exc})", fatal=True
            )
        )
        return ArchiveReport(path=path, problems=tuple(problems))
    problems.extend(_member_problems(infos, limits))
    try:
        name = parse_name(path.name)
    except WheelError as exc:
        problems.append(ArchiveProblem(code="bad-filename", message=exc.message, fatal=True))
        return ArchiveReport(path=path, problems=tuple(problems))
    if any(p.fatal for p in problems):
        return ArchiveReport(path=path, problems=tuple(problems), name=name)

    with Wheel(path, max_member_bytes=limits.max_member_bytes) as wheel:
        dist_info, found = _dist_info_problems(wheel, name)
        problems.extend(found)
        contents = _read_members(wheel, dist_info, problems)
    base = ArchiveReport(
        path=path,
        problems=(),
        name=name,
        dist_info=dist_info,
        files={info.filename: info.file_size for info in infos if not info.is_dir()},
        binaries=tuple(contents.binaries),
        elf_files=tuple(contents.elf_files),
    )
    if dist_info is None:
        return replace(base, problems=tuple(problems))

    record_path = f"{dist_info}/RECORD"
    record_text = _text(contents, record_path, problems)
    if record_text is None:
        problems.append(ArchiveProblem(code="record-missing", message=f"no {record_path}"))
    else:
        problems.extend(_record_problems(record_text, contents, record_path))

    wheel_file = None
    wheel_text = _text(contents, f"{dist_info}/WHEEL", problems)
    if wheel_text is None:
        problems.append(ArchiveProblem(code="wheel-file-missing", message=f"no {dist_info}/WHEEL"))
    else:
        wheel_file = parse_wheel_file(wheel_text)
        problems.extend(_wheel_file_problems(wheel_file, name, contents))

    parsed = None
    metadata_text = _text(contents, f"{dist_info}/METADATA", problems)
    if metadata_text is None:
        problems.append(ArchiveProblem(code="metadata-missing", message=f"no {dist_info}/METADATA"))
    else:
        parsed = parse_metadata(metadata_text)
        problems.extend(_metadata_problems(parsed, name))
    notes = tuple(f"METADATA: {n.message}" for n in (parsed.notes if parsed else ()))
    return replace(
        base, problems=tuple(problems), metadata=parsed, wheel_file=wheel_file, notes=notes
    )
