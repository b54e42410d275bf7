"""Packages nobody here wrote: real PyPI sdists built by name with the defaults (no
[tool.wheelyard] table), a system library from a farm recipe, and a setup.py-only package.

The whole corpus (tests/realworld/packages.txt) runs in bench/realworld.py; CI builds three
small ones here, each for every Python of the image from 3.10.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import parse_wheel_filename

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
RECIPES = REPO / "tests" / "realworld" / "recipes"
PYTHONS = ["cp310", "cp311", "cp312", "cp313"]


def record_of(out: Path) -> dict[str, Any]:
    return json.loads((out / "build-record.json").read_text())


def wheels_of(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "cpu").glob("*.whl"))


@pytest.mark.parametrize(
    ("requirement", "module"),
    [
        ("markupsafe==3.0.4", "markupsafe/_speedups"),
        ("setproctitle==1.3.8", "setproctitle/_setproctitle"),
        ("pybcj==1.0.8", "bcj/_bcj"),
    ],
)
def test_a_pypi_sdist_builds_by_name_with_its_own_version(
    cli: Callable[..., Any], tmp_path: Path, requirement: str, module: str
) -> None:
    version = requirement.split("==")[1]
    out = tmp_path / "wheelhouse"
    result = cli("build", requirement, "--output", str(out), "--no-compiler-cache")
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"fetching the sdist of {requirement} from https://pypi.org/simple/" in result.stdout
    record = record_of(out)
    assert record["version"] == version  # its own version: no nightly rewrite
    assert record["channel"] == "release"
    assert record["source"].startswith(f"{requirement} (")
    wheels = wheels_of(out)
    assert [str(parse_wheel_filename(w)[1]) for w in wheels] == [version] * len(wheels)
    assert sorted({next(iter(parse_wheel_filename(w)[3])).interpreter for w in wheels}) == PYTHONS
    for wheel in wheels:
        with zipfile.ZipFile(out / "cpu" / wheel) as archive:
            assert any(n.startswith(module) and n.endswith(".so") for n in archive.namelist())
    [job] = record["jobs"]
    verdicts = {w["name"]: w["verification"]["status"] for w in job["wheels"]}
    assert set(verdicts.values()) <= {"passed", "incomplete"}, verdicts  # incomplete: no smoke


def test_a_system_library_from_a_farm_recipe_makes_the_real_extension(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """PyYAML without libyaml quietly builds pure Python; the recipe's system-packages installs
    libyaml-dev in the container, and auditwheel bundles libyaml into the wheel."""
    out = tmp_path / "with"
    result = cli(
        "build", "pyyaml==6.0.4", "--recipe", str(RECIPES / "pyyaml.toml"),
        "--output", str(out), "--no-compiler-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel] = [w for w in wheels_of(out) if "-cp312-" in w]
    with zipfile.ZipFile(out / "cpu" / wheel) as archive:
        names = archive.namelist()
    assert any(n.startswith("yaml/_yaml.cpython-312") for n in names), names
    assert any(n.startswith("pyyaml.libs/libyaml") for n in names), names
    [job] = record_of(out)["jobs"]
    assert "libyaml-dev" in job["effective_options"]["CIBW_BEFORE_ALL"]


def test_without_the_system_library_the_failure_names_the_fallback(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "without"
    result = cli(
        "build", "pyyaml==6.0.4", "--output", str(out), "--no-compiler-cache",
    )  # fmt: skip
    assert result.exit_code == 1
    [job] = record_of(out)["jobs"]
    assert job["failure"]["cause"]["kind"] == "pure-python-fallback"
    assert job["failure"]["message"].startswith(
        "the build made a pure-Python wheel: its extension was not compiled, because the C "
        "header yaml.h is missing"
    )
    stderr = " ".join(result.stderr.split())
    assert "cibuildwheel exited" not in stderr
    assert 'add system-packages = { apt = ["libyaml-dev"], dnf = ["libyaml-devel"] }' in stderr


def test_a_setup_py_package_without_pyproject_builds_its_own_version(
    cli: Callable[..., Any], tmp_path: Path, projects: Path
) -> None:
    out = tmp_path / "wheelhouse"
    result = cli(
        "build", str(projects / "setup-py-only"), "--output", str(out), "--no-compiler-cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels = wheels_of(out)
    assert wheels and all(w.startswith("setup_py_only-2.3.1-cp3") for w in wheels), wheels
    assert record_of(out)["version"] == "2.3.1"


@pytest.mark.parametrize(
    ("requirement", "fragment"),
    [
        ("no-such-package-wheelyard-test==1.0", "is not on the index https://pypi.org/simple/"),
        ("markupsafe==0.0.1", "markupsafe==0.0.1 has no sdist on https://pypi.org/simple/"),
    ],
)
def test_a_name_the_index_cannot_give_is_a_clear_error(
    cli: Callable[..., Any], tmp_path: Path, requirement: str, fragment: str
) -> None:
    out = tmp_path / "wheelhouse"
    result = cli("build", requirement, "--output", str(out))
    assert result.exit_code == 2
    assert fragment in " ".join(result.stderr.split())
    assert not out.exists()
