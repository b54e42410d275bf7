"""The one progress reporter: timed lines in logs, a live display only on a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from wheelyard.builder.steps import StepEvent, StepState
from wheelyard.cli.progress import Progress


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=120, color_system=None), out


def test_in_ci_every_step_is_a_timed_line_even_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    console, out = _console(terminal=True)
    progress = Progress(console)
    assert progress.plain
    progress.step(StepEvent(step="rootfs", state=StepState.STARTED, elapsed=0.0))
    progress.step(StepEvent(step="rootfs", state=StepState.FINISHED, elapsed=2.0, seconds=2.0))
    progress.status("ignored in logs")
    progress.done("built")
    lines = out.getvalue().splitlines()
    assert [line.split("] ", 1)[-1] for line in lines[:2]] == [
        "rootfs ...",
        "rootfs: done in 2.0 s",
    ]
    assert all(line.startswith("[") and "s]" in line for line in lines[:2])
    assert lines[2].startswith("built in ") and lines[2].endswith(" s")
    assert "ignored" not in out.getvalue()


def test_a_terminal_outside_ci_gets_the_live_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    console, _ = _console(terminal=True)
    assert not Progress(console).plain
    monkeypatch.delenv("CI", raising=False)
    log, _ = _console(terminal=False)
    assert Progress(log).plain


def test_quiet_progress_prints_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    console, out = _console(terminal=False)
    progress = Progress(console, quiet=True)
    progress.line("a line")
    progress.done("verified")
    assert out.getvalue() == ""
