"""proc.run: lines streamed and logged, timeouts stop the group, escaped descendants don't hang."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wheelyard import proc
from wheelyard.errors import ProcessError


def test_lines_are_streamed_logged_and_kept(tmp_path: Path) -> None:
    seen: list[str] = []
    log = tmp_path / "log.txt"
    script = r"printf 'one\r\ntwo\rthree\n'; printf 'caf\xc3\xa9 no newline'"
    result = proc.run(["bash", "-c", script], log_path=log, on_line=seen.append)
    assert seen == ["one", "two", "three", "café no newline"]
    assert log.read_text(encoding="utf-8").splitlines() == seen
    assert result.output.splitlines() == seen


def test_a_failing_command_raises_with_its_tail() -> None:
    with pytest.raises(ProcessError, match="exited with status 3") as caught:
        proc.run(["bash", "-c", "echo last words; exit 3"])
    assert caught.value.output_tail == "last words"


def test_a_timeout_stops_the_whole_group() -> None:
    started = time.monotonic()
    with pytest.raises(ProcessError, match="ran past its timeout") as caught:
        proc.run(["bash", "-c", "sleep 60 & sleep 60"], timeout=1, grace=1)
    assert caught.value.timed_out
    assert time.monotonic() - started < 15


def test_a_descendant_outside_the_group_does_not_keep_us_reading() -> None:
    # Like a container engine's attach process: it leaves the group and holds the pipe open.
    started = time.monotonic()
    result = proc.run(["bash", "-c", "setsid sleep 30 & echo done"])
    assert result.output == "done"
    assert time.monotonic() - started < 15


def test_a_process_is_alive_until_it_exits_even_before_it_is_reaped() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    assert proc.process_alive(child.pid)
    assert child.stdin is not None
    child.stdin.close()
    deadline = time.monotonic() + 10
    while proc.process_alive(child.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not proc.process_alive(child.pid)  # a zombie until waited for
    assert child.poll() == 0
    assert not proc.process_alive(child.pid)
    assert proc.process_alive(os.getpid())
