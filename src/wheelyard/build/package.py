"""Build a whole plan on this machine: every job it can run here, one record for all."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wheelyard.build.engine import ContainerEngine, ImageInfo
from wheelyard.build.job import JobSettings, run_job
from wheelyard.build.progress import Event
from wheelyard.build.record import BuildRecord, JobRecord, write_json_atomic
from wheelyard.catalog.model import Catalog
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import Channel, Platform
from wheelyard.errors import WheelyardError
from wheelyard.plan.matrix import Job, Plan
from wheelyard.version import base_version, build_environment, build_version

RECORD_NAME = "build-record.json"

ImageProvider = Callable[[Job], tuple[str, ImageInfo]]
"""Returns (image reference, image facts) for a job, building the image when needed."""


@dataclass(frozen=True, kw_only=True)
class BuildCallbacks:
    job_started: Callable[[Job], None] | None = None
    job_finished: Callable[[Job, JobRecord], None] | None = None
    event: Callable[[Job, Event], None] | None = None


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


def build_plan(
    plan: Plan,
    loaded: LoadedRecipe,
    catalog: Catalog,
    *,
    engine: ContainerEngine,
    images: ImageProvider,
    settings: JobSettings,
    date: dt.date | None,
    host: Platform | None,
    source: str,
    callbacks: BuildCallbacks | None = None,
) -> BuildRecord:
    """Run every job of ``plan`` this machine can run; write ``build-record.json`` as it goes.

    The record is rewritten after each job, so an interrupted build still leaves one that
    lists what was built. Jobs of earlier runs into the same output directory are kept unless
    this run rebuilt them.
    """
    callbacks = callbacks or BuildCallbacks()
    channel: Channel = plan.channel
    version = build_version(base_version(loaded), channel, date)
    record_path = settings.output / RECORD_NAME
    previous = _previous_jobs(record_path)
    started_at = dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds")
    records: list[JobRecord] = []

    def save() -> BuildRecord:
        record = BuildRecord(
            package=loaded.project_name,
            version=version,
            channel=str(channel),
            build_date=date.isoformat() if date else None,
            source=source,
            started_at=started_at,
            jobs=tuple(records),
        )
        data = record.to_json()
        ours = {r.id for r in records} | {j.id for j in plan.jobs}
        data["jobs"] = [j for j in previous if j.get("job", {}).get("id") not in ours]
        data["jobs"] += record.to_json()["jobs"]
        write_json_atomic(record_path, data)
        return record

    for job in plan.jobs:
        if callbacks.job_started:
            callbacks.job_started(job)
        reason = _local_reason(job, catalog, host)
        if reason is not None:
            result = JobRecord(job=job.to_json(), status="skipped", reason=reason)
        else:
            try:
                ref, info = images(job)
            except WheelyardError as exc:
                result = JobRecord(
                    job=job.to_json(),
                    status="failed",
                    failure={"message": exc.message, "step": "image", "hint": exc.hint},
                )
            else:
                env = build_environment(
                    loaded,
                    variant=job.variant,
                    entry=catalog.variant(job.variant),
                    channel=channel,
                    date=date,
                )

                def on_event(event: Event, job: Job = job) -> None:
                    if callbacks.event:
                        callbacks.event(job, event)

                result = run_job(
                    job,
                    loaded,
                    engine=engine,
                    image=info,
                    image_ref=ref,
                    build_env=env,
                    settings=settings,
                    on_event=on_event,
                )
        records.append(result)
        save()
        if callbacks.job_finished:
            callbacks.job_finished(job, result)
    return save()
