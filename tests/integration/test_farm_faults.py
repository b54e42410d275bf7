"""Fault tolerance: a worker killed (SIGKILL) in the middle of a build; the job is retried on
the other worker and the build is published with exactly one copy of each wheel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from build_containers import build_container_sources
from farm_process import interrupt, wait_healthy
from wheelyard.farm.client import FarmClient
from wheelyard.farm.runtime.temporal_server import free_port

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"


def _environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("WHEELYARD_")}


def _wheelyard(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wheelyard", *args],
        env=_environ(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append((int(entry.name), cmdline))
    return found


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        interrupt(process)


def test_a_killed_worker_s_job_is_retried_on_another_worker(
    tmp_path: Path, processes: list[subprocess.Popen[str]]
) -> None:
    data, port, temporal_port = tmp_path / "farm", free_port(), free_port()
    farm = _wheelyard(
        "farm", "up", "--no-worker", "--data", str(data), "--port", str(port),
        "--temporal-port", str(temporal_port),
    )  # fmt: skip
    processes.append(farm)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, farm)
    workers = {}
    for name in ("w1", "w2"):
        worker = _wheelyard(
            "worker", "--queue", "linux-x86_64-cpu", "--temporal", f"127.0.0.1:{temporal_port}",
            "--data", str(data), "--identity", name,
        )  # fmt: skip
        processes.append(worker)
        workers[name] = worker
    client = FarmClient(url, (data / "admin.token").read_text().strip())
    for _ in range(120):
        online = {w["identity"] for w in json.loads(_get(f"{url}/api/workers")) if w["online"]}
        if online >= {"w1", "w2"}:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the workers never announced themselves")

    build = client.submit(
        {"path": str(HELLO_C), "python": ["cp312"], "date": "2026-11-20", "heartbeat_seconds": 5}
    )
    build_id = int(build["id"])
    job_dir = data / f"builds/{build_id}/jobs/linux-x86_64-cpu"
    victim: str | None = None
    deadline = time.monotonic() + 120
    while victim is None:
        assert time.monotonic() < deadline, "the build never started"
        logs = list(job_dir.glob("attempt-1/logs/*.log"))
        if any("Building cp312" in log.read_text(errors="replace") for log in logs):
            for name, worker in workers.items():
                if any(
                    "wheelyard.farm.builds.stage_process" in cmd for _, cmd in _children(worker.pid)
                ):
                    victim = name
        time.sleep(0.2)
    workers[victim].send_signal(signal.SIGKILL)
    workers[victim].communicate()
    survivor = next(name for name in workers if name != victim)

    done = client.wait(build_id, timeout=240, poll=1.0)
    assert done["state"] == "published", done
    [job] = done["jobs"]
    assert (job["state"], job["worker"], job["attempts"]) == ("succeeded", survivor, 2)
    [wheel] = done["wheels"]
    assert wheel["verification"]["status"] == "passed"
    index = json.loads(_get(f"{url}/simple/hello-c/", accept="application/vnd.pypi.simple.v1+json"))
    files = [f["filename"] for f in index["files"] if f["filename"].endswith(".whl")]
    assert len(files) == len(set(files)) == 2  # the null variant and the fallback, once each
    published = sorted((data / "index" / "packages" / "hello-c").glob("*.whl"))
    assert len(published) == 3  # + the legacy +cpu wheel of whl/nightly/cpu/
    # The killed worker's build stopped with it (its stage process asked for SIGINT then).
    assert str(data) not in build_container_sources()


def _get(url: str, *, accept: str = "application/json") -> Any:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()
