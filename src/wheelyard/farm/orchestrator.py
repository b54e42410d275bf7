"""The ``Orchestrator`` the API uses, backed by a Temporal client."""

from __future__ import annotations

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
from wheelyard.farm.campaign_records import workflow_id as campaign_workflow_id
from wheelyard.farm.campaign_workflow import RebuildCampaign
from wheelyard.farm.messages import BuildRequest, CampaignInput, ScheduledBuild
from wheelyard.farm.records import workflow_id
from wheelyard.farm.vocab import FARM_QUEUE
from wheelyard.farm.workflows import BuildPackage, NightlyBuild


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
