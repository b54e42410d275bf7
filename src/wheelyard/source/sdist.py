"""What `wheelyard build PATH` builds from: a source tree, or an sdist unpacked safely."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from wheelyard.errors import SourceError

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip")


def is_sdist(path: Path) -> bool:
    return path.is_file() and path.name.endswith(SDIST_SUFFIXES)


@dataclass(frozen=True, kw_only=True)
class UnpackLimits:
    """Bounds on what unpacking an sdist may write (a small archive can inflate to gigabytes)."""

    max_total_bytes: int = 2 * 1024**3
    max_member_bytes: int = 1024**3
    max_members: int = 100_000


def _count(sdist: Path, name: str, size: int, seen: list[int], limits: UnpackLimits) -> None:
    """Add one member to the running totals; refuse before it is written if it breaks a bound."""
    seen[0] += 1
    seen[1] += size
    problem = None
    if size > limits.max_member_bytes:
        problem = f"member {name!r} is {size} bytes (at most {limits.max_member_bytes})"
    elif seen[0] > limits.max_members:
        problem = f"more than {limits.max_members} members"
    elif seen[1] > limits.max_total_bytes:
        problem = f"more than {limits.max_total_bytes} bytes unpacked"
    if problem is not None:
        raise SourceError(
            f"{sdist.name}: {problem}; unpacking stopped",
            hint="an sdist holds a project's sources, not data sets or build output",
        )


def unpack_sdist(sdist: Path, into: Path, *, limits: UnpackLimits | None = None) -> Path:
    """Unpack ``sdist`` under ``into`` and return its project directory.

    Members that would land outside ``into`` (absolute paths, ``..``, links pointing out) are
    refused by the ``data`` extraction filter; the error names the member. Sizes and member
    counts are checked member by member while unpacking (``UnpackLimits``), so an archive that
    inflates past them stops before it fills the disk, and what was unpacked is removed.
    """
    limits = limits or UnpackLimits()
    into.mkdir(parents=True, exist_ok=True)
    seen = [0, 0]
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for info in archive.infolist():
                    target = (into / info.filename).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise SourceError(
                            f"{sdist.name}: member {info.filename!r} escapes the archive"
                        )
                    _count(sdist, info.filename, info.file_size, seen, limits)
                archive.extractall(into)
        else:
            with tarfile.open(sdist) as archive:
                for member in archive:  # headers one by one: the stream is read only this far
                    _count(sdist, member.name, member.size, seen, limits)
                    archive.extract(member, into, filter="data")
    except SourceError:
        shutil.rmtree(into, ignore_errors=True)
        raise
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        shutil.rmtree(into, ignore_errors=True)
        raise SourceError(
            f"cannot unpack {sdist}: {exc}", hint="pass a source tree or a valid .tar.gz sdist"
        ) from exc
    roots = [p for p in into.iterdir() if p.is_dir()]
    markers = ("pyproject.toml", "setup.py")
    if len(roots) != 1 or not any((roots[0] / m).is_file() for m in markers):
        raise SourceError(
            f"{sdist.name} does not hold one top-level project directory",
            hint="an sdist is NAME-VERSION/ with pyproject.toml (or setup.py) inside",
        )
    return roots[0]
