"""build/source.py: sdists are unpacked safely or refused with the member named."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from wheelyard.errors import SourceError
from wheelyard.source.sdist import is_sdist, unpack_sdist


def make_sdist(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_unpacks_the_single_project_directory(tmp_path: Path) -> None:
    sdist = make_sdist(
        tmp_path / "demo-1.0.tar.gz",
        {"demo-1.0/pyproject.toml": b"[project]\nname='demo'\n", "demo-1.0/demo.c": b""},
    )
    assert is_sdist(sdist)
    project = unpack_sdist(sdist, tmp_path / "out")
    assert project == tmp_path / "out" / "demo-1.0"
    assert (project / "pyproject.toml").is_file()


def test_a_member_escaping_the_archive_is_refused(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "evil-1.0.tar.gz", {"../evil.txt": b"x"})
    with pytest.raises(SourceError, match=r"evil\.txt"):
        unpack_sdist(sdist, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_an_archive_without_a_project_is_refused(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path / "empty-1.0.tar.gz", {"a/readme.txt": b"", "b/x.txt": b""})
    with pytest.raises(SourceError, match="one top-level project directory"):
        unpack_sdist(sdist, tmp_path / "out")


def test_a_corrupt_archive_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad-1.0.tar.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(SourceError, match="cannot unpack"):
        unpack_sdist(bad, tmp_path / "out")
