"""The catalog's official image, pulled by digest from a real registry (the CNCF distribution
registry, Debian's docker-registry, on loopback): the job runs in it and the record says so; a
second build finds it present; ``--images local`` never pulls. Without a registry the same build
falls back to wheelyard's own image (tests/integration/test_build.py)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wheelyard.builder.engine import detect_engine
from wheelyard.builder.image.ensure import ensure_image
from wheelyard.catalog import load_catalog

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"
DATE = "2026-11-20"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _podman(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, check=False, env=env, timeout=600
    )
    assert done.returncode == 0, f"podman {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout.strip()


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A registry on loopback and the environment that lets podman use it over plain HTTP."""
    server = shutil.which("docker-registry")
    if server is None:
        pytest.fail("docker-registry is not installed: run scripts/setup.sh")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'blobs'}\n"
        f"http:\n  addr: {address}\n"
    )
    conf = tmp_path / "registries.conf"
    conf.write_text(f'[[registry]]\nlocation = "{address}"\ninsecure = true\n')
    env = {**os.environ, "CONTAINERS_REGISTRIES_CONF": str(conf)}
    log = (tmp_path / "registry.log").open("w")
    process = subprocess.Popen([server, "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://{address}/v2/", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "registry.log").read_text()
                time.sleep(0.2)
        yield address, env
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _build(out: Path, recipe: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    clean = {k: v for k, v in env.items() if not k.startswith("WHEELYARD_")}
    clean["COLUMNS"] = "1000"  # the image reference on one line
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wheelyard",
            "build",
            str(HELLO_C),
            "--recipe",
            str(recipe),
            "--output",
            str(out),
            "--date",
            DATE,
            "--no-compiler-cache",
            *args,
        ],
        capture_output=True,
        text=True,
        env=clean,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    record = json.loads((out / "build-record.json").read_text())
    [job] = record["jobs"]
    assert {w["verification"]["status"] for w in job["wheels"]} == {"passed"}
    image: dict[str, Any] = job["image"]
    image["output"] = " ".join(done.stdout.split())
    return image


def test_the_catalogs_registry_image_is_pulled_by_digest_and_used(
    registry: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    address, env = registry
    local = ensure_image("cpu", catalog=load_catalog(), engine=detect_engine(None))
    # An image of its own (a label more than wheelyard's cpu image) stands in for the official
    # one, so that removing it after never touches the local image.
    container = f"wheelyard-pull-test-{os.getpid()}"
    name = f"{address}/pypa/manylinux_2_28_x86_64:test"
    _podman("create", "--name", container, local.ref, "true")
    pulled_id = ""
    try:
        _podman("commit", "--change", "LABEL dev.wheelyard.test=official", container, name)
        digest_file = tmp_path / "digest"
        _podman("push", "--digestfile", str(digest_file), name, env=env)
        _podman("rmi", name)
        official = f"{address}/pypa/manylinux_2_28_x86_64@{digest_file.read_text().strip()}"
        recipe = tmp_path / "recipe.toml"
        recipe.write_text(
            'python = ["cp312"]\n'
            "[catalog.variants.cpu]\n"
            f'images = {{ linux-x86_64 = "{official}" }}\n'
        )
        first = _build(tmp_path / "first", recipe, env)
        assert (first["source"], first["ref"], first["wanted"]) == ("pulled", official, None)
        assert first["labels"]["dev.wheelyard.test"] == "official"
        assert first["digest"] and first["id"]
        assert f"image pull {official}: finished" in first["output"]
        assert "instead of" not in first["output"]
        pulled_id = str(first["id"])

        again = _build(tmp_path / "again", recipe, env)
        assert (again["source"], again["ref"], again["id"]) == ("present", official, pulled_id)
        assert "pull " not in again["output"]

        own = _build(tmp_path / "own", recipe, env, "--images", "local")
        assert (own["source"], own["ref"], own["wanted"]) == ("local", local.ref, official)
        assert own["reason"] == "--images local (no pull)"
    finally:
        subprocess.run(["podman", "rm", "--force", container], capture_output=True, check=False)
        if pulled_id:
            subprocess.run(
                ["podman", "rmi", "--force", pulled_id], capture_output=True, check=False
            )
