"""What `wheelyard build PATH` builds from: a source tree, or an sdist unpacked safely."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

from wheelyard.errors import SourceError

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip")


def is_sdist(path: Path) -> bool:
    return path.is_file() and path.name.endswith(SDIST_SUFFIXES)


def unpack_sdist(sdist: Path, into: Path) -> Path:
    """Unpack ``sdist`` under ``into`` and return its project directory.

    Members that would land outside ``into`` (absolute paths, ``..``, links pointing out) are
    refused by the ``data`` extraction filter; the error names the member.
    """
    into.mkdir(parents=True, exist_ok=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for name in archive.namelist():
                    target = (into / name).resolve()
                    if not target.is_relative_to(into.resolve()):
                        raise SourceError(f"{sdist.name}: member {name!r} escapes the archive")
                archive.extractall(into)
        else:
            with tarfile.open(sdist) as archive:
                archive.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
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
