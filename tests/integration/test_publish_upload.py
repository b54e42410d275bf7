"""`wheelyard upload` with twine to a local pypiserver on loopback, then pip installs it back.
Variant wheels are refused before anything is sent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pip_client import pip_fetch
from variant_wheelhouse import DIST, VERSION, make_wheelhouse
from wheelyard.catalog import load_catalog
from wheelyard.index.publish import PublishOptions, publish_wheelhouse
from wheelyard.index.store import FileStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def pypiserver(tmp_path: Path) -> Iterator[str]:
    packages = tmp_path / "pypiserver-packages"
    packages.mkdir()
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "pypiserver",
        "run",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-a",
        ".",
        "-P",
        ".",
        "--disable-fallback",
        str(packages),
    ]
    server = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("pypiserver did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_upload_fallbacks_with_twine_and_install_them_back(
    pypiserver: str, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse", pure=True)
    result = cli(
        "upload",
        str(house),
        "--repository-url",
        f"{pypiserver}/",
        "--username",
        "u",
        "--password",
        "p",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["files"] == [f"{DIST}-{VERSION}-py3-none-any.whl"]
    target = tmp_path / "installed"
    pip_fetch("cuda-kernels", index_url=f"{pypiserver}/simple/", target=target)
    assert (target / "cuda_kernels" / "__init__.py").read_text() == 'VARIANT = "cpu"\n'


def test_variant_wheels_are_never_uploaded(
    pypiserver: str, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse", pure=True, variants=("cpu", "cu128"))
    publish_wheelhouse(
        house, FileStore(tmp_path / "index"), catalog=load_catalog(), options=PublishOptions()
    )
    variant = (
        tmp_path
        / "index"
        / "packages"
        / "cuda-kernels"
        / f"{DIST}-{VERSION}-py3-none-any-cu128.whl"
    )
    result = cli("upload", str(variant), "--repository-url", f"{pypiserver}/", "--dry-run")
    assert result.exit_code == 1
    assert "PEP 825 variant wheel" in result.stderr
    legacy = (
        tmp_path
        / "index"
        / "packages"
        / "cuda-kernels"
        / f"{DIST}-{VERSION}+cu128-py3-none-any.whl"
    )
    to_pypi = cli(
        "upload", str(legacy), "--repository-url", "https://upload.pypi.org/legacy/", "--dry-run"
    )
    assert to_pypi.exit_code == 1
    assert "PyPI refuses local versions" in to_pypi.stderr
    private = cli(
        "upload",
        str(legacy),
        "--repository-url",
        f"{pypiserver}/",
        "--username",
        "u",
        "--password",
        "p",
    )
    assert private.exit_code == 0, private.stderr
