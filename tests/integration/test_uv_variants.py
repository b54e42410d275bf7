"""uv's wheel-variant support (``--preview-features wheel-variants``) is the judge of wheelyard's
PEP 825 index: a release with cpu (null), cu126, cu128 and cu130 wheels is published with
`wheelyard publish`, served over HTTP on loopback, and installed by uv on machines whose NVIDIA
driver and GPU are forced through uv's built-in provider. For each machine, the variant label
of the installed wheel is asserted, `wheelyard install --dry-run` must choose the same one,
`wheelyard install` (which has uv resolve the variant) must install the same one, and
classic pip (no variant support) gets the non-variant fallback. Every scenario runs against
the index as a static folder and as the farm's HTTP service serves it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from uv import find_uv_bin

from farm_service import served_farm
from http_folder import served_folder
from pip_client import pip_fetch
from variant_wheelhouse import VERSION, make_wheelhouse, write_platform

pytestmark = pytest.mark.integration

VARIANTS = ("cpu", "cu126", "cu128", "cu130")
# (uv's forced driver, forced SM), wheelyard's platform facts, the label both must choose
SCENARIOS = [
    (("13.0", "9.0"), {"cuda_driver_version": "13.0", "compute_capability": "9.0"}, "cu130"),
    (("12.8", "9.0"), {"cuda_driver_version": "12.8", "compute_capability": "9.0"}, "cu128"),
    (("12.5", "9.0"), {"cuda_driver_version": "12.5", "compute_capability": "9.0"}, "null"),
    (None, None, "null"),
]


@pytest.fixture(scope="module", params=["folder", "farm"], ids=["static-folder", "farm-index"])
def served(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """The published index, served as a static folder and by the farm's HTTP service."""
    root = tmp_path_factory.mktemp("uv-variants")
    house = make_wheelhouse(root / "wheelhouse", variants=VARIANTS, pythons=["cp311"])
    index = root / "farm" / "index" if request.param == "farm" else root / "index"
    published = subprocess.run(
        [sys.executable, "-m", "wheelyard", "publish", str(house), "--to", str(index)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert published.returncode == 0, published.stdout + published.stderr
    serve = served_farm(root / "farm") if request.param == "farm" else served_folder(index)
    with serve as url:
        yield url


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "WHEELYARD_", "NV_VARIANT_PROVIDER_"))
    }
    env.update(UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never", UV_NO_CACHE="1", **extra)
    return env


def run(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def installed_label(python: Path) -> str | None:
    """The label in the installed wheel's variant.json (None: a non-variant wheel)."""
    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['platlib'])"],
        clean_env(),
    ).strip()
    [dist_info] = Path(site).glob("cuda_kernels-*.dist-info")
    variant_json = dist_info / "variant.json"
    if not variant_json.is_file():
        return None
    [label] = json.loads(variant_json.read_text())["variants"]
    return str(label)


@pytest.mark.parametrize(("forced", "facts", "expected"), SCENARIOS)
def test_uv_installs_the_variant_the_machine_should_get_and_wheelyard_agrees(
    served: str,
    tmp_path: Path,
    cli: Callable[..., Any],
    forced: tuple[str, str] | None,
    facts: dict[str, str] | None,
    expected: str,
) -> None:
    uv = find_uv_bin()
    venv = tmp_path / "venv"
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], clean_env())
    python = venv / "bin" / "python"
    env = clean_env()
    if forced is not None:
        env["NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION"] = forced[0]
        env["NV_VARIANT_PROVIDER_FORCE_SM_ARCH"] = forced[1]
    run(
        [uv, "pip", "install", "--python", str(python), "--preview-features", "wheel-variants",
         "--prerelease", "allow", "--index-url", f"{served}/simple/", "cuda-kernels"],
        env,
    )  # fmt: skip
    assert installed_label(python) == expected

    machine: dict[str, Any] = {"x86_64": {"level": 3}}
    if facts is not None:
        machine["nvidia"] = {
            "cuda_driver_version": facts["cuda_driver_version"],
            "driver_version": "580.00.00",
            "gpus": [{"name": "NVIDIA H100", "compute_capability": facts["compute_capability"]}],
        }
    platform = write_platform(tmp_path / "platform.json", machine)
    result = cli(
        "install", "cuda-kernels", "--pre", "--index-url", f"{served}/simple/",
        "--python", str(python), "--platform-file", str(platform), "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"-{expected}.whl" in result.stdout.split("chosen:", 1)[1].split("\n", 1)[0]

    # `wheelyard install` itself: uv's variant resolution installs, told the same machine, and
    # wheelyard checks that uv installed what it chose.
    own = tmp_path / "own"
    run([uv, "venv", "--quiet", "--python", sys.executable, str(own)], clean_env())
    output = run(
        [sys.executable, "-m", "wheelyard", "install", "cuda-kernels", "--pre",
         "--index-url", f"{served}/simple/", "--python", str(own / "bin" / "python"),
         "--platform-file", str(platform)],
        clean_env(),
    )  # fmt: skip
    assert "by uv's variant resolution, which chose the same" in output
    assert installed_label(own / "bin" / "python") == expected


def test_classic_pip_gets_the_non_variant_fallback(served: str, tmp_path: Path) -> None:
    target = tmp_path / "pip"
    pip_fetch("cuda-kernels", index_url=f"{served}/simple/", target=target)
    assert (target / "cuda_kernels" / "__init__.py").read_text() == 'VARIANT = "cpu"\n'
    assert not (target / f"cuda_kernels-{VERSION}.dist-info" / "variant.json").exists()


@pytest.mark.parametrize(
    ("forced", "expected"), [(("13.0", "9.0"), "cu130"), (("12.8", "9.0"), "null"), (None, "null")]
)
def test_uv_installs_real_cuda_kernels_wheels_by_variant(
    cuda_kernels_wheelhouse: Path,
    tmp_path: Path,
    forced: tuple[str, str] | None,
    expected: str,
) -> None:
    """The real cpu and cu130 wheels of examples/cuda-kernels (nvcc-compiled cubins for every
    catalog architecture), published and served: uv picks cu130 only where the driver is 13.x."""
    index = tmp_path / "index"
    published = subprocess.run(
        [sys.executable, "-m", "wheelyard", "publish", str(cuda_kernels_wheelhouse),
         "--to", str(index)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert published.returncode == 0, published.stdout + published.stderr
    with served_folder(index) as base:
        uv = find_uv_bin()
        venv = tmp_path / "venv"
        python312 = next(
            Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")).glob(
                "versions/3.12*/bin/python3.12"
            )
        )
        run([uv, "venv", "--quiet", "--python", str(python312), str(venv)], clean_env())
        env = clean_env()
        if forced is not None:
            env["NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION"] = forced[0]
            env["NV_VARIANT_PROVIDER_FORCE_SM_ARCH"] = forced[1]
        url = f"{base}/simple/"
        run(
            [uv, "pip", "install", "--python", str(venv / "bin" / "python"),
             "--preview-features", "wheel-variants", "--prerelease", "allow",
             "--index-url", url, "cuda-kernels"],
            env,
        )  # fmt: skip
        assert installed_label(venv / "bin" / "python") == expected
