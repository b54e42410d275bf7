"""Reading and writing the farm's state: the only module that knows how builds, jobs, wheels
and workers map to rows. The farm's activities write through it, the API reads through it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name, parse_wheel_filename
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from wheelyard.errors import FarmNotFoundError
from wheelyard.farm.db.models import (
    Build,
    BuildJob,
    Package,
    Recipe,
    Wheel,
    WorkerSeen,
    utcnow,
)
from wheelyard.farm.messages import (
    BuildUpdate,
    JobUpdate,
    PlanResult,
    WorkerAnnouncement,
)
from wheelyard.farm.vocab import BuildState, JobState
from wheelyard.record import WheelInfo
from wheelyard.version import next_build_tag


def package_named(session: Session, name: str, *, create: bool = False) -> Package | None:
    canonical = str(canonicalize_name(name))
    row = session.scalars(select(Package).where(Package.name == canonical)).first()
    if row is None and create:
        row = Package(name=canonical)
        session.add(row)
        session.flush()
    return row


def latest_recipe(session: Session, package: Package) -> Recipe | None:
    return session.scalars(
        select(Recipe).where(Recipe.package_id == package.id).order_by(Recipe.id.desc())
    ).first()


def set_recipe(session: Session, package: str, content: str) -> Recipe:
    row = package_named(session, package, create=True)
    assert row is not None
    recipe = Recipe(
        package_id=row.id,
        content=content,
        sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
    )
    session.add(recipe)
    session.flush()
    return recipe


def create_build(
    session: Session,
    *,
    package: str,
    source_kind: str,
    source: str,
    ref: str | None,
    options: dict[str, Any],
    submitted_by: int | None,
) -> Build:
    row = package_named(session, package, create=True)
    assert row is not None
    recipe = latest_recipe(session, row)
    build = Build(
        package_id=row.id,
        source_kind=source_kind,
        source=source,
        ref=ref,
        options=options,
        recipe_id=recipe.id if recipe else None,
        state=str(BuildState.QUEUED),
        submitted_by=submitted_by,
    )
    session.add(build)
    session.flush()
    build.workflow_id = workflow_id(build.id)
    return build


def workflow_id(build_id: int) -> str:
    return f"build-{build_id}"


def get_build(session: Session, build_id: int) -> Build:
    build = session.get(
        Build,
        build_id,
        options=[selectinload(Build.jobs), selectinload(Build.wheels), selectinload(Build.package)],
    )
    if build is None:
        raise FarmNotFoundError(f"no build {build_id}")
    return build


def update_build(session: Session, update: BuildUpdate) -> Build:
    build = get_build(session, update.build_id)
    state = BuildState(update.state)
    now = utcnow()
    if BuildState(build.state).finished and not state.finished:
        return build  # a late update of a build already finished (a retried activity)
    build.state = str(state)
    if update.message is not None:
        build.message = update.message
    if update.version is not None:
        build.version = update.version
    if state is not BuildState.QUEUED and build.started_at is None:
        build.started_at = now
    if state.finished:
        build.finished_at = now
        for job in build.jobs:
            if not JobState(job.state).finished:
                job.state = str(
                    JobState.CANCELLED if state is BuildState.CANCELLED else JobState.SKIPPED
                )
                job.finished_at = job.finished_at or now
    return build


def record_plan(
    session: Session,
    build_id: int,
    plan: PlanResult,
    *,
    plan_json: dict[str, Any],
    cost: dict[str, Any] | None,
) -> Build:
    """Store the plan and one job row per planned job (again on a retry: same rows)."""
    build = get_build(session, build_id)
    build.plan = plan_json
    build.cost = cost
    build.version = plan.version
    build.channel = plan.channel
    if plan.build_tag is not None:
        build.options = {**build.options, "build_tag": plan.build_tag}
    existing = {job.job_id: job for job in build.jobs}
    for spec in plan.jobs:
        row = existing.get(spec.job_id)
        if row is None:
            row = BuildJob(build_id=build.id, job_id=spec.job_id, state=str(JobState.PENDING))
            session.add(row)
            build.jobs.append(row)
        row.platform = spec.platform
        row.variant = spec.variant
        row.pythons = list(spec.pythons)
        row.build_queue = spec.build_queue
        row.test_queue = spec.test_queue
        row.gpu_test = spec.gpu_test
    session.flush()
    return build


def _job(session: Session, build_id: int, job_id: str) -> BuildJob:
    row = session.scalars(
        select(BuildJob).where(BuildJob.build_id == build_id, BuildJob.job_id == job_id)
    ).first()
    if row is None:
        raise FarmNotFoundError(f"build {build_id} has no job {job_id}")
    return row


def update_job(session: Session, update: JobUpdate) -> BuildJob:
    row = _job(session, update.build_id, update.job_id)
    state = JobState(update.state)
    now = utcnow()
    row.state = str(state)
    if update.message is not None:
        row.message = update.message
    if update.smoke is not None:
        row.smoke = update.smoke
    if state is JobState.BUILDING and row.started_at is None:
        row.started_at = now
    if state.finished:
        row.finished_at = now
        if row.started_at is not None:
            row.seconds = (now - row.started_at).total_seconds()
    result = update.result
    if result is not None:
        if result.worker:
            row.worker = result.worker
        row.attempts = max(row.attempts, result.attempt)
        if result.log:
            row.log_path = result.log
        if result.pythons:
            row.pythons_state = dict(result.pythons)
        if result.record is not None:
            row.record = result.record
        if result.wheels:
            _record_wheels(session, row, result.wheels)
    return row


def _record_wheels(session: Session, job: BuildJob, wheels: list[WheelInfo]) -> None:
    """One row per wheel file of the job, from the build record's entry (the row is that entry,
    as its columns keep it): a retried build replaces the rows of the attempt before (same file
    name), so a build never lists a wheel twice."""
    current = {
        w.filename: w for w in session.scalars(select(Wheel).where(Wheel.build_id == job.build_id))
    }
    for wheel in wheels:
        row = current.get(wheel.name)
        if row is None:
            row = Wheel(build_id=job.build_id, filename=wheel.name, published=[])
            session.add(row)
        row.job_id = job.id
        row.fill(wheel)
    session.flush()


def record_published(
    session: Session, build_id: int, report: dict[str, Any], sources: dict[str, str]
) -> Build:
    """The publish report, and on each wheel the index files it became.

    ``sources`` maps each published (or already published) index file to the built wheel it
    was made from.
    """
    build = get_build(session, build_id)
    build.publish_report = report
    by_wheel: dict[str, list[str]] = {}
    for published, built in sources.items():
        by_wheel.setdefault(built, []).append(published)
    for wheel in build.wheels:
        wheel.published = sorted(by_wheel.get(wheel.filename, []))
    return build


def announce_worker(session: Session, announcement: WorkerAnnouncement) -> WorkerSeen:
    row = session.scalars(
        select(WorkerSeen).where(WorkerSeen.identity == announcement.identity)
    ).first()
    now = utcnow()
    if row is None:
        row = WorkerSeen(identity=announcement.identity, first_seen=now)
        session.add(row)
    row.hostname = announcement.hostname
    row.queues = list(announcement.queues)
    row.capabilities = dict(announcement.capabilities)
    row.last_seen = now
    row.stopped_at = now if announcement.stopping else None
    session.flush()
    return row


def rebuild_tag(session: Session, build: Build, version: str) -> str | None:
    """The build tag ``build`` needs to publish ``version`` again: None when no wheel of that
    version is published yet, else one more than the highest tag any build of it has taken."""
    others = list(
        session.scalars(
            select(Build)
            .options(selectinload(Build.wheels))
            .where(Build.package_id == build.package_id)
            .where(Build.version == version)
            .where(Build.id != build.id)
        )
    )
    if not any(w.published for b in others for w in b.wheels):
        return None
    taken: list[str | None] = [b.options.get("build_tag") for b in others]
    for other in others:
        for wheel in other.wheels:
            tag = parse_wheel_filename(wheel.filename)[2]
            taken.append(f"{tag[0]}{tag[1]}" if tag else None)
    return next_build_tag(taken)


def list_builds(
    session: Session, *, package: str | None = None, limit: int = 50, offset: int = 0
) -> list[Build]:
    query = select(Build).options(selectinload(Build.package), selectinload(Build.jobs))
    if package is not None:
        row = package_named(session, package)
        if row is None:
            return []
        query = query.where(Build.package_id == row.id)
    return list(session.scalars(query.order_by(Build.id.desc()).limit(limit).offset(offset)))


def list_wheels(session: Session, *, package: str | None = None, limit: int = 500) -> list[Wheel]:
    query = select(Wheel).options(selectinload(Wheel.build).selectinload(Build.package))
    if package is not None:
        row = package_named(session, package)
        if row is None:
            return []
        query = query.join(Build).where(Build.package_id == row.id)
    return list(session.scalars(query.order_by(Wheel.id.desc()).limit(limit)))


def list_packages(session: Session) -> list[Package]:
    return list(session.scalars(select(Package).order_by(Package.name)))


def list_workers(session: Session) -> list[WorkerSeen]:
    return list(session.scalars(select(WorkerSeen).order_by(WorkerSeen.last_seen.desc())))


@dataclass(frozen=True, kw_only=True)
class Totals:
    packages: int
    wheels: int
    published_wheels: int
    builds: int
    builds_last_day: int
    runner_minutes_saved: float
    gpu_minutes_saved: float


def totals(session: Session, *, now: dt.datetime | None = None) -> Totals:
    """The dashboard's numbers. Minutes saved compare each published build's plan with today's
    one-job-per-Python fan-out (the plan's cost model)."""
    now = now or utcnow()
    since = now - dt.timedelta(days=1)
    runner = 0.0
    gpu = 0.0
    for cost in session.scalars(select(Build.cost).where(Build.state == str(BuildState.PUBLISHED))):
        if not cost:
            continue
        scenarios = cost.get("scenarios", {})
        fanout = scenarios.get("fan-out", {})
        split = scenarios.get("consolidated+split", {})
        runner += float(fanout.get("runner_minutes", 0)) - float(split.get("runner_minutes", 0))
        gpu += float(fanout.get("gpu_minutes", 0)) - float(split.get("gpu_minutes", 0))
    count = session.scalar
    return Totals(
        packages=count(select(func.count(Package.id))) or 0,
        wheels=count(select(func.count(Wheel.id))) or 0,
        published_wheels=sum(
            1 for published in session.scalars(select(Wheel.published)) if published
        ),
        builds=count(select(func.count(Build.id))) or 0,
        builds_last_day=count(select(func.count(Build.id)).where(Build.created_at >= since)) or 0,
        runner_minutes_saved=round(runner, 1),
        gpu_minutes_saved=round(gpu, 1),
    )
