"""A rebuild of a version already published gets a wheel build tag, and wins.

hello-c is built and published at ``0.1.0.dev20261120``, then rebuilt for cp312 at the same
version with ``--build-tag 1`` (what a campaign does when its rebuild keeps the version) and
published into the same index: no file name collides, and pip, uv's resolver through
``wheelyard install`` and the legacy tree all pick the rebuilt wheel.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from test_publish_built import python312, wheelyard

from conftest import HELLO_C, BuildExample
from pip_client import pip_fetch

pytestmark = pytest.mark.integration

VERSION = "0.1.0.dev20261120"


def test_a_rebuild_with_a_build_tag_is_published_next_to_the_first_and_preferred(
    hello_c_wheelhouse: Path, build_example: BuildExample, tmp_path: Path
) -> None:
    rebuilt = build_example(
        HELLO_C,
        tmp_path / "rebuilt",
        environ={"WHEELYARD_PYTHON": "cp312"},
        args=["--build-tag", "1"],
    )
    [wheel] = (rebuilt / "cpu").glob("*.whl")
    assert wheel.name.startswith(f"hello_c-{VERSION}-1-cp312-cp312-")
    with zipfile.ZipFile(wheel) as archive:
        assert "Build: 1" in archive.read(f"hello_c-{VERSION}.dist-info/WHEEL").decode()
    record = json.loads((rebuilt / "build-record.json").read_text())
    [job] = record["jobs"]
    assert [w["name"] for w in job["wheels"]] == [wheel.name]
    assert job["wheels"][0]["verification"]["status"] == "passed"

    index = tmp_path / "index"
    for wheelhouse in (hello_c_wheelhouse, rebuilt):
        published = wheelyard(
            "publish", str(wheelhouse), "--to", str(index), "--project", str(HELLO_C)
        )
        assert published.returncode == 0, published.stdout + published.stderr
    names = sorted(p.name for p in (index / "packages" / "hello-c").glob("*cp312*.whl"))
    assert len(names) == 6  # variant, fallback and legacy wheel of each build
    assert sum(f"{VERSION}-1-" in n or f"{VERSION}+cpu-1-" in n for n in names) == 3

    def pip_download(url: Path, target: Path) -> str:
        fetched = pip_fetch(
            f"hello-c=={VERSION}",
            index_url=url.as_uri(),
            target=target,
            python=python312(),
            download=True,
        )
        [got] = [p.name for p in fetched.glob("*.whl")]
        return got

    assert pip_download(index / "simple", tmp_path / "a").startswith(f"hello_c-{VERSION}-1-")
    legacy = pip_download(index / "whl" / "nightly" / "cpu", tmp_path / "b")
    assert legacy.startswith(f"hello_c-{VERSION}+cpu-1-")

    chosen = wheelyard(
        "install", "hello-c", "--pre", "--index-url", str(index / "simple"),
        "--dry-run", "--json", "--python", python312(),
    )  # fmt: skip
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    [choice] = json.loads(chosen.stdout)["choices"]
    assert choice["chosen"]["filename"].startswith(f"hello_c-{VERSION}-1-cp312-")
    assert choice["chosen"]["filename"].endswith("-null.whl")


def test_a_build_tag_that_is_not_one_is_refused_before_building(tmp_path: Path) -> None:
    result = wheelyard("build", str(HELLO_C), "--build-tag", "01", "--output", str(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "'01' is not a wheel build tag" in result.stdout + result.stderr
    assert not any(tmp_path.iterdir())
