"""The dashboard: server-rendered pages (Jinja2), no front-end build.

``/`` totals and recent builds; ``/package/<name>`` the build matrix grid (Python x variant x
platform, coloured by state, each cell linking to its job's log) and the package's builds;
``/build/<id>`` a build's jobs, refreshed while it runs; ``/build/<id>/log/<job>`` a job's log,
followed while it runs; ``/workers`` the workers seen and what they can build.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from wheelyard.errors import FarmNotFoundError
from wheelyard.farm.api.context import RowId, context_of
from wheelyard.farm.builds import records
from wheelyard.farm.db.models import Build, BuildJob
from wheelyard.farm.vocab import BuildState, JobState

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"
WORKER_STALE = dt.timedelta(minutes=3)

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "-"


def _duration(build: Build) -> str:
    if build.started_at is None:
        return "-"
    end = build.finished_at or dt.datetime.now(tz=dt.UTC)
    seconds = (end - build.started_at).total_seconds()
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


_environment.filters["when"] = _when
_environment.filters["duration"] = _duration
_environment.filters["minutes"] = _minutes


def render(name: str, **values: Any) -> HTMLResponse:
    return HTMLResponse(_environment.get_template(name).render(**values))


@dataclass(frozen=True, kw_only=True)
class Cell:
    state: str
    """A CSS class: succeeded, failed, running, pending, absent, skipped, cancelled."""
    label: str
    link: str | None
    title: str


@dataclass(frozen=True, kw_only=True)
class Grid:
    build: Build | None
    columns: list[tuple[str, str]]
    """(platform, variant)"""
    rows: list[tuple[str, list[Cell | None]]]
    """(python, a cell per column; None where the plan has no such wheel)"""


RUNNING = {JobState.BUILDING, JobState.VERIFYING, JobState.SMOKE_TESTING}


def _cell(build: Build, job: BuildJob, python: str) -> Cell:
    job_state = JobState(job.state)
    per_python = str(job.pythons_state.get(python, ""))
    link = f"/build/{build.id}/log/{job.job_id}"
    title = f"{job.job_id} {python}: {job.state}"
    if job.message:
        title += f" - {job.message}"
    if per_python == "not-in-image":
        return Cell(state="absent", label="not in image", link=link, title=title)
    if per_python == "failed":
        return Cell(state="failed", label="failed", link=link, title=title)
    if job_state is JobState.SUCCEEDED:
        return Cell(state="succeeded", label="ok", link=link, title=title)
    if job_state in RUNNING:
        label = "built" if per_python == "built" else str(job_state)
        return Cell(state="running", label=label, link=link, title=title)
    if job_state is JobState.FAILED:
        return Cell(state="failed", label="failed", link=link, title=title)
    return Cell(state=str(job_state), label=str(job_state), link=link, title=title)


def build_grid(build: Build | None) -> Grid:
    if build is None:
        return Grid(build=None, columns=[], rows=[])
    jobs = sorted(build.jobs, key=lambda j: (j.platform, j.variant))
    columns = [(j.platform, j.variant) for j in jobs]
    pythons = sorted({p for j in jobs for p in j.pythons}, key=_python_key)
    rows = [
        (python, [_cell(build, job, python) if python in job.pythons else None for job in jobs])
        for python in pythons
    ]
    return Grid(build=build, columns=columns, rows=rows)


def _python_key(python: str) -> tuple[int, str]:
    digits = "".join(c for c in python if c.isdigit())
    return (int(digits[1:] or 0) if digits else 0, python)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    with context_of(request).database.session() as session:
        totals = records.totals(session)
        builds = records.list_builds(session, limit=20)
        packages = records.list_packages(session)
        return render(
            "home.html", totals=totals, builds=builds, packages=packages, title="wheelyard farm"
        )


@router.get("/package/{name}", response_class=HTMLResponse)
def package_page(name: str, request: Request, build: int | None = None) -> HTMLResponse:
    with context_of(request).database.session() as session:
        package = records.package_named(session, name)
        if package is None:
            raise FarmNotFoundError(f"no package {name}")
        builds = records.list_builds(session, package=package.name, limit=50)
        shown = next((b for b in builds if b.id == build), None) if build else None
        if shown is None and builds:
            shown = builds[0]
        grid = build_grid(records.get_build(session, shown.id) if shown else None)
        return render("package.html", package=package, builds=builds, grid=grid, title=package.name)


@router.get("/build/{build_id}", response_class=HTMLResponse)
def build_page(build_id: RowId, request: Request) -> HTMLResponse:
    with context_of(request).database.session() as session:
        build = records.get_build(session, build_id)
        finished = sum(1 for j in build.jobs if JobState(j.state).finished)
        return render(
            "build.html",
            build=build,
            grid=build_grid(build),
            finished_jobs=finished,
            running=not BuildState(build.state).finished,
            title=f"build {build.id}",
        )


@router.get("/build/{build_id}/log/{job_id}", response_class=HTMLResponse)
def log_page(build_id: RowId, job_id: str, request: Request) -> HTMLResponse:
    with context_of(request).database.session() as session:
        build = records.get_build(session, build_id)
        job = next((j for j in build.jobs if j.job_id == job_id), None)
        if job is None:
            raise FarmNotFoundError(f"build {build_id} has no job {job_id}")
        return render(
            "log.html",
            build=build,
            job=job,
            running=not JobState(job.state).finished,
            title=f"{job_id} of build {build_id}",
        )


@router.get("/workers", response_class=HTMLResponse)
def workers_page(request: Request) -> HTMLResponse:
    now = dt.datetime.now(tz=dt.UTC)
    with context_of(request).database.session() as session:
        workers = records.list_workers(session)
        rows = [(w, w.stopped_at is None and now - w.last_seen < WORKER_STALE) for w in workers]
        return render("workers.html", workers=rows, title="workers")
