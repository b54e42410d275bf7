"""A package token bounds everything a submission reaches: the packages it plans, host paths,
links out of the source; credentials never enter a stored URL. Each refusal records nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_farm_api import HELLO_C, Farm, _git_repo, _sdist, farm

from wheelyard.farm.builds import records

__all__ = ["farm"]  # the fixture


def _nothing_recorded(farm: Farm) -> None:
    assert farm.orchestrator.started == []
    with farm.database.session() as session:
        assert records.list_builds(session) == []
    staging = farm.settings.data_dir / "staging"
    assert not staging.exists() or not list(staging.iterdir())


@pytest.mark.parametrize(
    "url",
    [
        "https://user:ghp_secret@example.org/owner/repo.git",
        "https://ghp_secret@example.org/owner/repo.git",
        "ssh://git:secret@example.org/repo",
    ],
)
def test_a_git_url_with_credentials_is_refused_and_never_stored(farm: Farm, url: str) -> None:
    response = farm.client.post("/api/builds", json={"git": {"url": url}}, headers=farm.admin)
    assert response.status_code == 422, response.text
    assert "credentials" in response.json()["detail"]
    assert "ghp_secret" not in response.text and "secret@" not in response.text
    _nothing_recorded(farm)


def test_a_file_url_needs_an_admin_token(farm: Farm, tmp_path: Path) -> None:
    _git_repo(farm, tmp_path)
    url = (tmp_path / "git" / "repo").as_uri()
    body = {"git": {"url": url}, "python": ["cp312"]}
    response = farm.client.post("/api/builds", json=body, headers=farm.hello)
    assert response.status_code == 403, response.text
    assert "admin token" in response.json()["detail"]
    _nothing_recorded(farm)


def test_a_repository_listing_another_package_is_refused_for_a_package_token(
    farm: Farm, tmp_path: Path
) -> None:
    """The root project is hello-c (the token's package); its ``packages`` plan ``other``."""
    project = tmp_path / "repo-src"
    for name in ("hello-c", "other"):
        (project / name).mkdir(parents=True)
        (project / name / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "1.0"\n'
            '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        )
    (project / "pyproject.toml").write_text(
        '[project]\nname = "hello-c"\nversion = "1.0"\n'
        '[tool.wheelyard]\npackages = ["hello-c", "other"]\n'
    )
    url = _git_repo(farm, tmp_path, project)
    body = {"git": {"url": url}, "python": ["cp312"]}
    response = farm.client.post("/api/builds", json=body, headers=farm.hello)
    assert response.status_code == 403, response.text
    assert "may not write to other" in response.json()["detail"]
    _nothing_recorded(farm)


def test_a_link_out_of_the_source_tree_is_refused(farm: Farm, tmp_path: Path) -> None:
    secret = tmp_path / "host-folder"
    secret.mkdir()
    (secret / "id_rsa").write_text("host key")
    url = _git_repo(farm, tmp_path)
    repo = tmp_path / "git" / "repo"
    (repo / "vendor").symlink_to(secret)
    subprocess.run(["git", "add", "vendor"], cwd=repo, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "link"],
        cwd=repo,
        check=True,
    )
    body = {"git": {"url": url, "ref": "main"}, "python": ["cp312"]}
    response = farm.client.post("/api/builds", json=body, headers=farm.hello)
    assert response.status_code == 422, response.text
    assert "symbolic link out of the source tree" in response.json()["detail"]
    _nothing_recorded(farm)


def test_the_hello_c_example_is_still_accepted(farm: Farm, tmp_path: Path) -> None:
    url = _git_repo(farm, tmp_path, HELLO_C)
    body = {"git": {"url": url, "ref": "main"}, "python": ["cp312"]}
    response = farm.client.post("/api/builds", json=body, headers=farm.hello)
    assert response.status_code == 202, response.text


def test_a_package_s_own_host_folder_torch_source_is_refused(farm: Farm, tmp_path: Path) -> None:
    """A folder of the farm's machine as a torch source comes only from an admin's farm recipe
    (the package's own table could make the farm read any host path into its build)."""
    project = tmp_path / "torchy-src"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "hello-c"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[tool.wheelyard]\ntorch = ">=2.13"\n'
        '[tool.wheelyard.torch-index]\ncpu = ["/root/.ssh", "https://pypi.org/simple"]\n'
    )
    url = _git_repo(farm, tmp_path, project)
    for token in (farm.hello, farm.admin):  # an admin submitting it does not make it the farm's
        body = {"git": {"url": url}, "python": ["cp312"]}
        response = farm.client.post("/api/builds", json=body, headers=token)
        assert response.status_code == 403, response.text
        detail = response.json()["detail"]
        assert "/root/.ssh" in detail
        assert "pyproject.toml" in detail  # where it was set
        _nothing_recorded(farm)
    # The same folder from the package's farm recipe (an admin's) is the farm's own setting.
    recipe = 'torch = ">=2.13"\n[torch-index]\ncpu = ["/opt/wheels", "https://pypi.org/simple"]\n'
    stored = farm.client.put(
        "/api/packages/hello-c/recipe",
        content=recipe,
        headers={**farm.admin, "Content-Type": "text/plain"},
    )
    assert stored.status_code == 200, stored.text
    (project / "pyproject.toml").write_text(
        '[project]\nname = "hello-c"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[tool.wheelyard]\ntorch = ">=2.13"\n'
    )
    url = _git_repo(farm, tmp_path / "second", project)
    response = farm.client.post(
        "/api/builds", json={"git": {"url": url}, "python": ["cp312"]}, headers=farm.hello
    )
    assert response.status_code == 202, response.text


