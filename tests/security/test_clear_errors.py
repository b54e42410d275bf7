"""Bad input answers with a clear refusal (4xx, or an exit status and a message), never a
traceback or an HTTP 500."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_farm_api import Farm, _git_repo, farm

from wheelyard.farm.builds import records

__all__ = ["farm"]  # the fixture


@pytest.mark.parametrize(
    "path",
    [
        f"/api/builds/{2**64}",
        f"/api/builds/{2**64}/jobs",
        "/api/builds/0",
        f"/build/{2**70}",
        f"/api/campaigns/{2**64}",
    ],
)
def test_an_id_beyond_the_database_is_a_422_not_a_500(farm: Farm, path: str) -> None:
    response = farm.client.get(path)
    assert response.status_code == 422, response.text
    assert "Traceback" not in response.text


def test_a_project_name_of_7000_characters_is_refused_with_its_file(
    farm: Farm, tmp_path: Path
) -> None:
    project = tmp_path / "long"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "{"a" * 7000}"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    url = _git_repo(farm, tmp_path, project)
    response = farm.client.post("/api/builds", json={"git": {"url": url}}, headers=farm.admin)
    assert 400 <= response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert farm.orchestrator.started == []


@pytest.mark.parametrize(
    "args",
    [
        ("farm", "status", "1", "--url", "not a url"),
        ("farm", "status", "1", "--url", "ftp://example.org"),
    ],
)
def test_a_farm_url_that_is_not_one_is_a_clear_error(
    cli: Callable[..., object], args: tuple[str, ...]
) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result  # type: ignore[attr-defined]
    assert "is not a farm URL" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]


def test_an_output_file_that_cannot_be_written_is_a_clear_error(
    cli: Callable[..., object], tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a folder")
    result = cli("config", "schema", "-o", str(blocked / "schema.json"))
    assert result.exit_code == 2, result  # type: ignore[attr-defined]
    assert f"cannot write {blocked / 'schema.json'}" in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        ('[tool.wheelyard]\nvariant = ["cpu"]\npython = 3\n', 422, "variant"),
        ("python = [", 422, "not valid TOML"),
        ("# padding\n" * 10_000, 413, "limit"),
        (b"\xff\xfe", 422, "not UTF-8"),
    ],
)
def test_a_recipe_that_would_break_later_submissions_is_not_stored(
    farm: Farm, content: str | bytes, status: int, message: str
) -> None:
    response = farm.client.put(
        "/api/packages/hello-c/recipe",
        content=content,
        headers={**farm.hello, "Content-Type": "text/plain"},
    )
    assert response.status_code == status, response.text
    assert message in response.text
    with farm.database.session() as session:
        package = records.package_named(session, "hello-c")
        assert package is None or records.latest_recipe(session, package) is None


def test_plan_reports_every_bad_value_of_a_project_at_once(
    cli: Callable[..., object], tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "bad name!"\nversion = "not-a-version"\nrequires-python = ">=3.x"\n'
        '[tool.wheelyard]\ntorch = ">=2.x,,"\nplatforms = ["linux-x86_64", "windows-x86", "solaris"]\n'
    )
    result = cli("plan", str(tmp_path))
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, stderr  # type: ignore[attr-defined]
    assert "(5 problems)" in stderr
    for part in (
        "'windows-x86'",
        "'solaris'",
        "torch: '>=2.x,,' is not a version specifier",
        "name: 'bad name!' is not a valid project name",
        "version: 'not-a-version' is not a version",
        "requires-python: '>=3.x' is not a version specifier",
    ):
        assert part in stderr


def test_a_refused_submission_names_the_submitted_source_not_the_farms_folders(
    farm: Farm, tmp_path: Path
) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "broken"\nversion = "1.0"\n[tool.wheelyard]\nchannel = "weekly"\n'
    )
    url = _git_repo(farm, tmp_path, project)
    response = farm.client.post(
        "/api/builds", json={"git": {"url": url, "ref": "main"}}, headers=farm.admin
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert f"{url}@main: pyproject.toml [tool.wheelyard]: channel" in detail
    assert "staging" not in response.text
    assert str(farm.settings.data_dir) not in response.text
