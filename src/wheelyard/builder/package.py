"""Build whole plans on this machine: every job it can run here, one record for all.

A repository that lists several ``packages`` builds them in order into one wheelhouse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wheelyard.builder.engine import ContainerEngine
from wheelyard.builder.image.ensure import ChosenImage
from wheelyard.builder.job import JobSettings, run_job
from wheelyard.builder.progress import Event
from wheelyard.builder.torch import TorchRequest
from wheelyard.catalog.model import Catalog
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.vocab import AcceleratorKind, Channel, Platform
from wheelyard.errors import BuildInterruptedError, RecordError, WheelyardError
from wheelyard.plan.matrix import Job, Plan
from wheelyard.record import (
    BuildRecord,
    Failure,
    JobRecord,
    JobSpec,
    JobStatus,
    PackageEntry,
)
from wheelyard.source import own_version
from wheelyard.version import build_environment, package_version

ImageProvider = Callable[[Job, Catalog], ChosenImage]
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


def _previous(output: Path) -> BuildRecord | None:
    """The record an earlier run left in ``output``; one this wheelyard cannot read is replaced."""
    try:
        return BuildRecord.load(output) if BuildRecord.exists_in(output) else None
    except RecordError:
        return None


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
    """Build each package in order; write the build record after every job.

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
    record_path = BuildRecord.path_in(settings.output)
    previous = _previous(settings.output)
    started_at = dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds")
    records: list[JobRecord] = []
    planned = {(unit.loaded.project_name, job.id) for unit in packages for job in unit.plan.jobs}
    if previous is not None:  # this run's plan replaces what the earlier run built of it
        previous = previous.model_copy(
            update={"jobs": tuple(j for j in previous.jobs if j.key not in planned)}
        )
    listing = tuple(
        PackageEntry(
            name=unit.loaded.project_name, version=version, path=str(unit.loaded.project_dir)
        )
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
        record.merged_over(previous).save(settings.output)
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
            records.append(
                result.model_copy(update={"package": unit.loaded.project_name, "version": version})
            )
            save()
            if callbacks.job_finished:
                callbacks.job_finished(job, records[-1])
            if result.failure and result.failure.interrupted:
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
        return JobRecord(
            job=JobSpec.model_validate(job.to_json()), status=JobStatus.SKIPPED, reason=reason
        )
    try:
        image = images(job, unit.catalog)
    except WheelyardError as exc:
        return JobRecord(
            job=JobSpec.model_validate(job.to_json()),
            status=JobStatus.FAILED,
            failure=Failure(message=exc.message, step="image", hint=exc.hint),
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
        image=image,
        build_env=env,
        settings=settings,
        on_event=on_event,
        torch=torch_request(job, unit, settings),
    )


def torch_request(job: Job, unit: PackageBuild, settings: JobSettings) -> TorchRequest | None:
    """What ``job`` needs of torch: the recipe's specifier from the variant's sources for the
    plan's channel (a release when the package keeps its own version); None without ``torch``."""
    specifier = unit.loaded.recipe.torch
    if specifier is None:
        return None
    channel = unit.plan.channel or Channel.RELEASE
    entry = unit.catalog.variant(job.variant)
    accelerator = None
    if entry.kind in (AcceleratorKind.CUDA, AcceleratorKind.ROCM):
        accelerator = f"{entry.kind} {entry.toolkit or ''}".strip()
    elif entry.kind is AcceleratorKind.XPU:
        accelerator = "xpu"
    return TorchRequest(
        variant=job.variant,
        specifier=specifier.strip(),
        sources=unit.catalog.torch_sources(
            job.variant, channel, unit.loaded.recipe.torch_index, fallback=settings.torch_index
        ),
        pythons=job.pythons,
        arch=job.arch,
        dependency_index=settings.dependency_index,
        prereleases=channel is not Channel.RELEASE,
        accelerator=accelerator,
    )
