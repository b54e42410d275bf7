"""Real clients against the written index, served over HTTP on loopback: pip and uv get the
non-variant fallback from simple/ and the right build from whl/nightly/<variant>/; `wheelyard
install` installs the PEP 825 variant the machine (forced by an override file) should get.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from uv import find_uv_bin

from http_folder import served_folder
from pip_client import pip_fetch
from variant_wheelhouse import DRIVER_126, DRIVER_129_SM90, VERSION, make_wheelhouse, write_platform
from wheelyard.catalog import load_catalog
from wheelyard.index.publish import PublishOptions, publish_wheelhouse
from wheelyard.index.store import FileStore


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("clients")
    house = make_wheelhouse(root / "wheelhouse", pure=True)
    publish_wheelhouse(
        house, FileStore(root / "index"), catalog=load_catalog(), options=PublishOptions()
    )
    with served_folder(root / "index") as url:
        yield url


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "WHEELYARD_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", UV_NO_CACHE="1"
    )
    return env


def run(argv: list[str]) -> str:
    result = subprocess.run(
        argv, capture_output=True, text=True, env=clean_env(), timeout=300, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def pip_install(url: str, target: Path) -> str:
    pip_fetch("cuda-kernels", index_url=url, target=target)
    return (target / "cuda_kernels" / "__init__.py").read_text()


def test_pip_gets_the_fallback_from_simple_and_the_build_from_the_legacy_tree(
    served: str, tmp_path: Path
) -> None:
    assert pip_install(f"{served}/simple/", tmp_path / "a") == 'VARIANT = "cpu"\n'
    assert (tmp_path / "a" / f"cuda_kernels-{VERSION}.dist-info").is_dir()
    assert not (tmp_path / "a" / f"cuda_kernels-{VERSION}.dist-info" / "variant.json").exists()
    assert pip_install(f"{served}/whl/nightly/cu126/", tmp_path / "b") == 'VARIANT = "cu126"\n'
    assert (tmp_path / "b" / f"cuda_kernels-{VERSION}+cu126.dist-info").is_dir()


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    run([find_uv_bin(), "venv", "--quiet", "--python", sys.executable, str(tmp_path / "venv")])
    return tmp_path / "venv" / "bin" / "python"


def variant_in(python: Path) -> str:
    return run([str(python), "-c", "import cuda_kernels; print(cuda_kernels.VARIANT)"]).strip()


def test_uv_gets_the_fallback_and_the_legacy_build(served: str, venv: Path) -> None:
    uv = find_uv_bin()
    run(
        [
            uv,
            "pip",
            "install",
            "--python",
            str(venv),
            "--prerelease",
            "allow",
            "--index-url",
            f"{served}/simple/",
            "cuda-kernels",
        ]
    )
    assert variant_in(venv) == "cpu"
    run(
        [
            uv,
            "pip",
            "install",
            "--python",
            str(venv),
            "--reinstall",
            "--prerelease",
            "allow",
            "--index-url",
            f"{served}/whl/nightly/cu128/",
            "cuda-kernels",
        ]
    )
    assert variant_in(venv) == "cu128"


@pytest.mark.parametrize(
    ("machine", "expected"), [(DRIVER_129_SM90, "cu128"), (DRIVER_126, "cu126")]
)
def test_wheelyard_install_installs_the_variant_for_the_machine(
    served: str,
    venv: Path,
    tmp_path: Path,
    cli: Callable[..., Any],
    machine: dict[str, Any],
    expected: str,
) -> None:
    platform = write_platform(tmp_path / "platform.json", machine)
    result = cli(
        "install",
        "cuda-kernels",
        "--pre",
        "--index-url",
        f"{served}/simple/",
        "--python",
        str(venv),
        "--platform-file",
        str(platform),
    )
    assert result.exit_code == 0, result.stderr
    assert f"-{expected}.whl" in result.stdout
    assert variant_in(venv) == expected
    site = run(
        [
            str(venv),
            "-c",
            "import cuda_kernels, pathlib; print(pathlib.Path(cuda_kernels.__file__).parents[1])",
        ]
    ).strip()
    assert (Path(site) / f"cuda_kernels-{VERSION}.dist-info" / "variant.json").is_file()
