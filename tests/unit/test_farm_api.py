"""The farm's HTTP API on a temp database, with a fake orchestrator (no Temporal)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from farm_rows import new_build, planned
from git_server import git_daemon
from wheelyard.farm.api import ServiceContext, create_app
from wheelyard.farm.api.simple_index import negotiate
from wheelyard.farm.builds import records
from wheelyard.farm.db import Database, open_database
from wheelyard.farm.messages import (
    BuildRequest,
    BuildUpdate,
    CampaignInput,
    JobUpdate,
    ScheduledBuild,
    StageResult,
    WorkerAnnouncement,
)
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.tokens import create_token
from wheelyard.record import Verification, VerificationStatus, WheelInfo

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"
PROJECTS = REPO / "tests" / "projects"


@dataclass
class FakeOrchestrator:
    started: list[BuildRequest] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    schedules: list[tuple[str, str, ScheduledBuild]] = field(default_factory=list)
    campaigns_started: list[CampaignInput] = field(default_factory=list)
    signals: list[tuple[int, str, str | None]] = field(default_factory=list)
    campaigns_cancelled: list[int] = field(default_factory=list)

    async def start_build(self, request: BuildRequest) -> None:
        self.started.append(request)

    async def cancel_build(self, build_id: int) -> None:
        self.cancelled.append(build_id)

    async def waiting(self, build_id: int) -> list[str]:
        return [f"build_job: waiting for a worker on linux-x86_64-cpu (build {build_id})"]

    async def schedule_nightly(self, schedule_id: str, cron: str, build: ScheduledBuild) -> None:
        self.schedules.append((schedule_id, cron, build))

    async def start_campaign(self, request: CampaignInput) -> None:
        self.campaigns_started.append(request)

    async def signal_campaign(
        self, campaign_id: int, signal: str, argument: str | None = None
    ) -> None:
        self.signals.append((campaign_id, signal, argument))

    async def cancel_campaign(self, campaign_id: int) -> None:
        self.campaigns_cancelled.append(campaign_id)


@dataclass
class Farm:
    client: TestClient
    orchestrator: FakeOrchestrator
    database: Database
    settings: FarmSettings
    admin: dict[str, str]
    hello: dict[str, str]
    other: dict[str, str]
    git: str
    """``git://127.0.0.1:PORT``: a git daemon serving ``tmp_path/git``."""


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    settings = FarmSettings(data_dir=tmp_path / "data")
    database = open_database(settings.database_url)
    with database.session() as session:
        admin = create_token(session, name="admin", admin=True).secret
        hello = create_token(session, name="hello-ci", package="hello-c").secret
        other = create_token(session, name="other-ci", package="other").secret
    orchestrator = FakeOrchestrator()
    app = create_app(
        ServiceContext(
            settings=settings, database=database, orchestrator=orchestrator, upload_limit=200_000
        )
    )
    with TestClient(app) as client, git_daemon(tmp_path / "git") as git:
        yield Farm(
            git=git,
            client=client,
            orchestrator=orchestrator,
            database=database,
            settings=settings,
            admin=_bearer(admin),
            hello=_bearer(hello),
            other=_bearer(other),
        )
    database.close()


def _git_repo(farm: Farm, tmp_path: Path, source: Path = HELLO_C) -> str:
    """``source`` committed into a repository the farm's test git daemon serves."""
    repo = tmp_path / "git" / "repo"
    shutil.copytree(
        source, repo, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    )
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
        "GIT_AUTHOR_DATE": "2026-11-20T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-20T12:00:00Z",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *argv], cwd=repo, env=env, check=True)
    return f"{farm.git}/repo"


