"""Real builder images: built (or reused from the cache) with podman, then looked at from inside
a container the way cibuildwheel looks at a manylinux image."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.version import Version

from wheelyard import proc
from wheelyard.builder.engine import ContainerEngine, detect_engine
from wheelyard.builder.image.ensure import ImageBuildResult, ImageSettings, ensure_image
from wheelyard.catalog import load_catalog
from wheelyard.errors import ImageError

pytestmark = pytest.mark.integration

CIBW_PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313")


def settings() -> ImageSettings:
    default = ImageSettings.default()
    pyenv = os.environ.get("PYENV_ROOT")
    return ImageSettings(
        cache_dir=default.cache_dir, pyenv_root=Path(pyenv) if pyenv else default.pyenv_root
    )


@pytest.fixture(scope="module")
def engine() -> ContainerEngine:
    return detect_engine()


@pytest.fixture(scope="module")
def cpu(engine: ContainerEngine) -> ImageBuildResult:
    return ensure_image("cpu", catalog=load_catalog(), engine=engine, settings=settings())


@pytest.fixture(scope="module")
def cu130(engine: ContainerEngine, cpu: ImageBuildResult) -> ImageBuildResult:
    return ensure_image("cu130", catalog=load_catalog(), engine=engine, settings=settings())


def inside(engine: ContainerEngine, image: str, script: str) -> str:
    """Run ``script`` with bash in a throw-away container of ``image``; its output."""
    argv = [engine.executable, "run", "--rm", *engine.create_args(), image, "bash", "-c", script]
    return proc.run(argv, timeout=300).output


def test_cpu_image_has_what_cibuildwheel_needs(
    engine: ContainerEngine, cpu: ImageBuildResult
) -> None:
    assert cpu.ref == "localhost/wheelyard-builder:cpu"
    assert cpu.info.platform == "linux/amd64"  # else cibuildwheel would try to pull it
    assert cpu.image.interpreters == CIBW_PYTHONS
    assert cpu.image.toolkit["gcc"].startswith("12.")
    lines = []
    for tag in CIBW_PYTHONS:
        bin_dir = f"/opt/python/{tag}-{tag}/bin"
        lines += [
            f"test -x {bin_dir}/python",
            f"echo which $(PATH={bin_dir}:$PATH which python) $(PATH={bin_dir}:$PATH which pip)",
            f"{bin_dir}/python -c 'import sys, sysconfig, build, virtualenv; "
            f'print("prefix", sys.prefix, "-rpath" in sysconfig.get_config_var("LDSHARED"))\'',
        ]
    lines += [
        "auditwheel --version",
        "patchelf --version",
        "uv --version",
        "gcc --version | head -1",
        "echo env $UV_PYTHON_DOWNLOADS $SSL_CERT_FILE $LANG",
    ]
    output = inside(engine, cpu.ref, "set -e\n" + "\n".join(lines))
    for tag in CIBW_PYTHONS:
        bin_dir = f"/opt/python/{tag}-{tag}/bin"
        assert f"which {bin_dir}/python {bin_dir}/pip" in output
        # relocated: the prefix is the image path, and extensions get no RUNPATH
        assert f"prefix /opt/python/{tag}-{tag} False" in output
    found = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)
    assert found["auditwheel"].startswith("6.8.2 ")
    assert Version(found["patchelf"]) >= Version("0.14.5")
    assert found["uv"].startswith("0.")
    assert found["gcc"].startswith("(Debian 12.")
    assert found["env"] == "never /etc/ssl/certs/ca-certificates.crt C.UTF-8"


def test_second_cpu_build_is_a_cached_no_op(engine: ContainerEngine, cpu: ImageBuildResult) -> None:
    started = time.monotonic()
    again = ensure_image("cpu", catalog=load_catalog(), engine=engine, settings=settings())
    assert again.cached
    assert again.info.id == cpu.info.id
    assert again.recipe_hash == cpu.recipe_hash
    assert time.monotonic() - started < 30


def test_cu130_image_has_the_toolkit(
    engine: ContainerEngine, cpu: ImageBuildResult, cu130: ImageBuildResult
) -> None:
    assert cu130.ref == "localhost/wheelyard-builder:cu130"
    assert cu130.image.toolkit["nvcc"].startswith("13.0.")
    assert cu130.image.interpreters == cpu.image.interpreters
    assert cu130.base is not None
    assert cu130.base.info.id == cpu.info.id
    output = inside(
        engine,
        cu130.ref,
        "set -e; nvcc --version; echo home $CUDA_HOME; ls $CUDA_HOME/lib64/libcudart_static.a",
    )
    assert "Cuda compilation tools, release 13.0, V13.0." in output
    assert "home /usr/local/cuda" in output
    assert "/usr/local/cuda/lib64/libcudart_static.a" in output
    again = ensure_image("cu130", catalog=load_catalog(), engine=engine, settings=settings())
    assert again.cached
    assert again.info.id == cu130.info.id


def test_cuda12_wheels_cannot_make_an_image(engine: ContainerEngine, cpu: ImageBuildResult) -> None:
    with pytest.raises(ImageError) as caught:
        ensure_image("cu128", catalog=load_catalog(), engine=engine, settings=settings())
    assert "installed no nvcc" in caught.value.message
    assert caught.value.hint is not None
    assert "CUDA 13 wheels carry the whole compiler" in caught.value.hint
    assert engine.image_info("localhost/wheelyard-builder:cu128") is None


def _ours(engine: ContainerEngine, pid: int) -> list[str]:
    containers = engine.containers_with_label(f"dev.wheelyard.pid={pid}")
    tags = [
        tag
        for info in engine.images_with_label("dev.wheelyard.builder=1")
        for tag in info.tags
        if f"-candidate-{pid}-" in tag
    ]
    return [c.name for c in containers] + tags


def test_ctrl_c_leaves_no_container_behind(
    engine: ContainerEngine, cu130: ImageBuildResult
) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "wheelyard", "image", "build", "-v", "cu130", "--force"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "CI": "true"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    try:
        deadline = time.monotonic() + 120
        while not engine.containers_with_label(f"dev.wheelyard.pid={child.pid}"):
            assert child.poll() is None, "the build ended before its container appeared"
            assert time.monotonic() < deadline, "no build container appeared"
            time.sleep(0.2)
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, output
    assert _ours(engine, child.pid) == []
    assert engine.image_info(cu130.ref) is not None
