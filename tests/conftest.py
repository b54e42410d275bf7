"""Shared fixtures: fixture projects and an in-process CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from wheelyard.cli.main import run

PROJECTS = Path(__file__).parent / "projects"
REPO = Path(__file__).parent.parent


@dataclass(frozen=True)
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def projects() -> Path:
    return PROJECTS


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run ``wheelyard ARGS`` in-process; return exit code and output."""
    monkeypatch.setenv("COLUMNS", "200")
    for name in list(__import__("os").environ):
        if name.startswith("WHEELYARD_"):
            monkeypatch.delenv(name)

    def invoke(*args: str) -> Result:
        capsys.readouterr()
        code = 0
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return invoke
