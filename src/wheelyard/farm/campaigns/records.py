"""Reading and writing campaigns: the facts a campaign plans from (what each package's
published wheels were built against), campaign rows, their packages' states, the status
summary with counts and the remaining machine time."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wheelyard.errors import FarmNotFoundError
from wheelyard.farm.builds import records
from wheelyard.farm.campaigns.graph import ImageFacts, PackageFacts, requirement_names
from wheelyard.farm.campaigns.plan import PARTIAL, CampaignPlan
from wheelyard.farm.db.models import Build, Campaign, CampaignPackage, Package, utcnow
from wheelyard.farm.messages import CampaignPackageUpdate, CampaignUpdate
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import BuildState, CampaignPackageState, CampaignState
from wheelyard.record import JobRecord


def _build_requires(data_dir: Path, build: Build) -> frozenset[str]:
    path = data_dir / FarmSettings.build_dir(build.id) / "source" / "pyproject.toml"
    try:
        with path.open("rb") as fh:
            requires = tomllib.load(fh).get("build-system", {}).get("requires", [])
    except (OSError, tomllib.TOMLDecodeError):
        return frozenset()
    return requirement_names([str(r) for r in requires], runtime=False)


def _images(build: Build) -> dict[str, ImageFacts]:
    images: dict[str, ImageFacts] = {}
    for job in build.jobs:
        for entry in (job.record or {}).get("jobs", []):
            image = JobRecord.model_validate(entry).image
            if image is not None and image.ref:
                images[job.variant] = ImageFacts(ref=image.ref, interpreters=image.interpreters)
    return images


def _facts(data_dir: Path, package: Package, builds: list[Build]) -> PackageFacts | None:
    """Facts from the package's published builds of its newest published version."""
    published = [b for b in builds if b.state == str(BuildState.PUBLISHED)]
    if not published:
        return None
    newest = published[0]
    same = [b for b in published if b.version == newest.version]
    base = next((b for b in published if not b.options.get(PARTIAL)), newest)
    pythons: set[str] = set()
    variants: set[str] = set()
    build_deps: dict[str, str] = {}
    abi_deps: dict[str, str] = {}
    requires: set[str] = set()
    python_specific = False
    images: dict[str, ImageFacts] = {}
    for build in reversed(same):
        images.update(_images(build))
        for wheel in build.wheels:
            if not wheel.published:
                continue
            pythons.add(wheel.python)
            variants.add(wheel.variant)
            against = wheel.built_against or {}
            abis = against.get("abi") or wheel.filename.removesuffix(".whl").split("-")[-2:-1]
            if any(abi not in ("abi3", "none") for abi in abis):
                python_specific = True
            build_deps.update(against.get("build_dependencies") or {})
            abi_deps.update(against.get("abi_dependencies") or {})
            requires |= requirement_names(against.get("requires") or (), runtime=True)
    return PackageFacts(
        name=package.name,
        build_id=base.id,
        version=newest.version or "",
        source_kind=base.source_kind,
        source=base.source,
        ref=base.ref,
        options={k: v for k, v in base.options.items() if k != PARTIAL},
        pythons=frozenset(pythons),
        variants=frozenset(variants),
        python_specific=python_specific,
        images=images,
        build_dependencies=build_deps,
        abi_dependencies=abi_deps,
        requires=frozenset(requires) - {package.name},
        build_requires=_build_requires(data_dir, base) - {package.name},
        seconds=sum(job.seconds or 0.0 for job in base.jobs),
    )


def package_facts(session: Session, data_dir: Path) -> dict[str, PackageFacts]:
    """Every package with a published build: what its wheels were built against."""
    facts: dict[str, PackageFacts] = {}
    for package in records.list_packages(session):
        builds = list(
            session.scalars(
                select(Build)
                .where(Build.package_id == package.id)
                .options(selectinload(Build.jobs), selectinload(Build.wheels))
                .order_by(Build.id.desc())
            )
        )
        fact = _facts(data_dir, package, builds)
        if fact is not None:
            facts[package.name] = fact
    return facts


