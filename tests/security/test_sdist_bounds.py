"""An sdist that inflates past the bounds stops unpacking before it fills the disk, and leaves
nothing behind."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from wheelyard.errors import SourceError
from wheelyard.source.sdist import UnpackLimits, unpack_sdist

LIMITS = UnpackLimits(max_total_bytes=8 * 1024**2, max_member_bytes=4 * 1024**2, max_members=50)
PYPROJECT = b'[project]\nname = "bomb"\nversion = "1.0"\n'


class Zeros(io.RawIOBase):
    """``size`` zero bytes, read without holding them in memory."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _tar(path: Path, members: list[tuple[str, int]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("bomb-1.0/pyproject.toml")
        info.size = len(PYPROJECT)
        archive.addfile(info, io.BytesIO(PYPROJECT))
        for name, size in members:
            info = tarfile.TarInfo(f"bomb-1.0/{name}")
            info.size = size
            archive.addfile(info, io.BufferedReader(Zeros(size)))
    return path


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("data.bin", 64 * 1024**2)], "is 67108864 bytes (at most 4194304)"),
        ([(f"part{i}.bin", 3 * 1024**2) for i in range(4)], "more than 8388608 bytes unpacked"),
        ([(f"f{i}.py", 1) for i in range(60)], "more than 50 members"),
    ],
)
def test_an_inflating_sdist_is_stopped_and_removed(
    tmp_path: Path, members: list[tuple[str, int]], message: str
) -> None:
    sdist = _tar(tmp_path / "bomb-1.0.tar.gz", members)
    assert sdist.stat().st_size < 1024**2  # small on the wire
    into = tmp_path / "unpacked"
    with pytest.raises(SourceError) as error:
        unpack_sdist(sdist, into, limits=LIMITS)
    assert message in error.value.message
    assert not into.exists()


def test_a_zip_sdist_is_bounded_too(tmp_path: Path) -> None:
    sdist = tmp_path / "bomb-1.0.zip"
    with zipfile.ZipFile(sdist, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb-1.0/pyproject.toml", PYPROJECT)
        archive.writestr("bomb-1.0/data.bin", bytes(16 * 1024**2))
    with pytest.raises(SourceError, match="at most 4194304"):
        unpack_sdist(sdist, tmp_path / "unpacked", limits=LIMITS)
    assert not (tmp_path / "unpacked").exists()


def test_an_sdist_within_the_bounds_unpacks(tmp_path: Path) -> None:
    sdist = _tar(tmp_path / "ok-1.0.tar.gz", [("src/a.py", 100)])
    project = unpack_sdist(sdist, tmp_path / "unpacked", limits=LIMITS)
    assert (project / "pyproject.toml").read_bytes() == PYPROJECT
