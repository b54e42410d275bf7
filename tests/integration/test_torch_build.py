"""Real builds against a real torch: examples/torch-extension, compiled with
``torch.utils.cpp_extension`` in the cpu builder image against PyTorch's CPU build of torch
(a real release wheel, from a local folder of wheels), verified, then built again from the
shared torch cache.

The CUDA 13.0 build (PyPI's torch and several GB of its CUDA dependencies) is in
bench/torch_cache.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wheelyard.wheel.metadata import parse_metadata

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
CPU_TORCH = Path("/opt/wheels")
"""Where this machine family keeps PyTorch's CPU build of torch for Python 3.11."""
PYPI_MIRROR = Path("/opt/pypi-more/files")
"""A folder of PyPI files on this machine family: torch 2.14.1 (the CUDA 13.0 build) for
Python 3.11 with its CUDA dependencies."""


def record_of(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "build-record.json").read_text())
    return data


@pytest.fixture
def torch_project(tmp_path: Path, copy_example: Callable[[Path, Path], Path]) -> Path:
    if not any(CPU_TORCH.glob("torch-*+cpu-cp311-*.whl")):
        pytest.fail(f"no CPU torch for cp311 in {CPU_TORCH}: this test needs that wheel")
    return copy_example(REPO / "examples" / "torch-extension", tmp_path / "torch-extension")


