"""A `wheelyard farm up` process for integration tests: start, wait until healthy, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wheelyard.farm.runtime.temporal_server import stop_orphaned_servers
from wheelyard.farm.settings import TEMPORAL_DB_FILE


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WHEELYARD_")}


def interrupt(process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Ctrl-C, as a user would, then SIGKILL if it has not ended after ``timeout`` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def wait_healthy(url: str, process: subprocess.Popen[str], timeout: float = 90) -> None:
    """Until ``url``'s API answers healthy; fails with the process output if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if json.loads(response.read())["ok"]:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the farm at {url} did not answer in {timeout:.0f} s")


@dataclass
class FarmProcess:
    data: Path
    port: int
    temporal_port: int
    extra_args: tuple[str, ...] = ("--queue", "linux-x86_64-cpu")
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [sys.executable, "-m", "wheelyard", "farm", "up", "--data", str(self.data)]
        argv += ["--port", str(self.port), "--temporal-port", str(self.temporal_port)]
        self.process = subprocess.Popen(
            [*argv, *self.extra_args],
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_healthy(self.url, self.process)

    def stop(self) -> str:
        """Ctrl-C, as a user would; returns what the farm printed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, output
        self.process = None
        return output

    def kill(self) -> str:
        """SIGKILL, as the OOM killer or ``kill -9`` would: nothing of the farm runs its clean-up
        (its Temporal dev server, in a session of its own, keeps running); returns its output."""
        assert self.process is not None
        self.process.kill()
        output, _ = self.process.communicate(timeout=60)
        self.process = None
        return output

    def close(self) -> None:
        """After a test: Ctrl-C (the farm stops Temporal and its containers), then kill; a dev
        server a killed farm left behind is stopped too."""
        if self.process is not None:
            interrupt(self.process)
            self.process = None
        stop_orphaned_servers(self.data / TEMPORAL_DB_FILE)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``wheelyard ARGS --url <this farm>``."""
        return subprocess.run(
            [sys.executable, "-m", "wheelyard", *args, "--url", self.url],
            env={**clean_env(), "COLUMNS": "250"},
            capture_output=True,
            text=True,
            check=False,
        )
