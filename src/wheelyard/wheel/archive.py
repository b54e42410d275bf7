"""A wheel as a zip archive: its name, its ``.dist-info`` files, RECORD, and atomic writing.

Reading is bounded (a member larger than ``max_bytes`` is refused, never read into memory), so
a zip bomb is an error rather than a crash. Writing always regenerates RECORD from the bytes
written and appears atomically (temp file in the destination folder, then rename).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    parse_wheel_filename,
)
from packaging.version import Version

from wheelyard.errors import WheelError

DEFAULT_MAX_MEMBER_BYTES = 512 * 1024 * 1024
# A fixed timestamp keeps rewritten wheels byte-for-byte reproducible.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, kw_only=True)
class WheelName:
    """The parts of a wheel file name (``name-version[-build]-py-abi-platform.whl``)."""

    filename: str
    name: NormalizedName
    version: Version
    build: tuple[int, str] | tuple[()]
    tags: frozenset[Tag]

    @property
    def tag_triples(self) -> frozenset[str]:
        return frozenset(str(tag) for tag in self.tags)

    @property
    def is_pure(self) -> bool:
        return all(tag.platform == "any" for tag in self.tags)


def parse_name(filename: str) -> WheelName:
    try:
        name, version, build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise WheelError(f"{filename}: not a valid wheel file name ({exc})") from exc
    return WheelName(filename=filename, name=name, version=version, build=build, tags=tags)


@dataclass(frozen=True, kw_only=True)
class RecordRow:
    path: str
    hash: str
    """``sha256=<urlsafe base64 without padding>`` or empty (RECORD itself, signatures)."""
    size: int | None


CHUNK_BYTES = 1024 * 1024


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def parse_record(text: str) -> list[RecordRow]:
    rows: list[RecordRow] = []
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields:
            continue
        if len(fields) != 3:
            raise WheelError(f"RECORD line {number}: expected 3 fields, found {len(fields)}")
        path, digest, size = fields
        try:
            parsed_size = int(size) if size else None
        except ValueError as exc:
            raise WheelError(f"RECORD line {number}: size {size!r} is not a number") from exc
        rows.append(RecordRow(path=path, hash=digest, size=parsed_size))
    return rows


def render_record(members: Mapping[str, bytes], record_path: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for path, data in members.items():
        if path != record_path:
            writer.writerow([path, record_hash(data), str(len(data))])
    writer.writerow([record_path, "", ""])
    return out.getvalue()


class Wheel:
    """An open wheel file. Use as a context manager; every read is size-bounded."""

    def __init__(self, path: Path, *, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES) -> None:
        self.path = path
        self.name = parse_name(path.name)
        self.max_member_bytes = max_member_bytes
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise WheelError(f"{path.name}: not a readable zip archive ({exc})") from exc

    def __enter__(self) -> Wheel:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @property
    def infos(self) -> list[zipfile.ZipInfo]:
        return self._zip.infolist()

    @property
    def names(self) -> list[str]:
        return [info.filename for info in self._zip.infolist() if not info.is_dir()]

    def dist_info_dirs(self) -> list[str]:
        """Top-level ``*.dist-info`` folders (a well-formed wheel has exactly one)."""
        found = {
            name.split("/", 1)[0]
            for name in self._zip.namelist()
            if "/" in name and name.split("/", 1)[0].endswith(".dist-info")
        }
        return sorted(found)

    @property
    def dist_info(self) -> str:
        dirs = self.dist_info_dirs()
        if len(dirs) != 1:
            found = ", ".join(dirs) or "none"
            raise WheelError(f"{self.path.name}: expected one .dist-info folder, found {found}")
        return dirs[0]

    def _bounded(self, member: str) -> zipfile.ZipInfo:
        """``member``'s entry, refused when it declares more than the size limit."""
        try:
            info = self._zip.getinfo(member)
        except KeyError as exc:
            raise WheelError(f"{self.path.name}: no member {member}") from exc
        if info.file_size > self.max_member_bytes:
            raise WheelError(
                f"{self.path.name}: {member} is {info.file_size} bytes uncompressed, "
                f"over the {self.max_member_bytes}-byte limit"
            )
        return info

    def read(self, member: str) -> bytes:
        info = self._bounded(member)
        try:
            with self._zip.open(info) as fh:
                data = fh.read(self.max_member_bytes + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise WheelError(f"{self.path.name}: {member} cannot be read ({exc})") from exc
        if len(data) > self.max_member_bytes:
            raise WheelError(f"{self.path.name}: {member} inflates past its declared size")
        return data

    def digest(self, member: str, *, head: int = 64) -> tuple[str, int, bytes]:
        """``member``'s RECORD hash, size and first ``head`` bytes, read in chunks: memory stays
        bounded however large the member is (the size limit still applies)."""
        info = self._bounded(member)
        hasher = hashlib.sha256()
        size = 0
        first = b""
        try:
            with self._zip.open(info) as fh:
                while chunk := fh.read(CHUNK_BYTES):
                    if not first:
                        first = chunk[:head]
                    size += len(chunk)
                    if size > self.max_member_bytes:
                        raise WheelError(
                            f"{self.path.name}: {member} inflates past its declared size"
                        )
                    hasher.update(chunk)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise WheelError(f"{self.path.name}: {member} cannot be read ({exc})") from exc
        encoded = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode("ascii")
        return f"sha256={encoded}", size, first

    def read_text(self, member: str) -> str:
        try:
            return self.read(member).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WheelError(f"{self.path.name}: {member} is not UTF-8 ({exc})") from exc

    def dist_info_file(self, name: str) -> str:
        return self.read_text(f"{self.dist_info}/{name}")

    def record(self) -> list[RecordRow]:
        return parse_record(self.dist_info_file("RECORD"))

    def modes(self) -> dict[str, int]:
        """Unix permission bits per file member (0 where the archive recorded none)."""
        return {
            info.filename: (info.external_attr >> 16) & 0o7777
            for info in self._zip.infolist()
            if not info.is_dir()
        }

    def members(self) -> dict[str, bytes]:
        """Every file member, in archive order (bounded by ``max_member_bytes`` each)."""
        return {name: self.read(name) for name in self.names}


def write_wheel(
    destination: Path,
    members: Iterable[tuple[str, bytes]],
    *,
    dist_info: str,
    modes: Mapping[str, int] | None = None,
) -> Path:
    """Write a wheel atomically with a fresh RECORD; ``.dist-info`` files go last.

    ``modes`` keeps permission bits (e.g. from :meth:`Wheel.modes`); others get 0o644.
    """
    ordered = dict(members)
    record_path = f"{dist_info}/RECORD"
    ordered.pop(record_path, None)
    body = {k: v for k, v in ordered.items() if not k.startswith(f"{dist_info}/")}
    meta = {k: v for k, v in ordered.items() if k.startswith(f"{dist_info}/")}
    final = {**body, **dict(sorted(meta.items()))}
    final[record_path] = render_record(final, record_path).encode("utf-8")
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".whl", dir=destination.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            for path, data in final.items():
                info = zipfile.ZipInfo(path, date_time=ZIP_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = ((modes or {}).get(path) or 0o644) << 16
                zf.writestr(info, data)
        tmp.replace(destination)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return destination
