"""Request and response bodies of the campaign and graph API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from wheelyard.farm.api.schemas import MAX_WAIT_SECONDS
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.db.models import Campaign

_STRICT = ConfigDict(extra="forbid")
_FROM_ROWS = ConfigDict(from_attributes=True)


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
    queue_wait_seconds: float | None = Field(default=None, gt=0, le=MAX_WAIT_SECONDS)
    gpu_wait_seconds: float | None = Field(default=None, gt=0, le=MAX_WAIT_SECONDS)
    heartbeat_seconds: float | None = Field(default=None, gt=0)


class Retry(BaseModel):
    model_config = _STRICT
    package: str


class CampaignPackageOut(BaseModel):
    """A package of a campaign, read from its row and its rebuild's (``from_attributes``)."""

    model_config = _FROM_ROWS
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


class CampaignOut(BaseModel):
    """A campaign, read from its row (``from_attributes``); the counts and the time left are
    its status (:func:`campaign_out`)."""

    model_config = _FROM_ROWS
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
    counts: dict[str, int] = Field(default_factory=dict)
    done: int = 0
    total: int = 0
    remaining_seconds: float = 0.0
    packages: list[CampaignPackageOut]

    @model_validator(mode="after")
    def _status(self, info: ValidationInfo) -> CampaignOut:
        summary = (info.context or {}).get("summary")
        if summary is not None:
            self.counts = dict(summary.counts)
            self.done = summary.done
            self.total = summary.total
            self.remaining_seconds = summary.remaining_seconds
        return self


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut.model_validate(
        campaign, context={"summary": campaign_records.status(campaign)}
    )


class CampaignPlanOut(BaseModel):
    """What a dry run would start."""

    trigger: dict[str, Any]
    packages: list[dict[str, Any]]