def _sdist(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _hello_sdist() -> bytes:
    members = {}
    for path in sorted(HELLO_C.rglob("*")):
        if path.is_file() and "build" not in path.parts and "egg-info" not in str(path):
            members[f"hello_c-0.1.0/{path.relative_to(HELLO_C)}"] = path.read_bytes()
    return _sdist(members)


# -- submissions ------------------------------------------------------------------------------


def test_submit_a_git_url_records_the_build_and_starts_one_workflow(
    farm: Farm, tmp_path: Path
) -> None:
    url = _git_repo(farm, tmp_path)
    response = farm.client.post(
        "/api/builds",
        json={"git": {"url": url, "ref": "main"}, "python": ["cp312"], "package": "hello-c"},
        headers=farm.hello,
    )
    assert response.status_code == 202, response.text
    build = response.json()["build"]
    assert (build["package"], build["state"], build["source_kind"]) == ("hello-c", "queued", "git")
    [started] = farm.orchestrator.started
    assert started.build_id == build["id"]
    assert started.options["python"] == ["cp312"]
    fetched = json.loads(
        (farm.settings.data_dir / f"builds/{build['id']}/source/fetched.json").read_text()
    )
    assert fetched["date"] == "2026-11-20"
    assert fetched["commit"] and len(fetched["commit"]) == 40
    listing = farm.client.get("/api/builds").json()
    assert [b["id"] for b in listing] == [build["id"]]


def test_submit_a_path_needs_an_admin_token(farm: Farm) -> None:
    body = {"path": str(HELLO_C), "python": ["cp312"]}
    response = farm.client.post("/api/builds", json=body, headers=farm.hello)
    assert response.status_code == 403
    assert "admin token" in response.json()["detail"]
    response = farm.client.post("/api/builds", json=body, headers=farm.admin)
    assert response.status_code == 202, response.text
    assert len(farm.orchestrator.started) == 1


def test_submit_an_sdist(farm: Farm) -> None:
    response = farm.client.post(
        "/api/builds/sdist",
        params={"filename": "hello_c-0.1.0.tar.gz", "python": ["cp312"]},
        content=_hello_sdist(),
        headers={**farm.hello, "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202, response.text
    [started] = farm.orchestrator.started
    assert started.source_kind == "sdist"
    assert started.source.startswith("uploads/")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"git": {"url": "ext::sh -c touch% /tmp/pwned"}}, 422, "bad git URL"),
        ({"git": {"url": "--upload-pack=evil"}}, 422, "bad git URL"),
        ({"git": {"url": "ftp://example.org/x.git"}}, 422, "scheme"),
        ({"git": {"url": "https://example.org/x.git", "ref": "--force"}}, 422, "bad git ref"),
        ({"git": {"url": "file:///nonexistent/repo"}}, 422, "cannot reach"),
        ({}, 422, "exactly one source"),
        ({"git": {"url": "https://e/x"}, "bogus": 1}, 422, "bogus"),
    ],
)
def test_malformed_submissions_are_refused_and_start_nothing(
    farm: Farm, body: dict[str, object], status: int, message: str
) -> None:
    response = farm.client.post("/api/builds", json=body, headers=farm.admin)
    assert response.status_code == status, response.text
    assert message in response.text
    assert farm.orchestrator.started == []
    with farm.database.session() as session:
        assert records.list_builds(session) == []


def test_a_recipe_with_errors_is_refused_with_every_problem(farm: Farm, tmp_path: Path) -> None:
    project = tmp_path / "broken"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "broken"\nversion = "1.0"\n'
        '[tool.wheelyard]\nvariant = ["cpu"]\nchannel = "weekly"\n'
    )
    url = _git_repo(farm, tmp_path, project)
    response = farm.client.post("/api/builds", json={"git": {"url": url}}, headers=farm.admin)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "variant" in detail and "channel" in detail
    assert farm.orchestrator.started == []
    assert not list((farm.settings.data_dir / "staging").iterdir())


def test_an_sdist_with_path_traversal_is_refused(farm: Farm) -> None:
    evil = _sdist({"../../escape.txt": b"x", "pkg-1.0/pyproject.toml": b"[project]\n"})
    response = farm.client.post(
        "/api/builds/sdist",
        params={"filename": "pkg-1.0.tar.gz"},
        content=evil,
        headers=farm.admin,
    )
    assert response.status_code == 422
    assert "escape" in response.text or "outside" in response.text
    assert farm.orchestrator.started == []


def test_an_oversized_upload_is_refused(farm: Farm) -> None:
    response = farm.client.post(
        "/api/builds/sdist",
        params={"filename": "big-1.0.tar.gz"},
        content=b"x" * 300_000,
        headers=farm.admin,
    )
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]
    assert farm.orchestrator.started == []


