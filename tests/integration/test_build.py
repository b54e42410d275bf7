"""Real builds: cibuildwheel in the local builder image, through the `wheelyard build` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
DATE = "2026-11-20"


def build(cli: Callable[..., Any], project: Path, out: Path, *args: str) -> Any:
    return cli(
        "build", str(project), "--output", str(out), "--date", DATE, "--no-compiler-cache", *args
    )


def record_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "build-record.json").read_text())


def auditwheel_platforms(wheel: Path) -> str:
    """What `auditwheel show` says the wheel is consistent with."""
    proc = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", str(wheel)],
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(proc.stdout.split())


def test_hello_c_builds_every_interpreter_of_the_image(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, REPO / "examples" / "hello-c", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    record = record_of(out)
    [job] = record["jobs"]
    assert job["status"] == "succeeded"
    in_image = set(job["image"]["interpreters"])
    expected = [p for p in job["job"]["pythons"] if p in in_image]
    assert expected, "the image offers none of the planned interpreters"
    built = [p["python"] for p in job["pythons"] if p["status"] == "built"]
    assert built == expected
    assert all(p["status"] == "not-in-image" for p in job["pythons"] if p["python"] not in in_image)
    wheels = sorted((out / "cpu").glob("*.whl"))
    assert [w.name for w in wheels] == sorted(w["name"] for w in job["wheels"])
    assert len(wheels) == len(expected)
    for wheel in wheels:
        name, version, _, tags = parse_wheel_filename(wheel.name)
        assert name == "hello-c"
        assert str(version).endswith(".dev20261120")
        [tag] = tags
        assert tag.platform.startswith("manylinux_") and tag.platform.endswith("_x86_64")
        # auditwheel agrees with the platform tag the wheel claims.
        shown = auditwheel_platforms(wheel)
        assert f'is consistent with the following platform tag: "{tag.platform}"' in shown
    for python in job["pythons"]:
        if python["status"] == "built":
            assert python["seconds"] > 0
    assert job["effective_options"]["CIBW_BUILD_FRONTEND"] == "build[uv]"
    assert "wheel" in result.stdout and "sha256" in result.stdout  # the summary table


def test_failure_names_python_and_step_and_keeps_other_wheels(
    cli: Callable[..., Any], tmp_path: Path, projects: Path
) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, projects / "fails-on-cp312", out)
    assert result.exit_code == 1
    record = record_of(out)
    [job] = record["jobs"]
    assert job["status"] == "failed"
    assert job["failure"]["python"] == "cp312"
    assert job["failure"]["step"] == "Building wheel"
    statuses = {p["python"]: p["status"] for p in job["pythons"]}
    assert statuses == {"cp311": "built", "cp312": "failed", "cp313": "not-started"}
    assert [w["python"] for w in job["wheels"]] == ["cp311"]
    assert (out / job["wheels"][0]["path"]).is_file()
    stderr = " ".join(result.stderr.split())
    assert "cp312 during Building wheel" in stderr
    assert "this fixture does not compile on Python 3.12" in stderr  # the log tail
    assert f"full log: {job['log']}" in stderr
    assert "wheels kept from other Pythons: cpu/fails_on_cp312-1.0.0" in stderr


def test_before_build_failure(cli: Callable[..., Any], tmp_path: Path, projects: Path) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, projects / "before-build-fails", out)
    assert result.exit_code == 1
    [job] = record_of(out)["jobs"]
    assert (job["failure"]["python"], job["failure"]["step"]) == ("cp312", "Running before_build")
    assert job["wheels"] == []


def test_no_stray_containers_after_builds() -> None:
    proc = subprocess.run(
        ["podman", "ps", "-a", "--filter", "label=dev.wheelyard.job", "--format", "{{.ID}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == ""


def test_native_core_is_compiled_once_per_job(cli: Callable[..., Any], tmp_path: Path) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, REPO / "examples" / "native-core", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    [job] = record_of(out)["jobs"]
    built = [p["python"] for p in job["pythons"] if p["status"] == "built"]
    assert len(built) >= 2
    native = job["native_core"]
    assert native["runs"] == 1
    assert native["seconds"] > 0
    assert native["reused_by"] == built
    # The core ran in before-all, once, before the first Python's build.
    assert job["effective_options"]["CIBW_BEFORE_ALL"].endswith(
        "( bash tools/build_core.sh ) && echo 'wheelyard: native-build done'"
    )
    assert "native-build: done in" in result.stdout
