"""Package code never runs on the host as it is: a wheel whose import-time code and smoke test
try to read a host secret, write a host file and reach a server on the host passes the gate
(it is otherwise correct), and none of the three succeeded, asserted on the host.

Runs the real CLI (`wheelyard verify`) with the real sandbox: podman and the builder image.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wheelyard.verify.interpreters import query_interpreter

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
sys.path.insert(0, str(REPO / "tests" / "unit"))
from test_verify_support import make_wheel  # noqa: E402

SECRET = "host-secret-7f3a"

PAYLOAD = """
import os, socket, sys
from pathlib import Path

def attempt(where):
    found = {{k: v for k, v in os.environ.items() if "{secret}" in v}}
    for name, target in (("secret", {secret_file!r}), ("write", {host_file!r})):
        try:
            text = f"{{where}} {{found}}" if name == "secret" else where
            if name == "write" or found:
                Path(target).write_text(text)
        except OSError as exc:
            print(f"{{where}}: {{name}} refused: {{exc}}", file=sys.stderr)
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(where.encode())
    except OSError as exc:
        print(f"{{where}}: network refused: {{exc}}", file=sys.stderr)
"""


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A server on the host's loopback that records every connection it gets."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                received.append(conn.recv(100) or b"connected")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], received
    stop.set()
    thread.join()
    server.close()


def test_import_time_code_and_the_smoke_test_cannot_reach_the_host(
    tmp_path: Path, listener: tuple[int, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, received = listener
    secret_file, host_file = tmp_path / "leaked-secret.txt", tmp_path / "written-on-host.txt"
    payload = PAYLOAD.format(
        secret=SECRET, secret_file=str(secret_file), host_file=str(host_file), port=port
    )
    package = tmp_path / "pkg"
    package.mkdir()
    wheel = make_wheel(
        package,
        {
            "hostile/__init__.py": (payload + '\nattempt("import")\n').encode(),
            "hostile/smoke.py": (payload + '\nattempt("smoke")\nimport hostile\n').encode(),
        },
        name="hostile",
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "hostile"
            version = "1.0"

            [tool.wheelyard]
            smoke-test = "python -m hostile.smoke"
            """
        )
    )
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    interpreter = query_interpreter(Path(sys.executable))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wheelyard",
            "verify",
            str(wheel),
            "--python",
            str(interpreter.executable),
            "--project",
            str(project),
            "--json",
            "-",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [report] = json.loads(result.stdout)["wheels"]
    checks = {c["check"]: c for c in report["checks"]}
    assert checks["imports"]["outcome"] == "pass", checks["imports"]
    assert checks["smoke"]["outcome"] == "pass", checks["smoke"]
    for check in ("imports", "smoke"):
        assert "container" in checks[check]["facts"]["where"], checks[check]
        assert "no network" in checks[check]["facts"]["where"]
    # Asserted on the host: the code ran (its refusals are in the smoke test's output) and
    # reached none of the three.
    assert "network refused" in json.dumps(checks["smoke"])
    assert not secret_file.exists()
    assert not host_file.exists()
    assert received == []

    # --sandbox host (a CI runner verifying its own repository) is the explicit opposite: the
    # same code runs here, with this machine's environment, and everything says so.
    here = subprocess.run(
        [*result.args, "--sandbox", "host"],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert here.returncode == 0, here.stdout + here.stderr
    assert "--sandbox host: imports and smoke tests run on this machine" in here.stderr
    [report] = json.loads(here.stdout)["wheels"]
    for check in report["checks"]:
        if check["check"] in ("imports", "smoke"):
            assert check["facts"]["where"].startswith("on this machine"), check
    assert SECRET in secret_file.read_text() and host_file.exists()
