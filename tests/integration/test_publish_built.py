"""Real wheels end to end: cuda-kernels built for cpu and cu130, published, then chosen.

The installer side must pick the CUDA build only for a machine whose driver can run it, the
CPU (null variant) build otherwise; old installers get the non-variant fallback from simple/ and
the CUDA build from the legacy per-variant tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pip_client import pip_fetch

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
PROJECT = REPO / "examples" / "cuda-kernels"


def python312() -> str:
    """A CPython 3.12 to install into (the wheels are built for cp312 only)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(root.glob("versions/3.12.*/bin/python3.12"))
    if not found:
        pytest.fail(f"these tests need a CPython 3.12 under {root}/versions")
    return str(found[-1])


def wheelyard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WHEELYARD_")}
    return subprocess.run(
        [sys.executable, "-m", "wheelyard", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        check=False,
        timeout=600,
    )


def platform_file(tmp_path: Path, name: str, facts: dict[str, Any]) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(facts))
    return path


def gpu(cuda: str, capability: str) -> dict[str, Any]:
    return {
        "nvidia": {
            "cuda_driver_version": cuda,
            "driver_version": "580.65.06",
            "gpus": [{"name": "NVIDIA H100", "compute_capability": capability}],
        },
        "x86_64": {"level": 3},
    }


@pytest.fixture(scope="module")
def index(cuda_kernels_wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("index") / "index"
    result = wheelyard(
        "publish", str(cuda_kernels_wheelhouse), "--to", str(target), "--project", str(PROJECT)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


@pytest.mark.parametrize(
    ("name", "facts", "label"),
    [
        ("driver-13.0-sm90", gpu("13.0", "9.0"), "cu130"),
        ("driver-12.9-sm90", gpu("12.9", "9.0"), "null"),
        ("no-gpu", {"x86_64": {"level": 3}}, "null"),
    ],
)
def test_install_picks_the_variant_the_machine_can_run(
    index: Path, tmp_path: Path, name: str, facts: dict[str, Any], label: str
) -> None:
    result = wheelyard(
        "install",
        "cuda-kernels",
        "--pre",
        "--index-url",
        str(index / "simple"),
        "--dry-run",
        "--json",
        "--platform-file",
        str(platform_file(tmp_path, name, facts)),
        "--python",
        python312(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [choice] = json.loads(result.stdout)["choices"]
    assert choice["chosen"]["label"] == label
    assert choice["chosen"]["filename"].endswith(f"-{label}.whl")


def test_old_pip_gets_the_fallback_and_the_legacy_cuda_build(index: Path, tmp_path: Path) -> None:
    def pip_install(url: Path, target: Path) -> list[str]:
        pip_fetch("cuda-kernels", index_url=url.as_uri(), target=target, python=python312())
        return sorted(p.name for p in target.glob("cuda_kernels-*.dist-info"))

    [fallback] = pip_install(index / "simple", tmp_path / "a")
    assert "+" not in fallback
    assert not (tmp_path / "a" / fallback / "variant.json").exists()
    [legacy] = pip_install(index / "whl" / "nightly" / "cu130", tmp_path / "b")
    assert legacy.endswith("+cu130.dist-info")


def test_gpu_smoke_stage_on_the_real_cuda_wheel(
    cuda_kernels_wheelhouse: Path, tmp_path: Path
) -> None:
    wheels = str(cuda_kernels_wheelhouse / "cu130")
    bare = platform_file(tmp_path, "no-gpu", {"x86_64": {"level": 3}})
    no_gpu = wheelyard("smoke", "--gpu", wheels, env={"WHEELYARD_DETECT_FILE": str(bare)})
    assert no_gpu.returncode == 3, no_gpu.stdout + no_gpu.stderr
    assert "skipped: no GPU" in no_gpu.stdout + no_gpu.stderr
    old = platform_file(tmp_path, "old-driver", gpu("12.9", "9.0"))
    too_old = wheelyard("smoke", "--gpu", wheels, env={"WHEELYARD_DETECT_FILE": str(old)})
    assert too_old.returncode == 1, too_old.stdout + too_old.stderr
    assert "13.0" in too_old.stdout + too_old.stderr