def workflow_id(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def create_campaign(
    session: Session,
    plan: CampaignPlan,
    *,
    concurrency: int,
    date: dt.date,
    options: dict[str, Any],
    created_by: int | None,
) -> Campaign:
    campaign = Campaign(
        trigger=plan.trigger.to_json(),
        description=plan.trigger.describe(),
        state=str(CampaignState.PLANNING),
        concurrency=concurrency,
        date=date.isoformat(),
        options=options,
        created_by=created_by,
    )
    session.add(campaign)
    session.flush()
    campaign.workflow_id = workflow_id(campaign.id)
    now = utcnow()
    for planned in plan.packages:
        skipped = planned.state is CampaignPackageState.SKIPPED
        session.add(
            CampaignPackage(
                campaign_id=campaign.id,
                package=planned.name,
                position=planned.position,
                depends_on=list(planned.depends_on),
                reason=planned.reason,
                state=str(planned.state),
                message=planned.message,
                build_options=dict(planned.build_options),
                base_build_id=planned.base_build_id,
                estimate_seconds=planned.estimate_seconds,
                finished_at=now if skipped else None,
            )
        )
    session.flush()
    return campaign


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, options=[selectinload(Campaign.packages)])
    if campaign is None:
        raise FarmNotFoundError(f"no campaign {campaign_id}")
    return campaign


def list_campaigns(session: Session, *, limit: int = 50) -> list[Campaign]:
    return list(
        session.scalars(
            select(Campaign)
            .options(selectinload(Campaign.packages))
            .order_by(Campaign.id.desc())
            .limit(limit)
        )
    )


def campaign_package(session: Session, campaign_id: int, package: str) -> CampaignPackage:
    name = str(canonicalize_name(package))
    row = session.scalars(
        select(CampaignPackage).where(
            CampaignPackage.campaign_id == campaign_id, CampaignPackage.package == name
        )
    ).first()
    if row is None:
        raise FarmNotFoundError(f"campaign {campaign_id} has no package {name}")
    return row


def update_campaign(session: Session, update: CampaignUpdate) -> Campaign:
    campaign = get_campaign(session, update.campaign_id)
    state = CampaignState(update.state)
    if CampaignState(campaign.state).finished:
        return campaign  # a late update (a retried activity)
    now = utcnow()
    campaign.state = str(state)
    if update.message is not None:
        campaign.message = update.message
    if state is not CampaignState.PLANNING and campaign.started_at is None:
        campaign.started_at = now
    if state.finished:
        campaign.finished_at = now
        for row in campaign.packages:
            if not CampaignPackageState(row.state).finished:
                if state is CampaignState.CANCELLED or row.state != str(
                    CampaignPackageState.FAILED
                ):
                    row.state = str(CampaignPackageState.CANCELLED)
                row.finished_at = row.finished_at or now
    return campaign


def update_campaign_package(session: Session, update: CampaignPackageUpdate) -> CampaignPackage:
    row = campaign_package(session, update.campaign_id, update.package)
    state = CampaignPackageState(update.state)
    now = utcnow()
    row.state = str(state)
    row.blocker = update.blocker
    if update.message is not None or state is not CampaignPackageState.FAILED:
        row.message = update.message
    if update.build_id is not None:
        row.build_id = update.build_id
    if update.log_url is not None or state is CampaignPackageState.BUILDING:
        row.log_url = update.log_url
    if state is CampaignPackageState.BUILDING:
        row.started_at = row.started_at or now
        row.finished_at = None
    if state.finished or state is CampaignPackageState.FAILED:
        row.finished_at = now
    return row


@dataclass(frozen=True, kw_only=True)
class CampaignStatus:
    counts: dict[str, int]
    remaining_seconds: float
    """Estimated machine time of what is left (base builds' job times, minus what the running
    rebuilds have already spent)."""
    done: int
    total: int


def status(campaign: Campaign, *, now: dt.datetime | None = None) -> CampaignStatus:
    now = now or utcnow()
    counts = {str(s): 0 for s in CampaignPackageState}
    remaining = 0.0
    for row in campaign.packages:
        counts[row.state] = counts.get(row.state, 0) + 1
        state = CampaignPackageState(row.state)
        if state.finished:
            continue
        estimate = row.estimate_seconds
        if state is CampaignPackageState.BUILDING and row.started_at is not None:
            estimate = max(0.0, estimate - (now - row.started_at).total_seconds())
        remaining += estimate
    finished = sum(1 for r in campaign.packages if CampaignPackageState(r.state).finished)
    return CampaignStatus(
        counts={k: v for k, v in counts.items() if v},
        remaining_seconds=round(remaining, 1),
        done=finished,
        total=len(campaign.packages),
    )
