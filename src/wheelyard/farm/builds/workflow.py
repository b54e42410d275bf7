"""Temporal workflows: ``BuildPackage`` (one submission, fetch → plan → jobs → publish),
``NightlyBuild`` (what a schedule starts) and ``AnnounceWorker`` (a worker's capabilities,
recorded by the farm).

``BuildPackage`` runs each planned job on the job's build queue (a runner label such as
``linux-x86_64-cpu``): build, then the verification gate, then - for GPU variants - the GPU
smoke test on the test queue (``linux-x86_64-cuda``). Jobs run in parallel. The build is
published only when every job succeeded, so an index never holds half a release. Activities
are retried by Temporal; a build activity whose worker disappears stops heartbeating and is
retried on another worker. Cancelling the workflow cancels its running activities (their
containers are stopped) and marks the build cancelled.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    TimeoutError,
    TimeoutType,
)

with workflow.unsafe.imports_passed_through():
    from wheelyard.farm.messages import (
        BuildRequest,
        BuildSummary,
        BuildUpdate,
        FetchResult,
        JobSpec,
        JobUpdate,
        PlanResult,
        PublishInput,
        PublishResult,
        ScheduledBuild,
        StageInput,
        StageResult,
        WorkerAnnouncement,
    )
    from wheelyard.farm.vocab import FARM_QUEUE, Activity, BuildState, JobState, SmokeState

RECORD_TIMEOUT = timedelta(seconds=60)
FARM_HEARTBEAT = timedelta(seconds=10)
"""Heartbeat timeout of every activity on the farm's own queue (they heartbeat while they run):
a farm killed in the middle of one is noticed this long after, and the activity retried."""
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
STAGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=3,
    non_retryable_error_types=["BadInput"],
)


def _message(error: BaseException) -> str:
    """The innermost cause's message (an activity's own error, not Temporal's wrapper)."""
    while isinstance(error, ActivityError) and error.cause is not None:
        error = error.cause
    if isinstance(error, TimeoutError):
        return (
            f"timed out ({error.type.name.lower().replace('_', '-') if error.type else 'timeout'})"
        )
    return str(error) or type(error).__name__


def _reraise_cancel(error: ActivityError) -> None:
    """An activity that ended because the workflow is being cancelled: cancel the caller too."""
    if isinstance(error.cause, CancelledError):
        raise asyncio.CancelledError(str(error.cause)) from error


def _not_started(error: BaseException) -> bool:
    """No worker took the activity in time (no worker serves its queue)."""
    cause = error.cause if isinstance(error, ActivityError) else None
    return isinstance(cause, TimeoutError) and cause.type is TimeoutType.SCHEDULE_TO_START