def test_an_upload_that_is_not_an_sdist_is_refused(farm: Farm) -> None:
    response = farm.client.post(
        "/api/builds/sdist",
        params={"filename": "../x.tar.gz"},
        content=b"abc",
        headers=farm.admin,
    )
    assert response.status_code == 422


# -- tokens -----------------------------------------------------------------------------------


def test_writes_need_a_valid_token_for_the_package(farm: Farm, tmp_path: Path) -> None:
    url = _git_repo(farm, tmp_path)
    body = {"git": {"url": url}, "python": ["cp312"]}
    assert farm.client.post("/api/builds", json=body).status_code == 401
    bad = farm.client.post("/api/builds", json=body, headers=_bearer("wyt_" + "0" * 43))
    assert bad.status_code == 401
    other = farm.client.post("/api/builds", json=body, headers=farm.other)
    assert other.status_code == 403
    assert "may not write to hello-c" in other.json()["detail"]
    early = farm.client.post("/api/builds", json={**body, "package": "hello-c"}, headers=farm.other)
    assert early.status_code == 403
    assert farm.orchestrator.started == []
    assert not list((farm.settings.data_dir / "staging").iterdir())


def test_a_revoked_token_is_refused(farm: Farm, tmp_path: Path) -> None:
    created = farm.client.post(
        "/api/tokens", json={"name": "temp", "package": "hello-c"}, headers=farm.admin
    )
    assert created.status_code == 201, created.text
    for bad in ("../../x y", "x" * 201):
        refused = farm.client.post(
            "/api/tokens", json={"name": "bad", "package": bad}, headers=farm.admin
        )
        assert refused.status_code == 422, refused.text
    token = created.json()
    assert token["token"].startswith("wyt_") and token["prefix"] == token["token"][:10]
    listed = farm.client.get("/api/tokens", headers=farm.admin).json()
    assert all("token" not in t for t in listed)
    assert farm.client.get("/api/tokens", headers=farm.hello).status_code == 403
    revoked = farm.client.delete(f"/api/tokens/{token['id']}", headers=farm.admin)
    assert revoked.json()["revoked_at"] is not None
    url = _git_repo(farm, tmp_path)
    response = farm.client.post(
        "/api/builds", json={"git": {"url": url}}, headers=_bearer(token["token"])
    )
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_reads_are_public(farm: Farm) -> None:
    for path in ("/api/builds", "/api/wheels", "/api/packages", "/api/workers", "/api/totals"):
        assert farm.client.get(path).status_code == 200, path


def test_openapi_documents_the_operations(farm: Farm) -> None:
    spec = farm.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/builds",
        "/api/builds/sdist",
        "/api/builds/{build_id}",
        "/api/builds/{build_id}/cancel",
        "/api/builds/{build_id}/jobs/{job_id}/log",
        "/api/wheels",
        "/api/tokens",
        "/simple/{project}/",
    ):
        assert path in paths, path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


# -- builds, cancel, logs ---------------------------------------------------------------------


def _recorded_build(farm: Farm, state: str = "building") -> int:
    with farm.database.session() as session:
        build = new_build(session, source_kind="git", source="https://e/x")
        records.record_plan(session, build.id, planned(), plan_json={}, cost=None)
        records.update_build(session, BuildUpdate(build_id=build.id, state=state))
        return build.id


def test_cancel_needs_the_package_token_and_a_running_build(farm: Farm) -> None:
    build_id = _recorded_build(farm)
    assert farm.client.post(f"/api/builds/{build_id}/cancel").status_code == 401
    assert farm.client.post(f"/api/builds/{build_id}/cancel", headers=farm.other).status_code == 403
    response = farm.client.post(f"/api/builds/{build_id}/cancel", headers=farm.hello)
    assert response.status_code == 202
    assert farm.orchestrator.cancelled == [build_id]
    done = _recorded_build(farm, state="published")
    assert farm.client.post(f"/api/builds/{done}/cancel", headers=farm.hello).status_code == 409
    assert farm.client.post("/api/builds/999/cancel", headers=farm.admin).status_code == 404


