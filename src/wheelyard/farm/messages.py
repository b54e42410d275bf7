"""What workflows and activities hand each other (through Temporal's pydantic converter).

Dataclasses of strings, numbers, lists and dicts, and the build record's own models where a
message carries a part of it (a built wheel is the record's :class:`~wheelyard.record.WheelInfo`,
not a copy of it). The workflow sandbox imports this module (passed through), so it imports only
the record from the rest of wheelyard. Paths are relative to the farm's data directory, so that
a worker on another machine resolves them under its own mount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wheelyard.record import WheelInfo


@dataclass(kw_only=True)
class BuildRequest:
    build_id: int
    package: str
    source_kind: str
    source: str
    ref: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """``BuildOptions`` as JSON: variants, python, channel, profile, date, pins."""
    farm_recipe: str | None = None
    """The package's farm-side recipe (TOML text), layered over its ``[tool.wheelyard]``."""
    job_timeout_seconds: float = 3600.0
    queue_wait_seconds: float = 6 * 3600.0
    """How long a job may wait for a worker of its build queue before it fails."""
    gpu_wait_seconds: float = 3600.0
    """How long a GPU smoke test may wait for a GPU worker; then the wheels are published
    without it and the job says ``no-gpu-worker``."""
    heartbeat_seconds: float = 30.0
    """A stage whose worker is silent this long is retried on another worker."""
    version_pin: str | None = None
    """A version specifier the build's version must satisfy (a campaign's pin on this very
    package), checked when the build is planned, before any job starts."""
    packages: list[str] | None = None
    """The only projects the build may plan (a schedule's, checked against its creator's token
    when it was made: the repository may list others by the time it runs); None: the
    submission was checked when it was made."""


@dataclass(kw_only=True)
class ScheduledBuild:
    """What a nightly schedule starts: a submission without a build id yet."""

    package: str
    source_kind: str
    source: str
    ref: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    packages: list[str] = field(default_factory=list)
    """The projects the schedule's creator may build, as its repository listed them then."""


@dataclass(kw_only=True)
class FetchResult:
    project_dir: str
    farm_recipe: str | None
    date: str
    commit: str | None = None


@dataclass(kw_only=True)
class JobSpec:
    job_id: str
    variant: str
    platform: str
    pythons: list[str]
    build_queue: str
    test_queue: str
    gpu_test: bool


@dataclass(kw_only=True)
class PlanResult:
    package: str
    version: str
    channel: str
    jobs: list[JobSpec]
    plan: str
    """Where the loaded and planned build is saved (relative to the data directory): every
    later stage reads it instead of loading the recipe again."""
    build_tag: str | None = None
    """Set for a rebuild of a version already published (``BuildOptions.rebuild``)."""


@dataclass(kw_only=True)
class StageInput:
    """One stage (build, verify, GPU smoke) of one job."""

    build_id: int
    job_id: str
    variant: str
    plan: str
    """The build as the plan activity loaded and planned it (``LoadedBuild.save``)."""
    output: str
    """The job's folder (build: its attempts go below it) or, for the stages after the build,
    the wheelhouse the build made: ``<output>/<variant>/*.whl`` and the build record."""
    date: str
    timeout_seconds: float = 3600.0
    build_tag: str | None = None
    """The wheel build tag the plan gave this build (a rebuild of a published version)."""


@dataclass(kw_only=True)
class StageResult:
    job_id: str
    status: str
    """succeeded | failed | skipped"""
    message: str | None = None
    wheels: list[WheelInfo] = field(default_factory=list)
    """The job's wheels as its build record lists them (their ``path`` below ``output``)."""
    log: str | None = None
    seconds: float = 0.0
    worker: str = ""
    attempt: int = 1
    pythons: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] | None = None
    gpu: dict[str, Any] | None = None
    output: str | None = None
    """Where a build put the job's wheelhouse (its attempt's folder); later stages use it."""


@dataclass(kw_only=True)
class JobUpdate:
    build_id: int
    job_id: str
    state: str
    message: str | None = None
    smoke: str | None = None
    result: StageResult | None = None


@dataclass(kw_only=True)
class BuildUpdate:
    build_id: int
    state: str
    message: str | None = None
    version: str | None = None


@dataclass(kw_only=True)
class PublishInput:
    build_id: int
    plan: str
    """The planned build (``LoadedBuild.save``)."""
    options: dict[str, Any]
    outputs: list[str]
    """The wheelhouses of the jobs whose wheels passed, in plan order."""


@dataclass(kw_only=True)
class PublishResult:
    published: list[str]
    already: list[str]
    excluded: list[str]


@dataclass(kw_only=True)
class WorkerAnnouncement:
    identity: str
    hostname: str
    queues: list[str]
    capabilities: dict[str, Any]
    stopping: bool = False


@dataclass(kw_only=True)
class BuildSummary:
    """What ``BuildPackage`` returns."""

    build_id: int
    state: str
    message: str | None = None
    jobs: dict[str, str] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class CampaignInput:
    """What ``RebuildCampaign`` starts with (the plan itself is in the database)."""

    campaign_id: int
    concurrency: int = 2
    """Packages rebuilt at the same time."""


@dataclass(kw_only=True)
class CampaignItem:
    package: str
    state: str
    depends_on: list[str] = field(default_factory=list)
    message: str | None = None
    drop_variants: list[str] = field(default_factory=list)
    """Variants to drop from the package's farm recipe before its rebuild."""
    build: bool = True
    """False when the recipe change is all there is to do."""


@dataclass(kw_only=True)
class CampaignRecipeInput:
    campaign_id: int
    package: str


@dataclass(kw_only=True)
class CampaignItems:
    items: list[CampaignItem]
    pins: dict[str, str] = field(default_factory=dict)
    """Pinned farm packages: name -> requirement (checked on each rebuild's version)."""


@dataclass(kw_only=True)
class CampaignBuildInput:
    campaign_id: int
    package: str
    attempt: int


@dataclass(kw_only=True)
class CampaignBuildResult:
    """How a package's rebuild ended, as the campaign records it."""

    state: str
    message: str | None = None
    log_url: str | None = None


@dataclass(kw_only=True)
class CampaignBuildOutcome:
    campaign_id: int
    package: str
    build_id: int
    summary: BuildSummary


@dataclass(kw_only=True)
class CampaignUpdate:
    campaign_id: int
    state: str
    message: str | None = None


@dataclass(kw_only=True)
class CampaignPackageUpdate:
    campaign_id: int
    package: str
    state: str
    blocker: str | None = None
    message: str | None = None
    build_id: int | None = None
    log_url: str | None = None


@dataclass(kw_only=True)
class CampaignSummary:
    campaign_id: int
    state: str
    packages: dict[str, str] = field(default_factory=dict)
