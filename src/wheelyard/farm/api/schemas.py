"""The API's request and response bodies (pydantic models: validated input, OpenAPI schemas)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    model_validator,
)

from wheelyard.config.vocab import Channel

_STRICT = ConfigDict(extra="forbid")
_FROM_ROWS = ConfigDict(from_attributes=True, populate_by_name=True)
"""Response bodies read from database rows by pydantic, not field by field."""


MAX_WAIT_SECONDS = 7 * 24 * 3600.0
"""The longest a job may wait for a worker (a week): beyond it a workflow timer cannot be set."""
CRON = r"^\s*[0-9*?LW#/,A-Za-z-]+(\s+[0-9*?LW#/,A-Za-z-]+){4,6}\s*$"
"""A cron expression of five to seven fields (Temporal's schedules take those)."""


class GitSource(BaseModel):
    model_config = _STRICT
    url: str = Field(
        max_length=2048, description="https://, ssh://, git://, file:// or user@host:path"
    )
    ref: str | None = Field(
        default=None, max_length=255, description="Branch, tag or commit (default: HEAD)."
    )


class BuildSubmission(BaseModel):
    """A build of a git repository or (admin tokens only) a directory of the farm's machine."""

    model_config = _STRICT
    git: GitSource | None = None
    path: str | None = Field(
        default=None, max_length=4096, description="An absolute directory (admin only)."
    )
    package: str | None = Field(
        default=None,
        max_length=200,
        description="The package meant; checked against the token before fetching.",
    )
    variants: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=64, description="Only these variants."
    )
    python: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=64,
        description="Override the recipe's python (cp312, '>=3.11' ...).",
    )
    channel: Channel | None = None
    profile: str | None = Field(default=None, max_length=100)
    date: dt.date | None = Field(default=None, description="Nightly date (default: commit date).")
    job_timeout_seconds: float = Field(default=3600.0, gt=0, le=24 * 3600)
    queue_wait_seconds: float = Field(default=6 * 3600.0, gt=0, le=MAX_WAIT_SECONDS)
    gpu_wait_seconds: float = Field(default=3600.0, gt=0, le=MAX_WAIT_SECONDS)
    heartbeat_seconds: float = Field(default=30.0, ge=5, le=600)


class JobOut(BaseModel):
    """A job as the API shows it, read from its row (``from_attributes``)."""

    model_config = _FROM_ROWS
    build_id: int = Field(exclude=True)
    log_path: str | None = Field(default=None, exclude=True)
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def log_url(self) -> str | None:
        if self.log_path is None:
            return None
        return f"/api/builds/{self.build_id}/jobs/{self.job_id}/log"


class WheelOut(BaseModel):
    """A built wheel as the API shows it, read from its row (``from_attributes``)."""

    model_config = _FROM_ROWS
    build_id: int
    package: str = Field(validation_alias=AliasChoices("package_name", "package"))
    filename: str
    sha256: str
    size: int
    python: str
    tags: list[str]
    variant: str
    verification: dict[str, Any] | None
    published: list[str]
    built_against: dict[str, Any] | None = None


class BuildOut(BaseModel):
    """A build as the API shows it, read from its row (``from_attributes``)."""

    model_config = _FROM_ROWS
    id: int
    package: str = Field(validation_alias=AliasChoices("package_name", "package"))
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

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return f"/api/builds/{self.id}"


class BuildDetail(BuildOut):
    wheels: list[WheelOut]
    cost: dict[str, Any] | None
    plan: dict[str, Any] | None
    waiting: list[str] = []
    """While the build runs: what it waits on (each pending step, its worker or queue, its
    attempt and how the attempt before ended)."""


class PackageOut(BaseModel):
    name: str
    builds: int
    latest_build: int | None
    latest_state: str | None
    index_url: str


class WorkerOut(BaseModel):
    """A worker as the API shows it, read from its row (``from_attributes``); ``online`` needs
    the time: validate with ``context={"now": ..., "stale": ...}``."""

    model_config = _FROM_ROWS
    identity: str
    hostname: str
    queues: list[str]
    capabilities: dict[str, Any]
    first_seen: dt.datetime
    last_seen: dt.datetime
    stopped_at: dt.datetime | None = None
    online: bool = False

    @model_validator(mode="after")
    def _online(self, info: ValidationInfo) -> WorkerOut:
        context = info.context or {}
        if "now" in context:
            recent = context["now"] - self.last_seen < context["stale"]
            self.online = self.stopped_at is None and recent
        return self


class TokenRequest(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    package: str | None = None
    admin: bool = False


class TokenOut(BaseModel):
    model_config = _FROM_ROWS
    id: int
    name: str
    prefix: str
    package: str | None
    admin: bool
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown once, stored only as its SHA-256.")


class ScheduleRequest(BaseModel):
    model_config = _STRICT
    cron: str = Field(
        default="0 2 * * *",
        pattern=CRON,
        max_length=200,
        description="When, as a cron expression (UTC): five to seven fields.",
    )
    git: GitSource | None = None
    path: str | None = Field(default=None, max_length=4096)
    variants: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=64
    )
    python: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=64)


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