def test_build_detail_jobs_wheels_and_log(farm: Farm) -> None:
    build_id = _recorded_build(farm)
    log = farm.settings.data_dir / f"builds/{build_id}/jobs/linux-x86_64-cpu/logs/hello-c.log"
    log.parent.mkdir(parents=True)
    log.write_text("Building cp312-manylinux_x86_64 wheel\nok\n")
    wheel = WheelInfo(
        name="hello_c-0.1-cp312-cp312-manylinux_2_35_x86_64.whl",
        path="cpu/hello_c-0.1-cp312-cp312-manylinux_2_35_x86_64.whl",
        sha256="cd" * 32,
        size=10,
        python="cp312",
        platform_tags=("manylinux_2_35_x86_64",),
        verification=Verification(status=VerificationStatus.PASSED),
    )
    with farm.database.session() as session:
        records.update_job(
            session,
            JobUpdate(
                build_id=build_id,
                job_id="linux-x86_64-cpu",
                state="succeeded",
                result=StageResult(
                    job_id="linux-x86_64-cpu",
                    status="succeeded",
                    wheels=[wheel],
                    log=str(log.relative_to(farm.settings.data_dir)),
                    worker="w1",
                ),
            ),
        )
    detail = farm.client.get(f"/api/builds/{build_id}").json()
    # A running build says what it waits on (the orchestrator's pending steps).
    assert detail["state"] not in ("published", "failed", "cancelled")
    assert detail["waiting"] == [
        f"build_job: waiting for a worker on linux-x86_64-cpu (build {build_id})"
    ]
    [job] = detail["jobs"]
    assert (job["state"], job["worker"]) == ("succeeded", "w1")
    assert job["log_url"] == f"/api/builds/{build_id}/jobs/linux-x86_64-cpu/log"
    assert [w["filename"] for w in detail["wheels"]] == [wheel.name]
    text = farm.client.get(job["log_url"]).text
    assert text.startswith("Building cp312")
    followed = farm.client.get(job["log_url"], params={"follow": True}).text
    assert followed == text
    wheels = farm.client.get("/api/wheels", params={"package": "hello-c"}).json()
    assert wheels[0]["verification"] == {
        "status": "passed",
        "failed": [],
        "skipped": [],
        "message": None,
    }
    assert farm.client.get(f"/api/builds/{build_id}/jobs/nope/log").status_code == 404
    assert farm.client.get("/api/builds/12345").status_code == 404


def test_recipe_and_schedule(farm: Farm, tmp_path: Path) -> None:
    text = '[tool.wheelyard]\npython = ["cp312"]\n'
    response = farm.client.put(
        "/api/packages/hello-c/recipe",
        content=text,
        headers={**farm.hello, "Content-Type": "text/plain"},
    )
    assert response.status_code == 200, response.text
    bad = farm.client.put(
        "/api/packages/hello-c/recipe",
        content="python = [",
        headers={**farm.hello, "Content-Type": "text/plain"},
    )
    assert bad.status_code == 422
    url = _git_repo(farm, tmp_path)
    scheduled = farm.client.post(
        "/api/packages/hello-c/schedule",
        json={"cron": "0 3 * * *", "git": {"url": url}},
        headers=farm.hello,
    )
    assert scheduled.status_code == 201, scheduled.text
    [(schedule_id, cron, build)] = farm.orchestrator.schedules
    assert (schedule_id, cron, build.source_kind) == ("nightly-hello-c", "0 3 * * *", "git")
    assert build.packages == ["hello-c"]  # each run may plan only what was checked now
    for cron in ("banana", "", "* * * * * * * *"):
        bad_cron = farm.client.post(
            "/api/packages/hello-c/schedule",
            json={"cron": cron, "git": {"url": url}},
            headers=farm.hello,
        )
        assert bad_cron.status_code == 422, bad_cron.text
    # A schedule is checked as a submission is: host folders need an admin token, before
    # anything about them is looked at (no existence oracle).
    for body in ({"git": {"url": (tmp_path / "git" / "repo").as_uri()}}, {"path": "/etc"}):
        refused = farm.client.post("/api/packages/hello-c/schedule", json=body, headers=farm.hello)
        assert refused.status_code == 403, refused.text
        assert "admin token" in refused.json()["detail"]
    assert len(farm.orchestrator.schedules) == 1


