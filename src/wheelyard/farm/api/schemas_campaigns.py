"""Request and response bodies of the campaign and graph API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.db.models import Campaign, CampaignPackage

_STRICT = ConfigDict(extra="forbid")


class CampaignStart(BaseModel):
    """A rebuild campaign: at least one trigger."""

    model_config = _STRICT
    add_python: list[str] = Field(default_factory=list, description="cp314, cp314t ...")
    add_variants: list[str] = Field(default_factory=list, description="cu130 ...")
    drop_variants: list[str] = Field(default_factory=list, description="cu126 ...")
    pins: list[str] = Field(
        default_factory=list, description="torch==2.14.*, numpy>=2.3, <farm package>==<version>"
    )
    packages: list[str] = Field(default_factory=list, description="Only these packages.")
    concurrency: int = Field(default=2, ge=1, le=64, description="Packages rebuilt at once.")
    date: dt.date | None = Field(
        default=None, description="Build date of pinned rebuilds (new version); default today."
    )
    dry_run: bool = Field(default=False, description="Plan only: nothing recorded or started.")
    job_timeout_seconds: float | None = Field(default=None, gt=0, le=24 * 3600)
    queue_wait_seconds: float | None = Field(default=None, gt=0)
    gpu_wait_seconds: float | None = Field(default=None, gt=0)
    heartbeat_seconds: float | None = Field(default=None, gt=0)


class Retry(BaseModel):
    model_config = _STRICT
    package: str


class CampaignPackageOut(BaseModel):
    package: str
    position: int
    state: str
    reason: str
    depends_on: list[str]
    blocker: str | None
    message: str | None
    build_id: int | None
    base_build_id: int | None
    attempts: int
    estimate_seconds: float
    log_url: str | None
    build_options: dict[str, Any]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    build_started_at: dt.datetime | None = None
    build_finished_at: dt.datetime | None = None
    version: str | None = None

    @classmethod
    def of(cls, row: CampaignPackage, builds: dict[int, Any]) -> CampaignPackageOut:
        build = builds.get(row.build_id) if row.build_id is not None else None
        return cls(
            package=row.package,
            position=row.position,
            state=row.state,
            reason=row.reason,
            depends_on=list(row.depends_on),
            blocker=row.blocker,
            message=row.message,
            build_id=row.build_id,
            base_build_id=row.base_build_id,
            attempts=row.attempts,
            estimate_seconds=row.estimate_seconds,
            log_url=row.log_url,
            build_options=dict(row.build_options),
            started_at=row.started_at,
            finished_at=row.finished_at,
            build_started_at=build.started_at if build else None,
            build_finished_at=build.finished_at if build else None,
            version=build.version if build else None,
        )


class CampaignOut(BaseModel):
    id: int
    state: str
    description: str
    trigger: dict[str, Any]
    message: str | None
    concurrency: int
    date: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: dict[str, int]
    done: int
    total: int
    remaining_seconds: float
    packages: list[CampaignPackageOut]

    @classmethod
    def of(cls, campaign: Campaign, builds: dict[int, Any]) -> CampaignOut:
        summary = campaign_records.status(campaign)
        return cls(
            id=campaign.id,
            state=campaign.state,
            description=campaign.description,
            trigger=dict(campaign.trigger),
            message=campaign.message,
            concurrency=campaign.concurrency,
            date=campaign.date,
            created_at=campaign.created_at,
            started_at=campaign.started_at,
            finished_at=campaign.finished_at,
            counts=summary.counts,
            done=summary.done,
            total=summary.total,
            remaining_seconds=summary.remaining_seconds,
            packages=[CampaignPackageOut.of(p, builds) for p in campaign.packages],
        )


class CampaignPlanOut(BaseModel):
    """What a dry run would start."""

    trigger: dict[str, Any]
    packages: list[dict[str, Any]]
