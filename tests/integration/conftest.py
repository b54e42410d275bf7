"""Integration fixtures: real wheels of the examples, built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"
BUILD_DATE = "2026-11-20"


def build_wheels(
    project: Path,
    output: Path,
    *,
    environ: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Path:
    """``wheelyard build`` of ``project`` into ``output`` (a real cibuildwheel build)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHEELYARD_")}
    env.update(environ or {})
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wheelyard",
            "build",
            str(project),
            "--output",
            str(output),
            "--date",
            BUILD_DATE,
            "--no-compiler-cache",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return output


def copy_project(source: Path, target: Path) -> Path:
    """A copy of an example without build leftovers (to change one thing in it)."""
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    return target


@pytest.fixture(scope="session")
def hello_c_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/hello-c built once for the session: ``<wheelhouse>/cpu/*.whl``, every Python."""
    return build_wheels(HELLO_C, tmp_path_factory.mktemp("hello-c") / "wheelhouse")


BuildExample = Callable[..., Path]


@pytest.fixture(scope="session")
def build_example() -> BuildExample:
    """``build_example(project, output, environ={...})``: one more real build."""
    return build_wheels


@pytest.fixture(scope="session")
def copy_example() -> Callable[[Path, Path], Path]:
    return copy_project


@pytest.fixture(scope="session")
def cuda_kernels_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/cuda-kernels built once for the session: the cpu and cu130 variants (the CUDA
    toolkits these machines can provide) for cp312."""
    environ = {"WHEELYARD_PYTHON": "cp312", "WHEELYARD_VARIANTS": "cpu cu130"}
    out = tmp_path_factory.mktemp("cuda-kernels") / "wheelhouse"
    return build_wheels(REPO / "examples" / "cuda-kernels", out, environ=environ)
