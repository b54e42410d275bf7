"""``RebuildCampaign``: rebuild a campaign's packages in dependency order.

Each package waits until every package of the campaign it builds against is rebuilt and
published, then - when a slot is free (``concurrency``) and the campaign is not paused - runs its
rebuild as a child ``BuildPackage`` workflow (the farm's usual build: fetch, plan, build on the
job's queue, verify, publish). A failed package does not stop the others: packages that do not
depend on it go on; those that do show ``waiting-for-dependencies`` with its name until it is
retried (``retry`` signal) and published. A package building a dropped variant first gets a farm
recipe without it (``apply_campaign_recipe``); when that is its only change, it is done then.
When nothing can go on the campaign is ``stalled``; when every package is done or skipped,
``done``.

The state lives in Temporal's history, so a farm stopped in the middle of a campaign resumes it
where it was: finished rebuilds are not started again, a running one is retried by Temporal.
Every change is also written to the database (``campaigns``, ``campaign_packages``) for the API
and the dashboard.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from wheelyard.farm.builds.workflow import FARM_HEARTBEAT, BuildPackage
    from wheelyard.farm.messages import (
        BuildRequest,
        BuildSummary,
        CampaignBuildInput,
        CampaignBuildOutcome,
        CampaignBuildResult,
        CampaignInput,
        CampaignItem,
        CampaignItems,
        CampaignPackageUpdate,
        CampaignRecipeInput,
        CampaignSummary,
        CampaignUpdate,
    )
    from wheelyard.farm.vocab import (
        FARM_QUEUE,
        Activity,
        BuildState,
        CampaignPackageState,
        CampaignState,
    )

RECORD_TIMEOUT = timedelta(seconds=60)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
GONE = (CampaignPackageState.SKIPPED, CampaignPackageState.CANCELLED)


@workflow.defn(name="RebuildCampaign")
class RebuildCampaign:
    def __init__(self) -> None:
        self._campaign_id = 0
        self._states: dict[str, CampaignPackageState] = {}
        self._blockers: dict[str, str | None] = {}
        self._deps: dict[str, list[str]] = {}
        self._paused = False
        self._retry: set[str] = set()
        self._running = 0
        self._concurrency = 1
        self._tick = 0
        self._campaign_state: CampaignState | None = None

    # -- control ---------------------------------------------------------------------------

    @workflow.signal
    def pause(self) -> None:
        self._paused = True
        self._tick += 1

    @workflow.signal
    def resume(self) -> None:
        self._paused = False
        self._tick += 1

    @workflow.signal
    def retry(self, package: str) -> None:
        if self._states.get(package) is CampaignPackageState.FAILED:
            self._retry.add(package)
            self._tick += 1

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {
            "state": str(self._campaign_state) if self._campaign_state else None,
            "paused": self._paused,
            "packages": {name: str(state) for name, state in self._states.items()},
            "blockers": {n: b for n, b in self._blockers.items() if b},
        }

    # -- records ---------------------------------------------------------------------------

    async def _activity(self, name: Activity, argument: Any, result_type: Any = None) -> Any:
        return await workflow.execute_activity(
            name,
            argument,
            task_queue=FARM_QUEUE,
            start_to_close_timeout=RECORD_TIMEOUT,
            heartbeat_timeout=FARM_HEARTBEAT,
            retry_policy=RECORD_RETRY,
            result_type=result_type,
        )

    async def _set(
        self,
        package: str,
        state: CampaignPackageState,
        *,
        blocker: str | None = None,
        message: str | None = None,
        log_url: str | None = None,
        record: bool = True,
    ) -> None:
        changed = self._states.get(package) is not state or self._blockers.get(package) != blocker
        if not changed:
            return
        self._states[package] = state
        self._blockers[package] = blocker
        self._tick += 1
        if record:
            await self._activity(
                Activity.RECORD_CAMPAIGN_PACKAGE,
                CampaignPackageUpdate(
                    campaign_id=self._campaign_id,
                    package=package,
                    state=str(state),
                    blocker=blocker,
                    message=message,
                    log_url=log_url,
                ),
            )
        await self._refresh()

    def _derived_state(self) -> CampaignState:
        states = list(self._states.values())
        if all(s is CampaignPackageState.DONE or s in GONE for s in states):
            return CampaignState.DONE
        if self._paused:
            return CampaignState.PAUSED
        moving = (CampaignPackageState.BUILDING, CampaignPackageState.PENDING)
        if any(s is CampaignPackageState.FAILED for s in states) and not any(
            s in moving for s in states
        ):
            return CampaignState.STALLED
        return CampaignState.RUNNING

    async def _refresh(self, message: str | None = None) -> None:
        state = self._derived_state()
        if state is CampaignState.DONE:
            return  # recorded once, by run(), when every package has finished
        if state is not self._campaign_state:
            self._campaign_state = state
            await self._activity(
                Activity.RECORD_CAMPAIGN,
                CampaignUpdate(campaign_id=self._campaign_id, state=str(state), message=message),
            )

    # -- the campaign -----------------------------------------------------------------------

    @workflow.run
    async def run(self, request: CampaignInput) -> CampaignSummary:
        self._campaign_id = request.campaign_id
        self._concurrency = max(1, request.concurrency)
        loaded: CampaignItems = await self._activity(
            Activity.LOAD_CAMPAIGN, request.campaign_id, CampaignItems
        )
        for item in loaded.items:
            self._states[item.package] = CampaignPackageState(item.state)
            self._deps[item.package] = list(item.depends_on)
        try:
            await self._refresh()
            await asyncio.gather(
                self._watch(),
                *(
                    self._package(item)
                    for item in loaded.items
                    if CampaignPackageState(item.state) is not CampaignPackageState.SKIPPED
                ),
            )
        except asyncio.CancelledError:
            self._campaign_state = CampaignState.CANCELLED
            await self._activity(
                Activity.RECORD_CAMPAIGN,
                CampaignUpdate(
                    campaign_id=request.campaign_id,
                    state=str(CampaignState.CANCELLED),
                    message="cancelled",
                ),
            )
            raise
        self._campaign_state = CampaignState.DONE
        await self._activity(
            Activity.RECORD_CAMPAIGN,
            CampaignUpdate(campaign_id=request.campaign_id, state=str(CampaignState.DONE)),
        )
        return CampaignSummary(
            campaign_id=request.campaign_id,
            state=str(CampaignState.DONE),
            packages={n: str(s) for n, s in self._states.items()},
        )

    def _blocker(self, package: str) -> tuple[str | None, str | None]:
        """(a dependency not published yet, a skipped or cancelled one) of ``package``."""
        waiting: str | None = None
        for dep in self._deps[package]:
            state = self._states.get(dep, CampaignPackageState.DONE)
            if state in GONE:
                return None, dep
            if state is CampaignPackageState.FAILED:
                waiting = f"{dep} (failed)"
            elif state is not CampaignPackageState.DONE and waiting is None:
                waiting = dep
        return waiting, None

    async def _watch(self) -> None:
        """Record pause and resume (signals change the state between package events)."""
        while self._derived_state() is not CampaignState.DONE:
            await self._next_change()
            await self._refresh()

    async def _next_change(self) -> None:
        seen = self._tick

        def changed() -> bool:
            return self._tick != seen

        await workflow.wait_condition(changed)

    def _slot_free(self) -> bool:
        return not self._paused and self._running < self._concurrency

    async def _package(self, item: CampaignItem) -> None:
        name = item.package
        if self._states[name] is CampaignPackageState.DONE:
            return
        if item.drop_variants:
            changed: str = await self._activity(
                Activity.APPLY_CAMPAIGN_RECIPE,
                CampaignRecipeInput(campaign_id=self._campaign_id, package=name),
                str,
            )
            if not item.build:
                await self._set(name, CampaignPackageState.DONE, message=changed)
                return
        attempt = 0
        while True:
            while True:
                blocker, gone = self._blocker(name)
                if gone is not None:
                    await self._set(
                        name,
                        CampaignPackageState.SKIPPED,
                        message=f"builds against {gone}, which is {self._states[gone]}",
                    )
                    return
                if blocker is None:
                    break
                await self._set(name, CampaignPackageState.WAITING, blocker=blocker)
                await self._next_change()
            while self._paused or self._running >= self._concurrency:
                await self._set(name, CampaignPackageState.PENDING)
                await workflow.wait_condition(self._slot_free)
            self._running += 1
            attempt += 1
            try:
                result = await self._rebuild(name, attempt)
            finally:
                self._running -= 1
                self._tick += 1
            state = CampaignPackageState(result.state)
            await self._set(
                name, state, message=result.message, log_url=result.log_url, record=False
            )
            if state is CampaignPackageState.DONE:
                return
            await workflow.wait_condition(lambda: name in self._retry)
            self._retry.discard(name)

    async def _rebuild(self, name: str, attempt: int) -> CampaignBuildResult:
        self._states[name] = CampaignPackageState.BUILDING
        self._blockers[name] = None
        self._tick += 1
        request: BuildRequest = await self._activity(
            Activity.START_CAMPAIGN_BUILD,
            CampaignBuildInput(campaign_id=self._campaign_id, package=name, attempt=attempt),
            BuildRequest,
        )
        await self._refresh()
        try:
            summary = await workflow.execute_child_workflow(
                BuildPackage.run,
                request,
                id=f"build-{request.build_id}",
                task_queue=FARM_QUEUE,
            )
        except ChildWorkflowError as exc:
            summary = BuildSummary(
                build_id=request.build_id,
                state=str(BuildState.FAILED),
                message=str(exc.cause or exc),
            )
        result: CampaignBuildResult = await self._activity(
            Activity.FINISH_CAMPAIGN_BUILD,
            CampaignBuildOutcome(
                campaign_id=self._campaign_id,
                package=name,
                build_id=request.build_id,
                summary=summary,
            ),
            CampaignBuildResult,
        )
        return result


CAMPAIGN_WORKFLOWS = [RebuildCampaign]