def test_a_refused_upload_leaves_nothing_and_names_no_farm_path(farm: Farm) -> None:
    members = {
        "hello_c-0.1.0/pyproject.toml": (
            b'[project]\nname = "hello-c"\nversion = "0.1.0"\n'
            b'[tool.wheelyard]\ntorch = ">=2"\n[tool.wheelyard.torch-index]\ncpu = ["/etc"]\n'
        ),
        "hello_c-0.1.0/PKG-INFO": b"Metadata-Version: 2.1\nName: hello-c\nVersion: 0.1.0\n",
    }
    uploads = farm.settings.data_dir / "uploads"
    for _ in range(2):
        response = farm.client.post(
            "/api/builds/sdist",
            params={"filename": "hello_c-0.1.0.tar.gz"},
            content=_sdist(members),
            headers={**farm.hello, "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 403, response.text
        assert "/etc" in response.json()["detail"]
        assert str(farm.settings.data_dir) not in response.text
        assert not uploads.exists() or not list(uploads.iterdir())
    _nothing_recorded(farm)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/builds", '{"git": {"url": "https://e/x.git"}, "queue_wait_seconds": Infinity}'),
        ("/api/builds", '{"git": {"url": "https://e/x.git"}, "gpu_wait_seconds": NaN}'),
        ("/api/packages/hello-c/schedule", '{"git": {"url": "https://e/x.git"}, "cron": NaN}'),
    ],
)
def test_a_non_finite_number_in_a_body_is_a_422_naming_the_field(
    farm: Farm, path: str, body: str
) -> None:
    response = farm.client.post(
        path, content=body, headers={**farm.hello, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(field in detail for field in ("queue_wait_seconds", "gpu_wait_seconds", "cron"))
    _nothing_recorded(farm)


@pytest.mark.parametrize(
    "path", ["/simple/a%00b/", "/simple/a%00b/?format=json", "/packages/a%00/b", "/whl/a%00/b/"]
)
def test_a_nul_in_an_index_path_is_not_found(farm: Farm, path: str) -> None:
    assert farm.client.get(path).status_code == 404


@pytest.mark.parametrize("filename", ["a\x00.tar.gz", "a" * 5000 + ".tar.gz"])
def test_an_upload_name_that_no_file_can_have_is_refused(farm: Farm, filename: str) -> None:
    response = farm.client.post(
        "/api/builds/sdist",
        params={"filename": filename},
        content=b"not read",
        headers={**farm.hello, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 422, response.text
    _nothing_recorded(farm)


@pytest.mark.parametrize(
    "extra",
    [
        {"variants": ["cpu"] * 50_000},
        {"python": ["cp312"] * 50_000},
        {"package": "x" * 1_000_000},
        {"git": {"url": "https://e/" + "x" * 100_000}},
    ],
)
def test_oversized_submission_fields_are_refused_without_being_echoed(
    farm: Farm, extra: dict[str, object]
) -> None:
    body: dict[str, object] = {"git": {"url": "https://e/x.git"}, **extra}
    response = farm.client.post("/api/builds", json=body, headers=farm.hello)
    assert response.status_code == 422, response.text[:300]
    assert len(response.text) < 2000
    _nothing_recorded(farm)


def test_a_refusal_names_the_project_not_the_folder_of_a_bare_repository(
    farm: Farm, tmp_path: Path
) -> None:
    """A repository root with no [project] of its own: the refusal names what it would build."""
    project = tmp_path / "bare-src"
    (project / "sub").mkdir(parents=True)
    (project / "sub" / "pyproject.toml").write_text(
        '[project]\nname = "other"\nversion = "1.0"\n'
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    (project / "pyproject.toml").write_text('[tool.wheelyard]\npackages = ["sub"]\n')
    url = _git_repo(farm, tmp_path, project)
    response = farm.client.post(
        "/api/builds", json={"git": {"url": url}, "python": ["cp312"]}, headers=farm.hello
    )
    assert response.status_code == 403, response.text
    detail = response.json()["detail"]
    assert "may not write to other" in detail and "checkout" not in detail
    _nothing_recorded(farm)
