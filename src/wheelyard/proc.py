"""The one way wheelyard runs external commands.

Argument lists only (no shell, except for hook commands a user wrote, which callers pass as
``["bash", "-c", script]``), stdin closed, an optional timeout that terminates the process group,
waits a grace period, then kills it, output optionally streamed line by line and copied to a log.
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wheelyard.errors import ProcessError

GRACE_SECONDS = 10.0
TAIL_LINES = 40
DRAIN_SECONDS = 2.0
"""How long output is still read after the command exited. Normally the pipe closes with it;
a descendant that left the process group (a container engine's attach process) may keep it
open, and must not keep wheelyard waiting."""


@dataclass(frozen=True, kw_only=True)
class Completed:
    """A finished command: exit status, captured output (stdout and stderr merged), duration."""

    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float

    @property
    def tail(self) -> str:
        return "\n".join(self.output.splitlines()[-TAIL_LINES:])


def _stop_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Terminate the process group, wait ``grace`` seconds, then kill what is left."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait()


def _read_lines(proc: subprocess.Popen[bytes], fd: int, handle: Callable[[str], None]) -> None:
    """Feed each output line (UTF-8, ``\r`` and ``\r\n`` as line ends) to ``handle`` until the
    pipe closes, or until DRAIN_SECONDS after ``proc`` exited."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    exited_at: float | None = None
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            pending += decoder.decode(chunk)
            hold = pending.endswith("\r")  # maybe the first half of a \r\n
            body = (pending[:-1] if hold else pending).replace("\r\n", "\n").replace("\r", "\n")
            *lines, rest = body.split("\n")
            pending = rest + ("\r" if hold else "")
            for line in lines:
                handle(line)
            continue
        if proc.poll() is None:
            continue
        exited_at = exited_at if exited_at is not None else time.monotonic()
        if time.monotonic() - exited_at > DRAIN_SECONDS:
            break
    pending = (pending + decoder.decode(b"", final=True)).rstrip("\r")
    if pending:
        handle(pending)


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    log_path: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    check: bool = True,
    keep_output: bool = True,
    grace: float = GRACE_SECONDS,
) -> Completed:
    """Run ``argv`` and return its result; raise :class:`ProcessError` on failure when ``check``.

    stdout and stderr are merged. Each line goes to ``on_line`` (if given) and to ``log_path``
    (appended, if given) as it arrives. With ``keep_output=False`` only the last lines are kept in
    memory, for commands whose logs are large.
    """
    argv = tuple(str(a) for a in argv)
    started = time.monotonic()
    log: IO[str] | None = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("a", encoding="utf-8")
    kept: deque[str] | list[str] = [] if keep_output else deque(maxlen=TAIL_LINES)
    try:
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ProcessError(
                f"cannot run {argv[0]}: {exc.strerror or exc}",
                argv=argv,
                returncode=None,
                hint=f"check that {argv[0]} is installed and on PATH",
            ) from exc

        timed_out = threading.Event()

        def _on_timeout() -> None:
            timed_out.set()
            _stop_group(proc, grace)

        timer = threading.Timer(timeout, _on_timeout) if timeout is not None else None
        if timer is not None:
            timer.daemon = True
            timer.start()

        def handle(line: str) -> None:
            kept.append(line)
            if log is not None:
                log.write(line + "\n")
                log.flush()
            if on_line is not None:
                on_line(line)

        try:
            assert proc.stdout is not None
            _read_lines(proc, proc.stdout.fileno(), handle)
            returncode = proc.wait()
        except BaseException:
            # Ctrl-C or a callback error: never leave the child group behind.
            _stop_group(proc, grace)
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if proc.stdout is not None:
                proc.stdout.close()
    finally:
        if log is not None:
            log.close()

    result = Completed(
        argv=argv,
        returncode=returncode,
        output="\n".join(kept),
        seconds=time.monotonic() - started,
    )
    if timed_out.is_set():
        raise ProcessError(
            f"{argv[0]} ran past its timeout of {timeout:.0f} s and was stopped",
            argv=argv,
            returncode=returncode,
            output_tail=result.tail,
            log_path=str(log_path) if log_path else None,
            timed_out=True,
            hint="raise the timeout, or look at the log for where it hung",
        )
    if check and returncode != 0:
        raise ProcessError(
            f"{argv[0]} exited with status {returncode}",
            argv=argv,
            returncode=returncode,
            output_tail=result.tail,
            log_path=str(log_path) if log_path else None,
        )
    return result


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists (even as another user's) and is not a zombie,
    which no longer holds files or ports and only waits for its parent to reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
