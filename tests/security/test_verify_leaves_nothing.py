"""A verification keeps nothing of the wheel it checked: its unpacked files leave uv's cache."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_verify_support import make_wheel

from wheelyard.verify import Check, VerifyOptions, query_interpreter, verify_wheels


def test_the_checked_wheel_is_not_left_in_the_uv_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "uv-cache"
    monkeypatch.setenv("UV_CACHE_DIR", str(cache))
    wheel = make_wheel(
        tmp_path,
        {"leftover_probe/__init__.py": b"MARK = 'leftover-probe'\n"},
        name="leftover-probe",
    )
    options = VerifyOptions(
        interpreters=(query_interpreter(Path(sys.executable)),),
        checks=frozenset({Check.STRUCTURE, Check.INSTALL, Check.IMPORTS}),
    )
    report = verify_wheels([wheel], options=options)
    assert report.wheels[0].ok, report.to_json()
    assert cache.is_dir()  # uv used this cache ...
    left = [p for p in cache.rglob("*") if "leftover_probe" in p.name]
    assert left == []  # ... and nothing of the wheel stayed in it
