"""Running Temporal workers: the farm's own (``FARM_QUEUE``: workflows and the activities that
touch the database and the index) and the stage workers (one per runner queue this machine
serves), plus the announcement a worker repeats while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Worker

from wheelyard.builder.engine import detect_engine
from wheelyard.builder.job import reap_exited_containers
from wheelyard.errors import FarmError, WheelyardError
from wheelyard.farm.builds.activities import FarmActivities, StageActivities
from wheelyard.farm.builds.workflow import WORKFLOWS, AnnounceWorker
from wheelyard.farm.campaigns.activities import CampaignActivities, campaign_activities
from wheelyard.farm.campaigns.workflow import CAMPAIGN_WORKFLOWS
from wheelyard.farm.messages import WorkerAnnouncement
from wheelyard.farm.vocab import FARM_QUEUE

ANNOUNCE_EVERY = 60.0
CONNECT_TIMEOUT = 30.0
T = TypeVar("T")


async def connect(address: str, namespace: str, *, timeout: float = CONNECT_TIMEOUT) -> Client:
    """A Temporal client; retries until ``timeout`` (a server that is still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await Client.connect(
                address, namespace=namespace, data_converter=pydantic_data_converter
            )
        except (RuntimeError, RPCError) as exc:
            if time.monotonic() >= deadline:
                raise FarmError(
                    f"cannot reach Temporal at {address}: {exc}",
                    hint="start the farm (`wheelyard farm up`) or pass --temporal HOST:PORT",
                ) from exc
            await asyncio.sleep(0.5)


def run_async(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` for the farm's commands. Temporal's native threads may still be
    settling when the loop ends; collecting and a short pause before the interpreter shuts
    down avoids a crash at exit (temporalio/sdk-python#300)."""
    try:
        return asyncio.run(main())
    finally:
        gc.collect()
        time.sleep(0.2)


@dataclass(frozen=True, kw_only=True)
class WorkerPlan:
    identity: str
    farm: FarmActivities | None = None
    """Serve ``FARM_QUEUE`` (only where the database is: ``wheelyard farm up``)."""
    stages: StageActivities | None = None
    queues: tuple[str, ...] = ()
    concurrency: int = 1
    """Jobs one stage worker runs at a time, per queue."""
    announcement: WorkerAnnouncement | None = None


def _farm_worker(client: Client, plan: WorkerPlan, farm: FarmActivities) -> Worker:
    campaigns = CampaignActivities(farm.settings, farm.database)
    return Worker(
        client,
        task_queue=FARM_QUEUE,
        workflows=[*WORKFLOWS, *CAMPAIGN_WORKFLOWS],
        activities=[
            *campaign_activities(campaigns),
            farm.fetch_source,
            farm.plan_build,
            farm.record_build,
            farm.record_job,
            farm.record_worker,
            farm.create_scheduled_build,
            farm.publish_build,
        ],
        identity=f"{plan.identity}/farm",
        max_concurrent_activities=8,
    )


def _stage_worker(client: Client, plan: WorkerPlan, stages: StageActivities, queue: str) -> Worker:
    return Worker(
        client,
        task_queue=queue,
        activities=[stages.build_job, stages.verify_job, stages.gpu_smoke_job],
        identity=f"{plan.identity}/{queue}",
        max_concurrent_activities=plan.concurrency,
    )


async def announce(client: Client, announcement: WorkerAnnouncement) -> None:
    """Start (or restart) the worker's ``AnnounceWorker`` workflow; the farm records it."""
    await client.start_workflow(
        AnnounceWorker.run,
        announcement,
        id=f"announce-{announcement.identity}",
        task_queue=FARM_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
        execution_timeout=timedelta(minutes=10),
    )


def _reap_leftover_containers(stages: StageActivities) -> None:
    """Build containers a killed worker left behind (exited, never removed) go at start-up."""
    with contextlib.suppress(WheelyardError):
        reap_exited_containers(detect_engine(stages.environment.engine))


async def serve(
    client: Client,
    plan: WorkerPlan,
    stop: asyncio.Event,
    *,
    started: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the planned workers until ``stop`` is set, announcing every minute."""
    workers: list[Worker] = []
    if plan.stages is not None:
        _reap_leftover_containers(plan.stages)
    if plan.farm is not None:
        workers.append(_farm_worker(client, plan, plan.farm))
    if plan.stages is not None:
        workers += [_stage_worker(client, plan, plan.stages, q) for q in plan.queues]
    if not workers:
        raise FarmError("nothing to serve", hint="pass --queue LABEL")
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        if started is not None:
            await started()
        announcement = plan.announcement
        while not stop.is_set():
            if announcement is not None:
                with contextlib.suppress(RPCError):
                    await announce(client, announcement)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=ANNOUNCE_EVERY)
        if announcement is not None:
            with contextlib.suppress(RPCError):
                await announce(
                    client,
                    WorkerAnnouncement(
                        identity=announcement.identity,
                        hostname=announcement.hostname,
                        queues=announcement.queues,
                        capabilities=announcement.capabilities,
                        stopping=True,
                    ),
                )


def stage_queues(queues: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(q for q in queues if q != FARM_QUEUE))
