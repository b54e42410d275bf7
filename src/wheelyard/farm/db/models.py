"""The farm's tables: packages, recipes, builds, jobs, wheels, workers seen, API tokens.

States are stored as their string values (``BuildState``, ``JobState``); times are UTC.
Schema changes go through an Alembic revision in ``migrations/versions`` (a unit test checks
that the migrations and these models agree).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from wheelyard.record import WheelInfo

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self,
        value: dt.datetime | None,
        dialect: Dialect,  # noqa: ARG002
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 - SQLAlchemy's class attribute
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
        list[Any]: JSON(),
    }


class Package(Base):
    __tablename__ = "packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    """The canonical project name (PEP 503)."""
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    builds: Mapped[list[Build]] = relationship(back_populates="package")
    recipes: Mapped[list[Recipe]] = relationship(back_populates="package")


class Recipe(Base):
    """A farm-side recipe for a package (same keys as ``[tool.wheelyard]``), layered over the
    package's own table; the newest one is used by the package's next builds."""

    __tablename__ = "recipes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    package: Mapped[Package] = relationship(back_populates="recipes")


class Build(Base):
    __tablename__ = "builds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("packages.id"), index=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    source_kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(Text)
    """A path, a git URL, or the stored sdist (relative to the data directory)."""
    ref: Mapped[str | None] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the submission asked for: variants, python, channel, date, profile."""
    recipe_id: Mapped[int | None] = mapped_column(ForeignKey("recipes.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    """Why the build failed or was cancelled."""
    version: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(20))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cost: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The plan's cost comparison (fan-out vs consolidated vs split), for the dashboard."""
    publish_report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    package: Mapped[Package] = relationship(back_populates="builds")

    @property
    def package_name(self) -> str:
        return self.package.name

    jobs: Mapped[list[BuildJob]] = relationship(
        back_populates="build", order_by="BuildJob.id", cascade="all, delete-orphan"
    )
    wheels: Mapped[list[Wheel]] = relationship(
        back_populates="build", order_by="Wheel.id", cascade="all, delete-orphan"
    )


class BuildJob(Base):
    """One planned job of a build (platform x variant x Pythons) and what became of it."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("build_id", "job_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id"), index=True)
    job_id: Mapped[str] = mapped_column(String(200))
    """The plan's job id (``linux-x86_64-cu128``)."""
    platform: Mapped[str] = mapped_column(String(50))
    variant: Mapped[str] = mapped_column(String(50))
    pythons: Mapped[list[str]] = mapped_column(default=list)
    build_queue: Mapped[str] = mapped_column(String(100))
    test_queue: Mapped[str] = mapped_column(String(100))
    gpu_test: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20))
    smoke: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(200))
    log_path: Mapped[str | None] = mapped_column(Text)
    """The job's build log, relative to the data directory."""
    pythons_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Per Python: built | failed | not-started | not-in-image (from the build record)."""
    record: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The job's entry of the build record (``record.JobRecord``)."""
    seconds: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    build: Mapped[Build] = relationship(back_populates="jobs")


class Wheel(Base):
    __tablename__ = "wheels"
    __table_args__ = (UniqueConstraint("build_id", "filename"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("builds.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    python: Mapped[str] = mapped_column(String(20))
    tags: Mapped[list[str]] = mapped_column(default=list)
    """Platform tags of the file name."""
    variant: Mapped[str] = mapped_column(String(50))
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The gate's verdict: status, failed and skipped checks, first message."""
    published: Mapped[list[str]] = mapped_column(default=list)
    """The index files this wheel became (variant, fallback, legacy)."""
    built_against: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the wheel was built against: interpreter and ABI, image, toolkit, build-time
    dependency versions (ABI-carrying ones apart), the shared libraries it needs."""

    build: Mapped[Build] = relationship(back_populates="wheels")

    @property
    def package_name(self) -> str:
        return self.build.package.name

    def fill(self, wheel: WheelInfo) -> None:
        """The columns from the build record's entry of the wheel (the one shape of a built
        wheel; the API reads these columns back with ``from_attributes``)."""
        self.filename = wheel.name
        self.sha256 = wheel.sha256
        self.size = wheel.size
        self.python = wheel.python
        self.tags = list(wheel.platform_tags)
        self.variant = wheel.variant
        if wheel.verification is not None:
            self.verification = wheel.verification.dump()
        if wheel.built_against is not None:
            self.built_against = wheel.built_against


class WorkerSeen(Base):
    """A worker that announced itself: the queues it polls and what it can build."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identity: Mapped[str] = mapped_column(String(200), unique=True)
    hostname: Mapped[str] = mapped_column(String(200))
    queues: Mapped[list[str]] = mapped_column(default=list)
    capabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[dt.datetime | None]


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 (tokens are random, so a fast hash suffices)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, to recognise it in listings."""
    package: Mapped[str | None] = mapped_column(String(200))
    """The canonical package name the token may write to; None with ``admin``."""
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class Campaign(Base):
    """A rebuild campaign: a trigger (new Python, new or dropped variant, ABI pins), the
    packages it touches in dependency order, and its ``RebuildCampaign`` workflow."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    trigger: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``Trigger.to_json()``: add_python, add_variants, drop_variants, pins."""
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), index=True)
    message: Mapped[str | None] = mapped_column(Text)
    concurrency: Mapped[int] = mapped_column(Integer, default=2)
    date: Mapped[str | None] = mapped_column(String(10))
    """The build date of rebuilds that need a new version (ABI pins)."""
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """What the request chose besides the trigger: packages, heartbeat and wait times."""
    created_by: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    packages: Mapped[list[CampaignPackage]] = relationship(
        back_populates="campaign",
        order_by="CampaignPackage.position",
        cascade="all, delete-orphan",
    )


class CampaignPackage(Base):
    """One package of a campaign: why it is affected, what it waits for, its rebuild."""

    __tablename__ = "campaign_packages"
    __table_args__ = (UniqueConstraint("campaign_id", "package"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    package: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    """Place in the campaign's dependency order (0 first)."""
    depends_on: Mapped[list[str]] = mapped_column(default=list)
    """Packages of the same campaign this one builds against (rebuilt and published first)."""
    reason: Mapped[str] = mapped_column(Text, default="")
    """Why the campaign touches the package."""
    state: Mapped[str] = mapped_column(String(30))
    blocker: Mapped[str | None] = mapped_column(String(200))
    """The dependency a waiting package waits for (the failed one, when one failed)."""
    message: Mapped[str | None] = mapped_column(Text)
    """Why it failed or was skipped."""
    build_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """``BuildOptions`` of its rebuild."""
    base_build_id: Mapped[int | None] = mapped_column(ForeignKey("builds.id"))
    """The published build the campaign starts from (its source and options)."""
    build_id: Mapped[int | None] = mapped_column(ForeignKey("builds.id"))
    """The current rebuild."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    estimate_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    """Machine time the rebuild is expected to take (from the base build's jobs)."""
    log_url: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    campaign: Mapped[Campaign] = relationship(back_populates="packages")
    build: Mapped[Build | None] = relationship(
        foreign_keys=[build_id], viewonly=True, lazy="selectin"
    )
    """The current rebuild (read only: the campaign sets ``build_id``)."""

    @property
    def build_started_at(self) -> dt.datetime | None:
        return self.build.started_at if self.build is not None else None

    @property
    def build_finished_at(self) -> dt.datetime | None:
        return self.build.finished_at if self.build is not None else None

    @property
    def version(self) -> str | None:
        return self.build.version if self.build is not None else None
