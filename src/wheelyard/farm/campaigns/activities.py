"""The activities of ``RebuildCampaign`` (on the farm's queue, next to the database).

Each is idempotent: the campaign's packages are read from the rows the API stored when it
planned the campaign; a rebuild's build row is created once per (package, attempt), so a retried
activity, or a farm restarted while it ran, never starts a second build for the same attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from wheelyard.errors import FarmError
from wheelyard.farm.builds import records
from wheelyard.farm.builds.activities import heartbeating
from wheelyard.farm.campaigns import records as campaign_records
from wheelyard.farm.campaigns.plan import CAMPAIGN_KEYS, DROP, KEEP, NO_BUILD, Pin
from wheelyard.farm.campaigns.recipe_edit import recipe_variants, with_variants
from wheelyard.farm.db.engine import Database
from wheelyard.farm.db.models import Build
from wheelyard.farm.messages import (
    BuildRequest,
    CampaignBuildInput,
    CampaignBuildOutcome,
    CampaignBuildResult,
    CampaignItem,
    CampaignItems,
    CampaignPackageUpdate,
    CampaignRecipeInput,
    CampaignUpdate,
)
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import Activity, BuildState, CampaignPackageState, JobState

WAITS = ("job_timeout_seconds", "queue_wait_seconds", "gpu_wait_seconds", "heartbeat_seconds")


def log_url(build: Build) -> str:
    """The dashboard page of the build's first failed job's log (else the build's page)."""
    failed = next((j for j in build.jobs if j.state == str(JobState.FAILED)), None)
    if failed is not None:
        return f"/build/{build.id}/log/{failed.job_id}"
    return f"/build/{build.id}"


class CampaignActivities:
    def __init__(self, settings: FarmSettings, database: Database) -> None:
        self.settings = settings
        self.database = database

    @activity.defn(name=Activity.LOAD_CAMPAIGN)
    async def load_campaign(self, campaign_id: int) -> CampaignItems:
        def read() -> CampaignItems:
            with self.database.session() as session:
                campaign = campaign_records.get_campaign(session, campaign_id)
                pins = {}
                for text in campaign.trigger.get("pins") or ():
                    pin = Pin.parse(str(text))
                    pins[pin.name] = pin.text
                return CampaignItems(
                    items=[
                        CampaignItem(
                            package=row.package,
                            state=row.state,
                            depends_on=list(row.depends_on),
                            message=row.message,
                            drop_variants=list(row.build_options.get(DROP) or ()),
                            build=not row.build_options.get(NO_BUILD),
                        )
                        for row in campaign.packages
                    ],
                    pins=pins,
                )

        return await heartbeating(read)

    @activity.defn(name=Activity.RECORD_CAMPAIGN)
    async def record_campaign(self, update: CampaignUpdate) -> None:
        def write() -> None:
            with self.database.session() as session:
                campaign_records.update_campaign(session, update)

        await heartbeating(write)

    @activity.defn(name=Activity.RECORD_CAMPAIGN_PACKAGE)
    async def record_campaign_package(self, update: CampaignPackageUpdate) -> None:
        def write() -> None:
            with self.database.session() as session:
                campaign_records.update_campaign_package(session, update)

        await heartbeating(write)

    @activity.defn(name=Activity.APPLY_CAMPAIGN_RECIPE)
    async def apply_campaign_recipe(self, target: CampaignRecipeInput) -> str:
        """Drop the campaign's dropped variants from the package's farm recipe (a new recipe
        version; none when the latest already builds just the kept variants). Returns what
        changed, for the package's row."""
        return await heartbeating(self._apply_recipe, target)

    def _apply_recipe(self, target: CampaignRecipeInput) -> str:
        with self.database.session() as session:
            row = campaign_records.campaign_package(session, target.campaign_id, target.package)
            dropped = [str(v) for v in row.build_options.get(DROP) or ()]
            keep = [str(v) for v in row.build_options.get(KEEP) or ()]
            package = records.package_named(session, target.package)
            if package is None:
                raise ValueError(f"{target.package} is not a farm package")
            latest = records.latest_recipe(session, package)
            current = latest.content if latest else None
            summary = (
                f"{', '.join(dropped)} dropped: the farm recipe builds {', '.join(keep)} "
                "(published wheels stay)"
            )
            if recipe_variants(current) == keep:
                return summary
            why = f"campaign {target.campaign_id}: {', '.join(dropped)} dropped"
            try:
                content = with_variants(current, keep, why=why)
            except FarmError as exc:
                raise ApplicationError(str(exc), non_retryable=True) from exc
            records.set_recipe(session, target.package, content)
            return summary

    @activity.defn(name=Activity.START_CAMPAIGN_BUILD)
    async def start_campaign_build(self, start: CampaignBuildInput) -> BuildRequest:
        """The build row of the package's rebuild (once per attempt) and its request."""
        return await heartbeating(self._start, start)

    def _start(self, start: CampaignBuildInput) -> BuildRequest:
        with self.database.session() as session:
            campaign = campaign_records.get_campaign(session, start.campaign_id)
            row = campaign_records.campaign_package(session, start.campaign_id, start.package)
            waits = {k: float(v) for k, v in campaign.options.items() if k in WAITS}
            if row.attempts == start.attempt and row.build_id is not None:
                build = records.get_build(session, row.build_id)
            else:
                if row.base_build_id is None:
                    raise ValueError(f"{row.package} has no build to start from")
                base = records.get_build(session, row.base_build_id)
                build = records.create_build(
                    session,
                    package=row.package,
                    source_kind=base.source_kind,
                    source=base.source,
                    ref=base.ref,
                    options={k: v for k, v in row.build_options.items() if k not in CAMPAIGN_KEYS},
                    submitted_by=campaign.created_by,
                )
                row.build_id = build.id
                row.attempts = start.attempt
            recipe = records.latest_recipe(session, build.package)
            version_pin = next(
                (
                    pin.specifier
                    for pin in map(Pin.parse, map(str, campaign.trigger.get("pins") or ()))
                    if pin.name == build.package.name
                ),
                None,
            )
            campaign_records.update_campaign_package(
                session,
                CampaignPackageUpdate(
                    campaign_id=start.campaign_id,
                    package=row.package,
                    state=str(CampaignPackageState.BUILDING),
                    build_id=build.id,
                    log_url=f"/build/{build.id}",
                ),
            )
            return BuildRequest(
                build_id=build.id,
                package=build.package.name,
                source_kind=build.source_kind,
                source=build.source,
                ref=build.ref,
                options=dict(build.options),
                farm_recipe=recipe.content if recipe else None,
                job_timeout_seconds=waits.get("job_timeout_seconds", 3600.0),
                queue_wait_seconds=waits.get("queue_wait_seconds", 6 * 3600.0),
                gpu_wait_seconds=waits.get("gpu_wait_seconds", 3600.0),
                heartbeat_seconds=waits.get("heartbeat_seconds", 30.0),
                version_pin=version_pin,
            )

    @activity.defn(name=Activity.FINISH_CAMPAIGN_BUILD)
    async def finish_campaign_build(self, outcome: CampaignBuildOutcome) -> CampaignBuildResult:
        """Record how the rebuild ended (a pin on this very package that its version does not
        meet fails it at planning, before any job: ``BuildRequest.version_pin``)."""
        return await heartbeating(self._finish, outcome)

    def _finish(self, outcome: CampaignBuildOutcome) -> CampaignBuildResult:
        with self.database.session() as session:
            build = records.get_build(session, outcome.build_id)
            state = CampaignPackageState.DONE
            message: str | None = None
            if outcome.summary.state != str(BuildState.PUBLISHED):
                state = CampaignPackageState.FAILED
                message = outcome.summary.message or build.message or outcome.summary.state
            result = CampaignBuildResult(
                state=str(state),
                message=message,
                log_url=log_url(build) if state is CampaignPackageState.FAILED else None,
            )
            campaign_records.update_campaign_package(
                session,
                CampaignPackageUpdate(
                    campaign_id=outcome.campaign_id,
                    package=outcome.package,
                    state=result.state,
                    message=message,
                    build_id=build.id,
                    log_url=result.log_url or f"/build/{build.id}",
                ),
            )
            return result


def campaign_activities(activities: CampaignActivities) -> list[Callable[..., Any]]:
    return [
        activities.load_campaign,
        activities.record_campaign,
        activities.record_campaign_package,
        activities.apply_campaign_recipe,
        activities.start_campaign_build,
        activities.finish_campaign_build,
    ]
