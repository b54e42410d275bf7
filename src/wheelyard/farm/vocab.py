"""The farm's vocabularies: build and job states, source kinds, queue names."""

from __future__ import annotations

from enum import StrEnum

FARM_QUEUE = "wheelyard-farm"
"""The task queue of the farm's own activities (fetch, plan, record, publish), served by the
worker that ``wheelyard farm up`` starts next to the database."""


class BuildState(StrEnum):
    QUEUED = "queued"
    FETCHING = "fetching"
    PLANNING = "planning"
    BUILDING = "building"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (BuildState.PUBLISHED, BuildState.FAILED, BuildState.CANCELLED)


class JobState(StrEnum):
    PENDING = "pending"
    BUILDING = "building"
    VERIFYING = "verifying"
    SMOKE_TESTING = "smoke-testing"
    SUCCEEDED = "succeeded"
    """Built and verified (and smoke-tested on a GPU where the plan asks for it)."""
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (
            JobState.SUCCEEDED,
            JobState.FAILED,
            JobState.SKIPPED,
            JobState.CANCELLED,
        )


class SourceKind(StrEnum):
    PATH = "path"
    """A directory on the farm's machine (or a shared file system)."""
    GIT = "git"
    """A git URL and a ref (branch, tag or commit)."""
    SDIST = "sdist"
    """An sdist uploaded to the API, kept in the farm's data directory."""


class SmokeState(StrEnum):
    NOT_NEEDED = "not-needed"
    PASSED = "passed"
    FAILED = "failed"
    NO_GPU_WORKER = "no-gpu-worker"
    """No worker served the GPU queue in time: published without the GPU smoke test."""


class CampaignState(StrEnum):
    PLANNING = "planning"
    RUNNING = "running"
    PAUSED = "paused"
    """No package starts; the ones building finish."""
    STALLED = "stalled"
    """Nothing can go on: what is left failed or waits for a failed package (retry it)."""
    DONE = "done"
    """Every package rebuilt and published, or skipped."""
    FAILED = "failed"
    """The campaign could not be planned."""
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (CampaignState.DONE, CampaignState.FAILED, CampaignState.CANCELLED)


class CampaignPackageState(StrEnum):
    PENDING = "pending"
    """Ready; waits for a free slot (concurrency limit) or for the campaign to resume."""
    WAITING = "waiting-for-dependencies"
    """A package it builds against is not rebuilt and published yet (``blocker`` names it)."""
    BUILDING = "building"
    DONE = "done"
    """Rebuilt and published."""
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (
            CampaignPackageState.DONE,
            CampaignPackageState.SKIPPED,
            CampaignPackageState.CANCELLED,
        )


class Activity(StrEnum):
    """Every activity's name: the definitions (``@activity.defn(name=...)``) and the workflows'
    calls use these members, so a reader (and an IDE) can follow a call to its definition."""

    FETCH_SOURCE = "fetch_source"
    PLAN_BUILD = "plan_build"
    RECORD_BUILD = "record_build"
    RECORD_JOB = "record_job"
    RECORD_WORKER = "record_worker"
    CREATE_SCHEDULED_BUILD = "create_scheduled_build"
    PUBLISH_BUILD = "publish_build"
    BUILD_JOB = "build_job"
    VERIFY_JOB = "verify_job"
    GPU_SMOKE_JOB = "gpu_smoke_job"
    LOAD_CAMPAIGN = "load_campaign"
    RECORD_CAMPAIGN = "record_campaign"
    RECORD_CAMPAIGN_PACKAGE = "record_campaign_package"
    APPLY_CAMPAIGN_RECIPE = "apply_campaign_recipe"
    START_CAMPAIGN_BUILD = "start_campaign_build"
    FINISH_CAMPAIGN_BUILD = "finish_campaign_build"
