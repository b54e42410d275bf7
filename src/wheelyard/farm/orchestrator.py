"""The farm's one orchestrator: what starts, steers and watches builds and campaigns.

``Orchestrator`` is the Protocol the API and the submission code use; ``TemporalOrchestrator``
implements it with a Temporal client (tests use fakes).
"""

from __future__ import annotations

from typing import Protocol

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from wheelyard.errors import FarmError
from wheelyard.farm.builds.records import workflow_id
from wheelyard.farm.builds.workflow import BuildPackage, NightlyBuild
from wheelyard.farm.campaigns.records import workflow_id as campaign_workflow_id
from wheelyard.farm.campaigns.workflow import RebuildCampaign
from wheelyard.farm.messages import BuildRequest, CampaignInput, ScheduledBuild
from wheelyard.farm.vocab import FARM_QUEUE


class Orchestrator(Protocol):
    """Starts, cancels and watches build workflows and the nightly schedule; starts, signals
    and cancels campaign workflows."""

    async def start_build(self, request: BuildRequest) -> None: ...

    async def cancel_build(self, build_id: int) -> None: ...

    async def waiting(self, build_id: int) -> list[str]: ...

    async def schedule_nightly(
        self, schedule_id: str, cron: str, build: ScheduledBuild
    ) -> None: ...

    async def start_campaign(self, request: CampaignInput) -> None: ...

    async def signal_campaign(
        self, campaign_id: int, signal: str, argument: str | None = None
    ) -> None: ...

    async def cancel_campaign(self, campaign_id: int) -> None: ...


def _pending_line(pending: PendingActivityInfo) -> str:
    name = pending.activity_type.name
    queue = pending.activity_options.task_queue.name or "its queue"
    if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
        line = f"{name}: running on {pending.last_worker_identity or 'a worker'}"
    else:
        line = f"{name}: waiting for a worker on {queue}"
    if pending.attempt > 1:
        line += f" (attempt {pending.attempt}"
        if pending.last_failure.message:
            line += f"; the last one ended: {pending.last_failure.message}"
        line += ")"
    return line


class TemporalOrchestrator:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def start_build(self, request: BuildRequest) -> None:
        await self.client.start_workflow(
            BuildPackage.run,
            request,
            id=workflow_id(request.build_id),
            task_queue=FARM_QUEUE,
        )

    async def cancel_build(self, build_id: int) -> None:
        try:
            await self.client.get_workflow_handle(workflow_id(build_id)).cancel()
        except RPCError as exc:
            raise FarmError(f"cannot cancel build {build_id}: {exc}") from exc

    async def waiting(self, build_id: int) -> list[str]:
        """What the build's workflow waits on now, one line per pending activity: where it
        runs or waits for a worker, its attempt, and how the attempt before it ended (a worker
        that stopped heartbeating, an error being retried). Empty when nothing is pending or
        the workflow is unknown."""
        try:
            description = await self.client.get_workflow_handle(workflow_id(build_id)).describe()
        except RPCError:
            return []
        return [_pending_line(p) for p in description.raw_description.pending_activities]

    async def schedule_nightly(self, schedule_id: str, cron: str, build: ScheduledBuild) -> None:
        """Create (or replace) the Temporal schedule ``schedule_id`` starting ``NightlyBuild``."""
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                NightlyBuild.run, build, id=f"{schedule_id}-run", task_queue=FARM_QUEUE
            ),
            spec=ScheduleSpec(cron_expressions=[cron]),
        )
        try:
            await self.client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:

            def replace(_input: ScheduleUpdateInput) -> ScheduleUpdate:
                return ScheduleUpdate(schedule=schedule)

            await self.client.get_schedule_handle(schedule_id).update(replace)

    async def start_campaign(self, request: CampaignInput) -> None:
        await self.client.start_workflow(
            RebuildCampaign.run,
            request,
            id=campaign_workflow_id(request.campaign_id),
            task_queue=FARM_QUEUE,
        )

    async def signal_campaign(
        self, campaign_id: int, signal: str, argument: str | None = None
    ) -> None:
        """``pause``, ``resume`` or ``retry`` (with the package's name)."""
        handle = self.client.get_workflow_handle(campaign_workflow_id(campaign_id))
        try:
            if argument is None:
                await handle.signal(signal)
            else:
                await handle.signal(signal, argument)
        except RPCError as exc:
            raise FarmError(f"cannot {signal} campaign {campaign_id}: {exc}") from exc

    async def cancel_campaign(self, campaign_id: int) -> None:
        try:
            await self.client.get_workflow_handle(campaign_workflow_id(campaign_id)).cancel()
        except RPCError as exc:
            raise FarmError(f"cannot cancel campaign {campaign_id}: {exc}") from exc
