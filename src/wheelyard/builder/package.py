"""Build whole plans on this machine: every job it can run here, one record for all.

A repository that lists several ``packages`` builds them in order into one wheelhouse.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wheelyard.builder.engine import ContainerEngine, ImageInfo
from wheelyard.builder.job import JobSettings, run_job
from wheelyard.builder.progress import Event
from wheelyard.catalog.model import Catalog
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import BuildInterruptedError, WheelyardError
from wheelyard.plan.matrix import Job, Plan
from wheelyard.record import BuildRecord, JobRecord, write_json_atomic
from wheelyard.source import own_version
from wheelyard.version import build_environment, package_version

RECORD_NAME = "build-record.json"


ImageProvider = Callable[[Job, Catalog], tuple[str, ImageInfo]]
"""Returns (image reference, image facts) for a job, building the image when needed."""


@dataclass(frozen=True, kw_only=True)
class BuildCallbacks:
    job_started: Callable[[Job], None] | None = None
    job_finished: Callable[[Job, JobRecord], None] | None = None
    event: Callable[[Job, Event], None] | None = None
    package_started: Callable[[LoadedRecipe, str], None] | None = None
    """Called with each package and its build version before its jobs (multi-package builds)."""


@dataclass(frozen=True, kw_only=True)
class PackageBuild:
    """One project of a build: its recipe, catalog and plan."""

    loaded: LoadedRecipe
    catalog: Catalog
    plan: Plan


def _local_reason(job: Job, catalog: Catalog, host: Platform | None) -> str | None:
    """Why ``job`` cannot run on this machine, or None."""
    if not catalog.platforms[job.platform].container:
        return f"{job.platform} builds need a {job.os} runner (label {job.build_runner})"
    if host != job.platform:
        return f"{job.platform} builds need a {job.platform} machine (this one is {host})"
    if job.image is None:
        return f"the catalog names no builder image for {job.variant} on {job.platform}"
    return None


def _previous_jobs(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    jobs = data.get("jobs") if isinstance(data, dict) else None
    return [j for j in jobs if isinstance(j, dict)] if isinstance(jobs, list) else []


def _job_key(data: dict[str, Any]) -> tuple[str, str]:
    job = data.get("job")
    return (str(data.get("package", "")), str(job.get("id") if isinstance(job, dict) else ""))


def build_packages(
    packages: Sequence[PackageBuild],
    *,
    name: str,
    engine: ContainerEngine,
    images: ImageProvider,
    settings: JobSettings,
    date: dt.date | None,
    host: Platform | None,
    source: str,
    callbacks: BuildCallbacks | None = None,
) -> BuildRecord:
    """Build each package in order; write ``build-record.json`` after every job.

    The record is rewritten after each job, so an interrupted build still leaves one that
    lists what was built. Jobs of earlier runs into the same output directory are kept unless
    this run rebuilt them (same package and job id). Packages after the first can install the
    wheels of the earlier ones (``find_links``): a plugin's tests need its core.
    """
    if not packages:
        raise WheelyardError("nothing to build: the repository lists no packages")
    callbacks = callbacks or BuildCallbacks()
    owns = [own_version(unit.loaded) for unit in packages]
    resolved = [
        package_version(unit.loaded, unit.plan.channel, date, own=own)
        for unit, own in zip(packages, owns, strict=True)
    ]
    versions = [version for version, _ in resolved]
    channel: Channel = resolved[0][1]
    record_path = settings.output / RECORD_NAME
    previous = _previous_jobs(record_path)
    started_at = dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds")
    records: list[JobRecord] = []
    planned = {(unit.loaded.project_name, job.id) for unit in packages for job in unit.plan.jobs}
    listing = tuple(
        {"name": unit.loaded.project_name, "version": version, "path": str(unit.loaded.project_dir)}
        for unit, version in zip(packages, versions, strict=True)
    )

    def save() -> BuildRecord:
        record = BuildRecord(
            package=name,
            version=versions[0] if len(set(versions)) == 1 else "",
            channel=str(channel),
            build_date=date.isoformat() if date else None,
            source=source,
            started_at=started_at,
            jobs=tuple(records),
            packages=listing,
        )
        data = record.to_json()
        ours = planned | {r.key for r in records}
        data["jobs"] = [j for j in previous if _job_key(j) not in ours] + list(data["jobs"])
        write_json_atomic(record_path, data)
        return record

    for index, (unit, version, own) in enumerate(zip(packages, versions, owns, strict=True)):
        if callbacks.package_started:
            callbacks.package_started(unit.loaded, version)
        unit_settings = replace(settings, find_links=settings.find_links or index > 0)
        for job in unit.plan.jobs:
            if callbacks.job_started:
                callbacks.job_started(job)
            result = _run_one(
                job,
                unit,
                engine=engine,
                images=images,
                settings=unit_settings,
                date=date,
                own=own,
                host=host,
                callbacks=callbacks,
            )
            records.append(replace(result, package=unit.loaded.project_name, version=version))
            save()
            if callbacks.job_finished:
                callbacks.job_finished(job, records[-1])
            if result.failure and result.failure.get("interrupted"):
                raise BuildInterruptedError(
                    f"build interrupted during {job.id}",
                    hint=f"the record ({record_path}) lists the wheels built before the stop",
                )
    return save()


def _run_one(
    job: Job,
    unit: PackageBuild,
    *,
    engine: ContainerEngine,
    images: ImageProvider,
    settings: JobSettings,
    date: dt.date | None,
    own: str | None,
    host: Platform | None,
    callbacks: BuildCallbacks,
) -> JobRecord:
    reason = _local_reason(job, unit.catalog, host)
    if reason is not None:
        return JobRecord(job=job.to_json(), status="skipped", reason=reason)
    try:
        ref, info = images(job, unit.catalog)
    except WheelyardError as exc:
        return JobRecord(
            job=job.to_json(),
            status="failed",
            failure={"message": exc.message, "step": "image", "hint": exc.hint},
        )
    env = build_environment(
        unit.loaded,
        variant=job.variant,
        entry=unit.catalog.variant(job.variant),
        channel=unit.plan.channel,
        date=date,
        own=own,
    )

    def on_event(event: Event) -> None:
        if callbacks.event:
            callbacks.event(job, event)

    return run_job(
        job,
        unit.loaded,
        engine=engine,
        image=info,
        image_ref=ref,
        build_env=env,
        settings=settings,
        on_event=on_event,
    )
