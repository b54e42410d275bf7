"""A recipe's paths stay inside the package (a version-file or smoke-test naming a host file
read the farm's admin token into a public build message), and a build publishes only wheels of
the package it built (a repair command that wrote another project's wheel published it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
from variant_wheelhouse import PROJECT, make_wheelhouse
from wheelyard.builder.options import smoke_command
from wheelyard.config import load_recipe
from wheelyard.errors import VersionError
from wheelyard.index.wheelhouse import read_wheelhouse
from wheelyard.verify.gate import foreign_wheel
from wheelyard.verify.options import SmokeTest
from wheelyard.version import base_version


def _project(tmp_path: Path, table: str) -> Path:
    project = tmp_path / "pkg"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "pkg"\nversion = "1.0"\n[tool.wheelyard]\n{table}\n'
    )
    (project / "VERSION").write_text("2.0\n")
    (project / "smoke.py").write_text("print('ok')\n")
    return project


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "admin.token"
    path.write_text("wyt_secret-token\n")
    return path


def test_a_version_file_outside_the_package_is_refused_and_never_read(
    tmp_path: Path, secret: Path
) -> None:
    assert base_version(load_recipe(_project(tmp_path / "in", 'version-file = "VERSION"'))) == (
        "2.0"
    )
    for value in (str(secret), "../admin.token"):
        loaded = load_recipe(
            _project(tmp_path / value.replace("/", "_"), f'version-file = "{value}"')
        )
        if value.startswith(".."):
            (loaded.project_dir.parent / "admin.token").write_text(secret.read_text())
        with pytest.raises(VersionError) as caught:
            base_version(loaded)
        text = caught.value.message + (caught.value.hint or "")
        assert "not a file inside the package's folder" in text
        assert "wyt_secret" not in text


def test_a_link_out_of_the_package_is_not_a_version_file(tmp_path: Path, secret: Path) -> None:
    loaded = load_recipe(_project(tmp_path, 'version-file = "LINKED"'))
    (loaded.project_dir / "LINKED").symlink_to(secret)
    with pytest.raises(VersionError, match="not a file inside"):
        base_version(loaded)


def test_a_smoke_test_naming_a_host_file_is_a_command_never_a_script_read_here(
    tmp_path: Path, secret: Path
) -> None:
    project = _project(tmp_path, f'smoke-test = "{secret}"')
    assert SmokeTest(value=str(secret), project_dir=project).script is None
    assert SmokeTest(value="../admin.token", project_dir=project).script is None
    assert SmokeTest(value="smoke.py", project_dir=project).script == project / "smoke.py"
    # In the build (cibuildwheel's test command) too: only a script inside the package is run
    # as `python {package}/...`; anything else is the command it says, run in the container.
    assert smoke_command(load_recipe(project)) == str(secret)
    inside = load_recipe(_project(tmp_path / "ok", 'smoke-test = "smoke.py"'))
    assert smoke_command(inside) == "python {package}/smoke.py"


def test_a_wheel_of_another_project_is_failed_by_the_gate_and_never_published(
    tmp_path: Path,
) -> None:
    assert foreign_wheel("cuda_kernels-1.0-py3-none-any.whl", PROJECT) is None
    reason = foreign_wheel("other-1.0-py3-none-any.whl", PROJECT)
    assert reason == (
        "other-1.0-py3-none-any.whl is a wheel of other, not of cuda-kernels, the package that "
        "was built"
    )
    root = make_wheelhouse(tmp_path / "house", variants=["cpu"], pythons=["cp312"])
    record = json.loads((root / "build-record.json").read_text())
    [job] = record["jobs"]
    smuggled = root / "cpu" / "other-1.0-py3-none-any.whl"
    smuggled.write_bytes((root / job["wheels"][0]["path"]).read_bytes())
    job["wheels"].append(
        {**job["wheels"][0], "name": smuggled.name, "path": f"cpu/{smuggled.name}"}
    )
    (root / "build-record.json").write_text(json.dumps(record))
    house = read_wheelhouse(root)
    assert [w.name for w in house.wheels] == [job["wheels"][0]["name"]]
    [excluded] = house.excluded
    assert (excluded.name, excluded.reason) == (
        smuggled.name,
        "a wheel of other, not of cuda-kernels, the package the job built",
    )