def test_only_an_admin_may_name_host_folders_as_torch_sources(farm: Farm) -> None:
    """A torch source that is a folder of the farm's machine reads host paths into builds."""
    text = 'torch = ">=2.13"\n[torch-index]\ncpu = ["/opt/wheels", "https://pypi.org/simple"]\n'
    headers = {"Content-Type": "text/plain"}
    refused = farm.client.put(
        "/api/packages/hello-c/recipe", content=text, headers={**farm.hello, **headers}
    )
    assert refused.status_code == 403, refused.text
    assert "/opt/wheels" in refused.json()["detail"]
    index = 'torch = ">=2.13"\ntorch-index = ["https://farm.example/whl/{variant}"]\n'
    ok = farm.client.put(
        "/api/packages/hello-c/recipe", content=index, headers={**farm.hello, **headers}
    )
    assert ok.status_code == 200, ok.text
    admin = farm.client.put(
        "/api/packages/hello-c/recipe", content=text, headers={**farm.admin, **headers}
    )
    assert admin.status_code == 200, admin.text


def test_workers_are_listed_with_their_capabilities(farm: Farm) -> None:
    with farm.database.session() as session:
        records.announce_worker(
            session,
            WorkerAnnouncement(
                identity="gpu-1",
                hostname="gpu-host",
                queues=["linux-x86_64-cuda"],
                capabilities={"gpu": {"gpus": [{"name": "H100", "compute_capability": "9.0"}]}},
            ),
        )
    [worker] = farm.client.get("/api/workers").json()
    assert worker["online"] is True
    assert worker["queues"] == ["linux-x86_64-cuda"]
    page = farm.client.get("/workers").text
    assert "gpu-1" in page and "H100" in page


# -- the index --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html; charset=utf-8"),
        ("*/*", "text/html; charset=utf-8"),
        ("text/html", "text/html; charset=utf-8"),
        ("application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+json"),
        ("application/vnd.pypi.simple.latest+json", "application/vnd.pypi.simple.v1+json"),
        ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
        (
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.1,"
            " text/html;q=0.01",
            "application/vnd.pypi.simple.v1+json",
        ),
        ("application/vnd.pypi.simple.v1+json;q=0.2, text/html", "text/html; charset=utf-8"),
    ],
)
def test_pep691_negotiation(accept: str | None, expected: str) -> None:
    chosen = negotiate(accept)
    assert chosen is not None and chosen[1] == expected


def test_nothing_acceptable_is_406(farm: Farm) -> None:
    assert negotiate("application/xml") is None
    index = farm.settings.index_dir / "simple"
    index.mkdir(parents=True)
    (index / "index.html").write_text("<html></html>")
    (index / "index.json").write_text('{"meta": {"api-version": "1.1"}, "projects": []}')
    response = farm.client.get("/simple/", headers={"Accept": "application/xml"})
    assert response.status_code == 406
    html = farm.client.get("/simple/")
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["vary"] == "Accept"
    as_json = farm.client.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert as_json.headers["content-type"] == "application/vnd.pypi.simple.v1+json"
    assert as_json.json()["meta"]["api-version"] == "1.1"
    assert farm.client.get("/simple/", params={"format": "json"}).json()["projects"] == []


def test_index_paths_cannot_escape_the_index(farm: Farm) -> None:
    (farm.settings.data_dir / "secret.txt").write_text("x")
    assert farm.client.get("/packages/..%2F../secret.txt").status_code == 404
    assert farm.client.get("/whl/../../secret.txt").status_code == 404
    assert farm.client.get("/simple/Hello_C/", follow_redirects=False).status_code == 301


# -- dashboard --------------------------------------------------------------------------------


def test_dashboard_pages_render(farm: Farm) -> None:
    build_id = _recorded_build(farm)
    home = farm.client.get("/")
    assert home.status_code == 200
    assert "builds in the last 24 h" in home.text
    package = farm.client.get("/package/hello-c")
    assert 'id="matrix"' in package.text and "cp312" in package.text
    assert f"/build/{build_id}/log/linux-x86_64-cpu" in package.text
    build = farm.client.get(f"/build/{build_id}")
    assert 'http-equiv="refresh"' in build.text
    assert farm.client.get(f"/build/{build_id}/log/linux-x86_64-cpu").status_code == 200
    assert farm.client.get("/package/nope").status_code == 404