def test_the_torch_extension_builds_against_the_variants_torch_once(
    cli: Callable[..., Any],
    torch_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # cp311 finds its torch in the folder; cp312 does not (the folder is its only source), so its
    # job fails before compiling and the cp311 job goes on.
    monkeypatch.setenv("WHEELYARD_PYTHON", "cp311 cp312")
    monkeypatch.setenv("WHEELYARD_CONSOLIDATION", "per-python")
    monkeypatch.setenv("WHEELYARD_TORCH_INDEX", json.dumps({"cpu": [str(CPU_TORCH)]}))
    cache = tmp_path / "torch-cache"
    out = tmp_path / "wheelhouse"
    args = ["build", str(torch_project), "--variant", "cpu", "-o", str(out)]
    result = cli(*args, "--torch-cache", str(cache), "--no-compiler-cache")
    assert result.exit_code == 1, result.stdout + result.stderr  # the cp312 job failed
    record = record_of(out)
    jobs = {job["job"]["pythons"][0]: job for job in record["jobs"]}

    failed = jobs["cp312"]
    assert failed["status"] == "failed" and failed["failure"]["step"] == "torch"
    message = failed["failure"]["message"]
    assert "no torch for cpu (cp312, x86_64) matching 'torch>=2.13,<2.15'" in message
    assert str(CPU_TORCH) in message
    assert not failed["wheels"] and failed["pythons"][0]["status"] == "not-started"

    job = jobs["cp311"]
    assert job["status"] == "succeeded", job.get("failure")
    torch = job["torch"]
    [got] = torch["builds"]
    assert got["version"].endswith("+cpu") and got["accelerator"] == "cpu"
    assert got["source"] == str(CPU_TORCH) and got["cxx11_abi"] is True
    assert torch["downloaded_files"] >= 1 and torch["downloaded_bytes"] > 100_000_000
    [wheel] = job["wheels"]
    assert wheel["verification"]["status"] == "passed", wheel["verification"]
    against = wheel["built_against"]
    assert against["torch"]["version"] == got["version"]
    # pypa/build's own list of what the isolated build environment held: this torch
    assert against["build_dependencies"]["torch"] == got["version"]
    needed = set(against["shared_libraries"])
    assert {"libc10.so", "libtorch_cpu.so"} <= needed
    path = out / wheel["path"]
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        metadata = parse_metadata(archive.read("torch_extension-0.1.0.dist-info/METADATA"))
    assert not [n for n in names if "libc10" in n or "libtorch" in n], names
    assert metadata.metadata is not None
    major, minor = got["version"].split(".")[:2]
    assert [str(r) for r in metadata.metadata.requires_dist or ()] == [
        f"torch<{major}.{int(minor) + 1},>={major}.{minor}"
    ]
    log = Path(job["log"]).read_text(encoding="utf-8")
    assert "cpu: scaled_add matches torch" in log  # the smoke test ran the op in the build

    # The same job again: torch and its dependencies come from the cache, nothing downloaded.
    monkeypatch.setenv("WHEELYARD_PYTHON", "cp311")
    second = tmp_path / "again"
    again = cli(
        "build",
        str(torch_project),
        "--variant",
        "cpu",
        "-o",
        str(second),
        "--torch-cache",
        str(cache),
        "--no-compiler-cache",
        "--no-verify",
    )
    assert again.exit_code == 0, again.stdout + again.stderr
    [job] = record_of(second)["jobs"]
    assert job["torch"]["downloaded_files"] == 0
    assert job["torch"]["reused_files"] == torch["downloaded_files"]
    assert job["torch"]["builds"] == torch["builds"]


def test_a_torch_pin_rebuilds_against_that_torch_and_diff_reports_it(
    cli: Callable[..., Any],
    torch_project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a campaign's `--pin torch==2.14.*` does to a build (``WHEELYARD_TORCH``, as the
    campaign's build options set it): the same project, built against 2.13 and then against
    the pinned 2.14 from the next source, a local mirror of PyPI's torch and its dependencies."""
    if not any(PYPI_MIRROR.glob("torch-2.14.*-cp311-*.whl")):
        pytest.fail(f"no torch 2.14 for cp311 in {PYPI_MIRROR}: this test needs that mirror")
    monkeypatch.setenv("WHEELYARD_PYTHON", "cp311")
    sources = {"cpu": [str(CPU_TORCH), str(PYPI_MIRROR)]}
    monkeypatch.setenv("WHEELYARD_TORCH_INDEX", json.dumps(sources))
    cache = tmp_path / "torch-cache"

    def build(out: Path) -> dict[str, Any]:
        result = cli(
            "build", str(torch_project), "--variant", "cpu", "-o", str(out),
            "--torch-cache", str(cache), "--no-compiler-cache",
        )  # fmt: skip
        assert result.exit_code == 0, result.stdout + result.stderr
        [job] = record_of(out)["jobs"]
        return job

    before = build(tmp_path / "before")
    monkeypatch.setenv("WHEELYARD_TORCH", "==2.14.*")
    after = build(tmp_path / "after")
    [got] = after["torch"]["builds"]
    assert (got["version"], got["source"]) == ("2.14.1", str(PYPI_MIRROR))
    assert got["torch_version"] == "2.14.1+cu130" and got["accelerator"] == "cuda 13.0"
    [wheel] = after["wheels"]
    assert wheel["verification"]["status"] == "passed", wheel["verification"]
    assert wheel["built_against"]["build_dependencies"]["torch"] == "2.14.1"
    with zipfile.ZipFile(tmp_path / "after" / wheel["path"]) as archive:
        metadata = parse_metadata(archive.read("torch_extension-0.1.0.dist-info/METADATA"))
    assert metadata.metadata is not None
    assert [str(r) for r in metadata.metadata.requires_dist or ()] == ["torch<2.15,>=2.14"]

    diff = cli("diff", str(tmp_path / "before"), str(tmp_path / "after"), "--json")
    assert diff.exit_code == 1, diff.stdout
    [pair] = json.loads(diff.stdout)["wheels"]
    assert "built against torch.version: '2.13.0+cpu' -> '2.14.1'" in pair["reasons"]
    assert before["torch"]["builds"][0]["version"] == "2.13.0+cpu"


def test_a_real_torch_extension_from_pypi_builds_with_a_recipe_that_sets_only_torch(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torchsort (a C++ torch operator, sdist only on PyPI, torch in its build requirements)
    built by name with a farm-side recipe of two keys; its wheel imports and sorts."""
    if not any(CPU_TORCH.glob("torch-*+cpu-cp311-*.whl")):
        pytest.fail(f"no CPU torch for cp311 in {CPU_TORCH}: this test needs that wheel")
    recipe = tmp_path / "torchsort.toml"
    recipe.write_text('variants = ["cpu"]\ntorch = ">=2.13,<2.15"\n', encoding="utf-8")
    monkeypatch.setenv("WHEELYARD_PYTHON", "cp311")
    monkeypatch.setenv("WHEELYARD_TORCH_INDEX", json.dumps({"cpu": [str(CPU_TORCH)]}))
    out = tmp_path / "wheelhouse"
    result = cli(
        "build", "torchsort==0.1.10", "--recipe", str(recipe), "-o", str(out),
        "--torch-cache", str(tmp_path / "torch-cache"), "--no-compiler-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    [job] = record_of(out)["jobs"]
    [wheel] = job["wheels"]
    # every check passed; the recipe names no smoke test, so the gate says so (run below)
    verdict = wheel["verification"]
    assert (verdict["failed"], verdict["skipped"]) == ([], ["smoke[3.11]"]), verdict
    assert wheel["built_against"]["torch"]["version"].endswith("+cpu")
    assert {"libc10.so", "libtorch_cpu.so"} <= set(wheel["built_against"]["shared_libraries"])

    venv = tmp_path / "venv"
    uv = str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], check=True)
    subprocess.run(
        [
            uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"),
            "--no-index", "--find-links", job["torch"]["wheelhouse"], str(out / wheel["path"]),
        ],
        check=True,
    )  # fmt: skip
    ranked = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import torch, torchsort; print(torchsort.soft_rank(torch.tensor([[3., 1., 2.]]),"
            " regularization_strength=1e-3).tolist())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(ranked.stdout.strip().splitlines()[-1]) == [[3.0, 1.0, 2.0]]
