"""`wheelyard publish` refuses every wheel the gate's structure checks refuse: nothing reaches
the index, and no RECORD is regenerated to make a bad wheel look valid."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_verify_support import make_wheel, metadata_text, rewrite_zip

from wheelyard.errors import PublishError
from wheelyard.index.wheelhouse import read_wheelhouse
from wheelyard.wheel.inspect import inspect_archive

FILES = {"demo/__init__.py": b"VALUE = 1\n", "demo/util.py": b"def f():\n    return 2\n"}
DIST = "demo-1.0.dist-info"


def _traversal(good: Path, out: Path) -> Path:
    return rewrite_zip(good, out, add=[("../evil.py", b"x = 1\n")])


def _absolute(good: Path, out: Path) -> Path:
    return rewrite_zip(good, out, add=[("/etc/evil.py", b"x = 1\n")])


def _duplicate(good: Path, out: Path) -> Path:
    return rewrite_zip(good, out, add=[("demo/util.py", b"other\n")])


def _no_record(good: Path, out: Path) -> Path:
    return rewrite_zip(good, out, drop={f"{DIST}/RECORD"})


def _bad_record(good: Path, out: Path) -> Path:
    return rewrite_zip(good, out, replace={"demo/util.py": b"changed after RECORD\n"})


def _unlisted(good: Path, out: Path) -> Path:
    return rewrite_zip(good, out, add=[("demo/extra.py", b"y = 2\n")])


def _trailing(good: Path, out: Path) -> Path:
    out.write_bytes(good.read_bytes() + b"GARBAGE!")
    return out


def _wrong_name(good: Path, out: Path) -> Path:
    return rewrite_zip(
        good, out, replace={f"{DIST}/METADATA": metadata_text(name="other", version="1.0")}
    )


CASES: dict[str, Callable[[Path, Path], Path]] = {
    "traversal member": _traversal,
    "absolute path": _absolute,
    "duplicate member": _duplicate,
    "missing RECORD": _no_record,
    "RECORD hash mismatch": _bad_record,
    "member not in RECORD": _unlisted,
    "trailing data": _trailing,
    "METADATA name differs from the file name": _wrong_name,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_wheel_is_refused_and_nothing_is_published(
    case: str, tmp_path: Path, cli: Callable[..., object]
) -> None:
    good = make_wheel(tmp_path / "good", FILES)
    house = tmp_path / "wheelhouse" / "cpu"
    house.mkdir(parents=True)
    bad = CASES[case](good, house / good.name)
    index = tmp_path / "index"
    result = cli("publish", str(house.parent), "--to", str(index))
    assert result.exit_code == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert "fail the structure checks, nothing was published" in result.stderr  # type: ignore[attr-defined]
    assert bad.name in result.stderr  # type: ignore[attr-defined]
    assert not index.exists() or not any(p.is_file() for p in index.rglob("*"))


def test_a_well_formed_wheel_is_still_published(tmp_path: Path, cli: Callable[..., object]) -> None:
    house = tmp_path / "wheelhouse" / "cpu"
    house.mkdir(parents=True)
    make_wheel(house, FILES)
    index = tmp_path / "index"
    result = cli("publish", str(house.parent), "--to", str(index))
    assert result.exit_code == 0, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert list(index.rglob("demo-1.0-py3-none-any.whl"))


def test_members_that_differ_only_in_case_are_refused(tmp_path: Path) -> None:
    """Both install on Linux; on macOS and Windows one overwrites the other."""
    wheel = make_wheel(
        tmp_path, {"okpkg/__init__.py": b"A = 1\n", "OKPKG/__init__.py": b"B = 2\n"}, name="okpkg"
    )
    report = inspect_archive(wheel)
    assert [(p.code, p.fatal) for p in report.problems] == [("case-collision", True)]
    assert (
        "OKPKG/__init__.py and okpkg/__init__.py differ only in case" in report.problems[0].message
    )


def test_a_linked_wheel_in_a_wheelhouse_is_not_published(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    elsewhere = make_wheel(tmp_path / "elsewhere", {"okpkg/__init__.py": b""}, name="okpkg")
    house = tmp_path / "house"
    (house / "cpu").mkdir(parents=True)
    (house / "cpu" / elsewhere.name).symlink_to(elsewhere)
    with pytest.raises(PublishError, match="a link, or not a wheel file name"):
        read_wheelhouse(house)
