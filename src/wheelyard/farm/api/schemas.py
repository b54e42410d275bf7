"""The API's request and response bodies (pydantic models: validated input, OpenAPI schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wheelyard.config.vocab import Channel
from wheelyard.farm.db.models import ApiToken, Build, BuildJob, Wheel, WorkerSeen

_STRICT = ConfigDict(extra="forbid")


class GitSource(BaseModel):
    model_config = _STRICT
    url: str = Field(description="https://, ssh://, git://, file:// or user@host:path")
    ref: str | None = Field(default=None, description="Branch, tag or commit (default: HEAD).")


class BuildSubmission(BaseModel):
    """A build of a git repository or (admin tokens only) a directory of the farm's machine."""

    model_config = _STRICT
    git: GitSource | None = None
    path: str | None = Field(default=None, description="An absolute directory (admin only).")
    package: str | None = Field(
        default=None, description="The package meant; checked against the token before fetching."
    )
    variants: list[str] = Field(default_factory=list, description="Only these variants.")
    python: list[str] = Field(
        default_factory=list, description="Override the recipe's python (cp312, '>=3.11' ...)."
    )
    channel: Channel | None = None
    profile: str | None = None
    date: dt.date | None = Field(default=None, description="Nightly date (default: commit date).")
    job_timeout_seconds: float = Field(default=3600.0, gt=0, le=24 * 3600)
    queue_wait_seconds: float = Field(default=6 * 3600.0, gt=0)
    gpu_wait_seconds: float = Field(default=3600.0, gt=0)
    heartbeat_seconds: float = Field(default=30.0, ge=5, le=600)


class JobOut(BaseModel):
    job_id: str
    platform: str
    variant: str
    pythons: list[str]
    build_queue: str
    test_queue: str
    gpu_test: bool
    state: str
    smoke: str | None
    message: str | None
    attempts: int
    worker: str | None
    pythons_state: dict[str, Any]
    seconds: float | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    log_url: str | None

    @classmethod
    def of(cls, job: BuildJob) -> JobOut:
        return cls(
            job_id=job.job_id,
            platform=job.platform,
            variant=job.variant,
            pythons=list(job.pythons),
            build_queue=job.build_queue,
            test_queue=job.test_queue,
            gpu_test=job.gpu_test,
            state=job.state,
            smoke=job.smoke,
            message=job.message,
            attempts=job.attempts,
            worker=job.worker,
            pythons_state=dict(job.pythons_state),
            seconds=job.seconds,
            started_at=job.started_at,
            finished_at=job.finished_at,
            log_url=f"/api/builds/{job.build_id}/jobs/{job.job_id}/log" if job.log_path else None,
        )


class WheelOut(BaseModel):
    build_id: int
    package: str
    filename: str
    sha256: str
    size: int
    python: str
    tags: list[str]
    variant: str
    verification: dict[str, Any] | None
    published: list[str]
    built_against: dict[str, Any] | None = None

    @classmethod
    def of(cls, wheel: Wheel) -> WheelOut:
        return cls(
            build_id=wheel.build_id,
            package=wheel.build.package.name,
            filename=wheel.filename,
            sha256=wheel.sha256,
            size=wheel.size,
            python=wheel.python,
            tags=list(wheel.tags),
            variant=wheel.variant,
            verification=wheel.verification,
            published=list(wheel.published),
            built_against=wheel.built_against,
        )


class BuildOut(BaseModel):
    id: int
    package: str
    state: str
    message: str | None
    version: str | None
    channel: str | None
    source_kind: str
    source: str
    ref: str | None
    options: dict[str, Any]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    jobs: list[JobOut]
    url: str

    @classmethod
    def of(cls, build: Build) -> BuildOut:
        return cls(
            id=build.id,
            package=build.package.name,
            state=build.state,
            message=build.message,
            version=build.version,
            channel=build.channel,
            source_kind=build.source_kind,
            source=build.source,
            ref=build.ref,
            options=dict(build.options),
            created_at=build.created_at,
            started_at=build.started_at,
            finished_at=build.finished_at,
            jobs=[JobOut.of(job) for job in build.jobs],
            url=f"/api/builds/{build.id}",
        )


class BuildDetail(BuildOut):
    wheels: list[WheelOut]
    cost: dict[str, Any] | None
    plan: dict[str, Any] | None
    waiting: list[str] = []
    """While the build runs: what it waits on (each pending step, its worker or queue, its
    attempt and how the attempt before ended)."""

    @classmethod
    def of(cls, build: Build) -> BuildDetail:
        base = BuildOut.of(build).model_dump()
        return cls(
            **base,
            wheels=[WheelOut.of(w) for w in build.wheels],
            cost=build.cost,
            plan=build.plan,
        )


class PackageOut(BaseModel):
    name: str
    builds: int
    latest_build: int | None
    latest_state: str | None
    index_url: str


class WorkerOut(BaseModel):
    identity: str
    hostname: str
    queues: list[str]
    capabilities: dict[str, Any]
    first_seen: dt.datetime
    last_seen: dt.datetime
    online: bool

    @classmethod
    def of(cls, worker: WorkerSeen, now: dt.datetime, stale: dt.timedelta) -> WorkerOut:
        return cls(
            identity=worker.identity,
            hostname=worker.hostname,
            queues=list(worker.queues),
            capabilities=dict(worker.capabilities),
            first_seen=worker.first_seen,
            last_seen=worker.last_seen,
            online=worker.stopped_at is None and now - worker.last_seen < stale,
        )


class TokenRequest(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    package: str | None = None
    admin: bool = False


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    package: str | None
    admin: bool
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            package=token.package,
            admin=token.admin,
            created_at=token.created_at,
            revoked_at=token.revoked_at,
            last_used_at=token.last_used_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown once, stored only as its SHA-256.")


class ScheduleRequest(BaseModel):
    model_config = _STRICT
    cron: str = Field(default="0 2 * * *", description="When, as a cron expression (UTC).")
    git: GitSource | None = None
    path: str | None = None
    variants: list[str] = Field(default_factory=list)
    python: list[str] = Field(default_factory=list)


class Accepted(BaseModel):
    build: BuildOut
    status: Literal["accepted"] = "accepted"


class Problem(BaseModel):
    detail: str
    hint: str | None = None


class Totals(BaseModel):
    packages: int
    wheels: int
    published_wheels: int
    builds: int
    builds_last_day: int
    runner_minutes_saved: float
    gpu_minutes_saved: float