@workflow.defn(name="BuildPackage")
class BuildPackage:
    def __init__(self) -> None:
        self._state = str(BuildState.QUEUED)
        self._jobs: dict[str, str] = {}
        self._outputs: dict[str, str] = {}
        """Each succeeded job's wheelhouse (the folder of the build attempt that finished)."""
        self._build_tag: str | None = None

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {"state": self._state, "jobs": dict(self._jobs)}

    async def _record(self, request: BuildRequest, state: BuildState, **fields: Any) -> None:
        self._state = str(state)
        await workflow.execute_activity(
            Activity.RECORD_BUILD,
            BuildUpdate(build_id=request.build_id, state=str(state), **fields),
            task_queue=FARM_QUEUE,
            start_to_close_timeout=RECORD_TIMEOUT,
            heartbeat_timeout=FARM_HEARTBEAT,
            retry_policy=RECORD_RETRY,
        )

    async def _record_job(self, update: JobUpdate) -> None:
        self._jobs[update.job_id] = update.state
        await workflow.execute_activity(
            Activity.RECORD_JOB,
            update,
            task_queue=FARM_QUEUE,
            start_to_close_timeout=RECORD_TIMEOUT,
            heartbeat_timeout=FARM_HEARTBEAT,
            retry_policy=RECORD_RETRY,
        )

    @workflow.run
    async def run(self, request: BuildRequest) -> BuildSummary:
        try:
            return await self._run(request)
        except asyncio.CancelledError:
            await self._record(request, BuildState.CANCELLED, message="cancelled")
            raise

    async def _run(self, request: BuildRequest) -> BuildSummary:
        try:
            await self._record(request, BuildState.FETCHING)
            fetched = await workflow.execute_activity(
                Activity.FETCH_SOURCE,
                request,
                task_queue=FARM_QUEUE,
                start_to_close_timeout=timedelta(minutes=15),
                heartbeat_timeout=FARM_HEARTBEAT,
                retry_policy=STAGE_RETRY,
                result_type=FetchResult,
            )
            await self._record(request, BuildState.PLANNING)
            plan = await workflow.execute_activity(
                Activity.PLAN_BUILD,
                args=[request, fetched],
                task_queue=FARM_QUEUE,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=FARM_HEARTBEAT,
                retry_policy=STAGE_RETRY,
                result_type=PlanResult,
            )
        except ActivityError as exc:
            _reraise_cancel(exc)
            return await self._fail(request, _message(exc))
        self._jobs = {job.job_id: str(JobState.PENDING) for job in plan.jobs}
        self._build_tag = plan.build_tag
        await self._record(request, BuildState.BUILDING, version=plan.version)
        outcomes = await asyncio.gather(
            *(self._job(request, fetched, plan, job) for job in plan.jobs)
        )
        failed = [
            (job, message) for job, message in zip(plan.jobs, outcomes, strict=True) if message
        ]
        if failed:
            text = "; ".join(f"{job.job_id}: {message}" for job, message in failed)
            return await self._fail(
                request, f"{len(failed)} of {len(plan.jobs)} job(s) failed: {text}"
            )
        if not plan.jobs:
            return await self._fail(request, "the plan has no job")
        await self._record(request, BuildState.PUBLISHING)
        try:
            result = await workflow.execute_activity(
                Activity.PUBLISH_BUILD,
                PublishInput(
                    build_id=request.build_id,
                    plan=plan.plan,
                    options=request.options,
                    outputs=[self._outputs[job.job_id] for job in plan.jobs],
                ),
                task_queue=FARM_QUEUE,
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=FARM_HEARTBEAT,
                retry_policy=STAGE_RETRY,
                result_type=PublishResult,
            )
        except ActivityError as exc:
            _reraise_cancel(exc)
            return await self._fail(request, f"publish: {_message(exc)}")
        await self._record(request, BuildState.PUBLISHED)
        return BuildSummary(
            build_id=request.build_id,
            state=str(BuildState.PUBLISHED),
            jobs=dict(self._jobs),
            published=result.published + result.already,
        )

    async def _fail(self, request: BuildRequest, message: str) -> BuildSummary:
        await self._record(request, BuildState.FAILED, message=message)
        return BuildSummary(
            build_id=request.build_id,
            state=str(BuildState.FAILED),
            message=message,
            jobs=dict(self._jobs),
        )

    @staticmethod
    def _output(request: BuildRequest, job: JobSpec) -> str:
        return f"builds/{request.build_id}/jobs/{job.job_id}"

    async def _job(
        self, request: BuildRequest, fetched: FetchResult, plan: PlanResult, job: JobSpec
    ) -> str | None:
        """Build, verify and (for GPU variants) smoke-test one job; its failure, or None."""
        try:
            return await self._stages(request, fetched, plan, job)
        except asyncio.CancelledError:
            await self._record_job(
                JobUpdate(
                    build_id=request.build_id,
                    job_id=job.job_id,
                    state=str(JobState.CANCELLED),
                    message="cancelled",
                )
            )
            raise

    async def _stages(
        self, request: BuildRequest, fetched: FetchResult, plan: PlanResult, job: JobSpec
    ) -> str | None:
        stage = StageInput(
            build_id=request.build_id,
            job_id=job.job_id,
            variant=job.variant,
            plan=plan.plan,
            output=self._output(request, job),
            date=fetched.date,
            timeout_seconds=request.job_timeout_seconds,
            build_tag=self._build_tag,
        )
        heartbeat = timedelta(seconds=request.heartbeat_seconds)

        async def run_stage(name: Activity, queue: str, wait: float) -> StageResult:
            try:
                result: StageResult = await workflow.execute_activity(
                    name,
                    stage,
                    task_queue=queue,
                    schedule_to_start_timeout=timedelta(seconds=wait),
                    start_to_close_timeout=timedelta(seconds=request.job_timeout_seconds + 600),
                    heartbeat_timeout=heartbeat,
                    retry_policy=STAGE_RETRY,
                    result_type=StageResult,
                )
            except ActivityError as exc:
                _reraise_cancel(exc)
                raise
            return result

        def update(state: JobState, **fields: Any) -> JobUpdate:
            return JobUpdate(
                build_id=request.build_id, job_id=job.job_id, state=str(state), **fields
            )

        await self._record_job(update(JobState.BUILDING))
        try:
            built = await run_stage(Activity.BUILD_JOB, job.build_queue, request.queue_wait_seconds)
        except ActivityError as exc:
            message = f"no worker serves {job.build_queue}" if _not_started(exc) else _message(exc)
            await self._record_job(update(JobState.FAILED, message=message))
            return message
        if built.status != "succeeded":
            state = JobState.SKIPPED if built.status == "skipped" else JobState.FAILED
            message = built.message or built.status
            await self._record_job(update(state, message=message, result=built))
            return message
        if built.output:
            stage = dataclasses.replace(stage, output=built.output)
        await self._record_job(update(JobState.VERIFYING, result=built))
        try:
            verified = await run_stage(
                Activity.VERIFY_JOB, job.build_queue, request.queue_wait_seconds
            )
        except ActivityError as exc:
            message = f"verify: {_message(exc)}"
            await self._record_job(update(JobState.FAILED, message=message))
            return message
        if verified.status != "succeeded":
            message = f"verification failed: {verified.message}"
            await self._record_job(update(JobState.FAILED, message=message, result=verified))
            return message
        smoke = SmokeState.NOT_NEEDED
        if job.gpu_test:
            await self._record_job(update(JobState.SMOKE_TESTING, result=verified))
            try:
                tested = await run_stage(
                    Activity.GPU_SMOKE_JOB, job.test_queue, request.gpu_wait_seconds
                )
            except ActivityError as exc:
                if not _not_started(exc):
                    message = f"GPU smoke test: {_message(exc)}"
                    await self._record_job(
                        update(JobState.FAILED, message=message, smoke=str(SmokeState.FAILED))
                    )
                    return message
                smoke = SmokeState.NO_GPU_WORKER
            else:
                if tested.status != "succeeded":
                    message = f"GPU smoke test failed: {tested.message}"
                    await self._record_job(
                        update(JobState.FAILED, message=message, smoke=str(SmokeState.FAILED))
                    )
                    return message
                smoke = SmokeState.PASSED
        self._outputs[job.job_id] = stage.output
        await self._record_job(update(JobState.SUCCEEDED, result=verified, smoke=str(smoke)))
        return None


