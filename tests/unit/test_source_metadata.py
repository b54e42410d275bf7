"""What a package says it is, read without running it: PKG-INFO of an sdist, a static [project]
table; a version only the backend knows is left to it (tests/integration/test_source.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelyard.config import load_recipe
from wheelyard.source import MetadataError, pkg_info, static_metadata

PROJECTS = Path(__file__).parents[1] / "projects"


def test_pkg_info_of_an_unpacked_sdist_wins(tmp_path: Path) -> None:
    (tmp_path / "PKG-INFO").write_text(
        "Metadata-Version: 2.1\nName: Some_Pkg\nVersion: 1.4.0.post2\nRequires-Python: >=3.9\n"
    )
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "9.9"\n')
    meta = static_metadata(tmp_path)
    assert meta is not None
    assert (meta.name, meta.version, meta.requires_python) == ("Some_Pkg", "1.4.0.post2", ">=3.9")
    assert meta.origin.endswith("PKG-INFO")


def test_a_static_project_table_is_read_and_a_dynamic_version_is_not(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0.3"\n')
    meta = static_metadata(tmp_path)
    assert meta is not None and (meta.name, meta.version) == ("x", "0.3")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["version"]\n')
    assert static_metadata(tmp_path) is None
    (tmp_path / "pyproject.toml").unlink()
    assert static_metadata(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Metadata-Version: 2.1\nName: x\nVersion: one\n", "'one', which is not a PEP 440"),
        ("Metadata-Version: 2.1\nName: x\n", "no Name or Version"),
    ],
)
def test_a_bad_pkg_info_is_a_clear_error(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "PKG-INFO").write_text(text)
    with pytest.raises(MetadataError, match=fragment):
        pkg_info(tmp_path)


def test_a_setup_py_package_without_pyproject_loads_with_the_defaults() -> None:
    loaded = load_recipe(PROJECTS / "setup-py-only", environ={})
    assert loaded.recipe.channel is None
    assert loaded.recipe.variants == ["cpu"]
    assert loaded.project_version is None
    assert not loaded.pyproject.exists()


def test_the_name_of_an_unpacked_setup_py_sdist_is_its_pkg_info_name(tmp_path: Path) -> None:
    project = tmp_path / "simple-thing-1.0"
    project.mkdir()
    (project / "setup.py").write_text("from setuptools import setup\nsetup()\n")
    (project / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: simple-thing\nVersion: 1.0\n")
    assert load_recipe(project, environ={}).project_name == "simple-thing"
