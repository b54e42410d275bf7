"""Real builds: cibuildwheel in the local builder image, through the `wheelyard build` CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename

from wheelyard.catalog import load_catalog
from wheelyard.config.vocab import Platform
from wheelyard.wheel.archive import Wheel
from wheelyard.wheel.cuda import elf_device_code, missing_cubins

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
DATE = "2026-11-20"


def build(cli: Callable[..., Any], project: Path, out: Path, *args: str) -> Any:
    return cli(
        "build", str(project), "--output", str(out), "--date", DATE, "--no-compiler-cache", *args
    )


def record_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "build-record.json").read_text())


def glibc_of(platform: str) -> tuple[int, int]:
    """``manylinux_2_35_x86_64`` -> (2, 35)."""
    major, minor = platform.split("_")[1:3]
    return int(major), int(minor)


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
    # Every wheel went through the verification gate and passed it.
    assert {w["verification"]["status"] for w in job["wheels"]} == {"passed"}
    assert len(wheels) == len(expected)
    for wheel in wheels:
        name, version, _, tags = parse_wheel_filename(wheel.name)
        assert name == "hello-c"
        assert str(version).endswith(".dev20261120")
        platforms = sorted({tag.platform for tag in tags}, key=glibc_of)
        assert all(p.startswith("manylinux_") and p.endswith("_x86_64") for p in platforms)
        # auditwheel agrees with the most compatible platform tag the wheel claims (the others,
        # for newer glibcs, follow from it).
        shown = auditwheel_platforms(wheel)
        assert f'is consistent with the following platform tag: "{platforms[0]}"' in shown
    for python in job["pythons"]:
        if python["status"] == "built":
            assert python["seconds"] > 0
    assert job["effective_options"]["CIBW_BUILD_FRONTEND"] == "build[uv]"
    # The build container runs within limits the engine enforces (podman ran with them).
    engine_args = job["effective_options"]["CIBW_CONTAINER_ENGINE"]
    assert "--pids-limit=16384" in engine_args and "--memory=" in engine_args
    assert "wheel" in result.stdout and "sha256" in result.stdout  # the summary table
    # The catalog's official manylinux image first; where it cannot be pulled (no registry),
    # wheelyard's own image, and the record and the output say which and why.
    catalog = load_catalog()
    image = job["image"]
    official = catalog.image("cpu", Platform.LINUX_X86_64)
    if image["source"] == "fallback":
        assert image["wanted"] == official
        assert image["ref"] == catalog.local_image("cpu", Platform.LINUX_X86_64)
        assert image["reason"].startswith(f"podman could not pull {official}: ")
        assert "instead of" in " ".join(result.stdout.split())
    else:
        assert (image["source"], image["ref"]) in {("pulled", official), ("present", official)}


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
    assert (
        "( bash tools/build_core.sh ) && echo 'wheelyard: native-build done'"
        in job["effective_options"]["CIBW_BEFORE_ALL"]
    )
    assert "native-build: done in" in result.stdout


def test_missing_compiler_names_python_and_step(
    cli: Callable[..., Any], tmp_path: Path, projects: Path
) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, projects / "no-compiler", out)
    assert result.exit_code == 1
    [job] = record_of(out)["jobs"]
    assert job["failure"]["python"] == "cp312"
    assert job["failure"]["step"] == "Building wheel"
    assert "/opt/no-such-compiler/bin/cc" in job["failure"]["log_tail"]
    assert "full log: " in result.stderr
    assert Path(job["log"]).is_file()


def test_timeout_stops_the_job_and_its_containers(
    cli: Callable[..., Any], tmp_path: Path, projects: Path
) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, projects / "slow-build", out, "--timeout", "25")
    assert result.exit_code == 1
    [job] = record_of(out)["jobs"]
    assert job["failure"]["timed_out"] is True
    assert job["failure"]["python"] == "cp312"
    assert job["failure"]["step"] == "Running before_build"
    assert "ran past its timeout" in result.stderr
    test_no_stray_containers_after_builds()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_containers_and_writes_the_record(
    tmp_path: Path, projects: Path, stop: signal.Signals
) -> None:
    """Ctrl-C, and SIGTERM alike: containers stopped, the record written, no staging left."""
    out = tmp_path / "wheelhouse"
    argv = [sys.executable, "-m", "wheelyard", "build", str(projects / "slow-build")]
    argv += ["--output", str(out), "--date", DATE, "--no-compiler-cache"]
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as a terminal delivers it, also where the suite runs as a background job
        # (which starts with SIGINT ignored, and Python keeps an inherited ignore).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    ) as child:
        try:
            log = out / "logs" / "slow-build-linux-x86_64-cpu.log"
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and child.poll() is None:
                lines = log.read_text(errors="replace").splitlines() if log.is_file() else []
                if "wheelyard-test-sleeping" in (line.strip() for line in lines):
                    break  # the before-build step itself is running (not the options echo)
                time.sleep(0.5)
            assert child.poll() is None, "the build ended before it reached its before-build step"
            child.send_signal(stop)
            _, stderr = child.communicate(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 130, stderr
    assert "interrupted" in stderr
    [job] = record_of(out)["jobs"]
    assert job["status"] == "failed"
    assert job["failure"]["interrupted"] is True
    assert job["failure"]["python"] == "cp312"
    assert not (out / ".staging").exists() or not list((out / ".staging").iterdir())
    test_no_stray_containers_after_builds()


def test_multi_package_builds_core_then_plugin_into_one_wheelhouse(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "wheelhouse"
    monkeypatch.setenv("WHEELYARD_PYTHON", "cp312")
    result = build(cli, REPO / "examples" / "multi-package", out)
    assert result.exit_code == 0, result.stdout + result.stderr
    record = record_of(out)
    assert [p["name"] for p in record["packages"]] == ["yardstream", "yardstream-s3"]
    assert [(j["package"], j["status"]) for j in record["jobs"]] == [
        ("yardstream", "succeeded"),
        ("yardstream-s3", "succeeded"),
    ]
    names = sorted(w.name.split("-")[0] for w in (out / "cpu").glob("*.whl"))
    assert names == ["yardstream", "yardstream_s3"]
    # The plugin's smoke test ran against the core wheel built just before it.
    plugin_log = Path(record["jobs"][1]["log"]).read_text()
    assert f"on yardstream 0.1.0.dev{DATE.replace('-', '')}: ok (backends: file, s3)" in plugin_log


def test_cuda_wheels_carry_device_code_for_the_catalog_archs(
    cuda_kernels_wheelhouse: Path,
) -> None:
    out = cuda_kernels_wheelhouse
    arch_list = load_catalog().variant("cu130").arch_list
    assert arch_list
    for variant, expect_device_code in (("cu130", True), ("cpu", False)):
        [wheel] = sorted((out / variant).glob("*.whl"))
        with Wheel(wheel) as opened:
            [extension] = [n for n in opened.names if n.endswith(".so")]
            found = elf_device_code(opened.read(extension))
        if expect_device_code:
            assert missing_cubins(found, arch_list) == ()
        else:
            assert found == ()
    jobs = {j["job"]["variant"]: j for j in record_of(out)["jobs"]}
    # GPU wheels are not tested in the CPU build job; they get a GPU smoke test instead.
    assert jobs["cu130"]["effective_options"]["CIBW_TEST_SKIP"] == "*"
    assert "CIBW_TEST_SKIP" not in jobs["cpu"]["effective_options"]


def test_an_sdist_builds_like_its_source_tree(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = REPO / "examples" / "hello-c"
    sdist = tmp_path / "hello_c-0.1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "build" not in path.relative_to(source).parts:
                archive.add(path, arcname=f"hello_c-0.1.0/{path.relative_to(source)}")
    out = tmp_path / "wheelhouse"
    monkeypatch.setenv("WHEELYARD_PYTHON", "cp312")
    result = build(cli, sdist, out)
    assert result.exit_code == 0, result.stdout + result.stderr
    record = record_of(out)
    assert record["source"] == str(sdist)
    [wheel] = (out / "cpu").glob("*.whl")
    assert wheel.name.startswith("hello_c-") and "-cp312-cp312-" in wheel.name


def test_the_verification_gate_fails_a_wheel_the_build_accepted(
    cli: Callable[..., Any], tmp_path: Path, projects: Path
) -> None:
    out = tmp_path / "wheelhouse"
    result = build(cli, projects / "undeclared-dep", out)
    assert result.exit_code == 1
    assert "failed verification and are not eligible for publishing" in result.stderr
    [job] = record_of(out)["jobs"]
    assert job["status"] == "succeeded"  # cibuildwheel built it; the gate refused it
    [wheel] = job["wheels"]
    verdict = wheel["verification"]
    assert verdict["status"] == "failed"
    assert any(label.startswith("imports") for label in verdict["failed"])
    assert "undeclared_dep.export" in verdict["message"]