@workflow.defn(name="NightlyBuild")
class NightlyBuild:
    """Started by a Temporal schedule: record a build, then run ``BuildPackage`` for it."""

    @workflow.run
    async def run(self, scheduled: ScheduledBuild) -> BuildSummary:
        request = await workflow.execute_activity(
            Activity.CREATE_SCHEDULED_BUILD,
            scheduled,
            task_queue=FARM_QUEUE,
            start_to_close_timeout=RECORD_TIMEOUT,
            heartbeat_timeout=FARM_HEARTBEAT,
            retry_policy=RECORD_RETRY,
            result_type=BuildRequest,
        )
        return await workflow.execute_child_workflow(
            BuildPackage.run,
            request,
            id=f"build-{request.build_id}",
            task_queue=FARM_QUEUE,
        )


@workflow.defn(name="AnnounceWorker")
class AnnounceWorker:
    """A worker's announcement, recorded by the farm (workers need no database access)."""

    @workflow.run
    async def run(self, announcement: WorkerAnnouncement) -> None:
        await workflow.execute_activity(
            Activity.RECORD_WORKER,
            announcement,
            task_queue=FARM_QUEUE,
            start_to_close_timeout=RECORD_TIMEOUT,
            heartbeat_timeout=FARM_HEARTBEAT,
            retry_policy=RetryPolicy(maximum_attempts=5),
        )


WORKFLOWS = [BuildPackage, NightlyBuild, AnnounceWorker]
__all__ = [
    "FARM_HEARTBEAT",
    "WORKFLOWS",
    "AnnounceWorker",
    "ApplicationError",
    "BuildPackage",
    "NightlyBuild",
]
