"""wheel/archive.py: names, bounded reads, RECORD round trip, atomic rewrite."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from wheelyard.errors import WheelError
from wheelyard.wheel.archive import Wheel, parse_name, parse_record, record_hash, write_wheel

DIST = "demo-1.0.dist-info"


def _make(path: Path) -> Path:
    members = [
        ("demo/__init__.py", b"x = 1\n"),
        ("demo/_ext.so", b"\x7fELF fake"),
        (f"{DIST}/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"),
        (
            f"{DIST}/WHEEL",
            b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp312-cp312-linux_x86_64\n",
        ),
    ]
    return write_wheel(path, members, dist_info=DIST, modes={"demo/_ext.so": 0o755})


def test_write_then_read_round_trips_with_a_correct_record(tmp_path: Path) -> None:
    path = _make(tmp_path / "demo-1.0-cp312-cp312-linux_x86_64.whl")
    with Wheel(path) as wheel:
        assert wheel.dist_info == DIST
        rows = {row.path: row for row in wheel.record()}
        assert rows["demo/__init__.py"].hash == record_hash(b"x = 1\n")
        assert rows["demo/__init__.py"].size == 6
        assert rows[f"{DIST}/RECORD"].hash == ""
        assert wheel.modes()["demo/_ext.so"] == 0o755
        assert wheel.names[-1] == f"{DIST}/RECORD"
    assert not list(tmp_path.glob(".tmp-*"))


def test_rewriting_is_reproducible(tmp_path: Path) -> None:
    a = _make(tmp_path / "a" / "demo-1.0-cp312-cp312-linux_x86_64.whl").read_bytes()
    b = _make(tmp_path / "b" / "demo-1.0-cp312-cp312-linux_x86_64.whl").read_bytes()
    assert a == b


def test_bounded_read_refuses_a_member_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/big.bin", b"\0" * 200_000)
    with Wheel(path, max_member_bytes=10_000) as wheel, pytest.raises(WheelError, match="limit"):
        wheel.read("bomb/big.bin")


def test_not_a_zip_and_bad_names_are_wheel_errors(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(b"not a zip")
    with pytest.raises(WheelError, match="not a readable zip"):
        Wheel(path)
    with pytest.raises(WheelError, match="not a valid wheel file name"):
        parse_name("demo.whl")
    with pytest.raises(WheelError, match="expected 3 fields"):
        parse_record("a,b\n")
