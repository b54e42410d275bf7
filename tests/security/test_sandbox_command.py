"""What the verification sandbox hands the container engine, and what the CLI does without one."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from wheelyard.builder.engine import HostFacts, PodmanEngine
from wheelyard.catalog import load_catalog
from wheelyard.cli.common import verification_sandbox_here
from wheelyard.pipeline import ContainerSandbox
from wheelyard.verify.install import Environment
from wheelyard.verify.interpreters import query_interpreter
from wheelyard.verify.options import SmokeTest
from wheelyard.verify.sandbox import Confinement
from wheelyard.verify.smoke import run_smoke_test


def test_the_container_gets_no_network_no_host_environment_and_read_only_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    venv, scratch = tmp_path / "venv", tmp_path / "run"
    venv.mkdir()
    scratch.mkdir()
    engine = PodmanEngine(
        host=HostFacts(runc=True, nofile=(1024, 1024), nproc=(512, 512), ca_bundle=None)
    )
    sandbox = ContainerSandbox(engine=engine, image="localhost/wheelyard-builder:cpu")
    argv = sandbox.command(
        ["python", "-c", "pass"],
        Confinement(workdir=scratch, read_only=(venv, tmp_path / "absent"), env={"A": "1"}),
        name="wheelyard-verify-x",
    )
    assert argv[:3] == ["podman", "run", "--rm"]
    assert {"--network=none", "--read-only", "--cap-drop=ALL"} <= set(argv)
    assert f"--volume={venv}:{venv}:ro" in argv
    assert f"--volume={scratch}:{scratch}:rw" in argv
    assert not any("absent" in a for a in argv)  # missing folders are not mounted
    assert [a for a in argv if a.startswith("--env")] == ["--env=A=1"]
    assert "host-secret" not in " ".join(argv)
    assert argv[-4:] == ["localhost/wheelyard-builder:cpu", "python", "-c", "pass"]


def test_without_a_container_engine_the_cli_says_package_code_runs_here(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither podman nor docker
    assert verification_sandbox_here(load_catalog()) is None
    assert "imports and smoke tests run on this machine" in capsys.readouterr().err


def test_a_smoke_test_sees_the_wheel_but_not_the_folder_it_is_in(tmp_path: Path) -> None:
    """Verifying ~/Downloads/x.whl must not show package code the rest of ~/Downloads."""
    seen: list[Confinement] = []

    class Recording:
        description = "recording"

        def command(
            self,
            argv: Sequence[str],  # noqa: ARG002
            confinement: Confinement,
            *,
            name: str,  # noqa: ARG002
        ) -> list[str]:
            seen.append(confinement)
            return ["true"]

        def remove(self, name: str) -> None:
            pass

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    wheel = downloads / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"")
    (downloads / "private.txt").write_text("not for package code")
    project = tmp_path / "project"
    project.mkdir()
    interpreter = query_interpreter(Path(sys.executable))
    environment = Environment(
        root=tmp_path / "venv", interpreter=interpreter, env={}, sandbox=Recording()
    )
    run_smoke_test(
        SmokeTest(value="true", project_dir=project),
        environment,
        wheel=wheel,
        run_dir=tmp_path / "run",
        timeout=30,
    )
    [confinement] = seen
    assert wheel in confinement.read_only and project in confinement.read_only
    assert downloads not in confinement.read_only
