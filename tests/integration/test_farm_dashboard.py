"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the farm's
HTTP service on loopback (a recorded farm state; no Temporal needed to look at it)."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from farm_rows import new_build, planned
from wheelyard.farm.api import ServiceContext, create_app
from wheelyard.farm.builds import records
from wheelyard.farm.db import open_database
from wheelyard.farm.messages import (
    BuildUpdate,
    JobUpdate,
    ScheduledBuild,
    StageResult,
    WorkerAnnouncement,
)
from wheelyard.farm.runtime.temporal_server import free_port
from wheelyard.farm.settings import FarmSettings
from wheelyard.record import WheelInfo

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
GREEN = (42, 157, 80)
RED = (214, 40, 57)
PYTHONS = ["cp310", "cp311", "cp312", "cp313"]


class NoOrchestrator:
    async def start_build(self, _request: object) -> None:
        raise AssertionError("the dashboard test submits nothing")

    async def cancel_build(self, _build_id: int) -> None:
        raise AssertionError("the dashboard test cancels nothing")

    async def waiting(self, _build_id: int) -> list[str]:
        return []

    async def schedule_nightly(self, _schedule_id: str, _cron: str, _build: ScheduledBuild) -> None:
        raise AssertionError("the dashboard test schedules nothing")

    async def start_campaign(self, _request: object) -> None:
        raise AssertionError("the dashboard test starts no campaign")

    async def signal_campaign(
        self, _campaign_id: int, _signal: str, _argument: str | None = None
    ) -> None:
        raise AssertionError("the dashboard test signals no campaign")

    async def cancel_campaign(self, _campaign_id: int) -> None:
        raise AssertionError("the dashboard test cancels no campaign")


SOURCE = "https://example.org/cuda-kernels.git"


def _record_farm(settings: FarmSettings) -> int:
    """A cuda-kernels build: cpu and cu128 done, cu130 failed on cp313, cu126 still building."""
    database = open_database(settings.database_url)
    variants = ["cpu", "cu126", "cu128", "cu130"]
    plan = planned("cuda-kernels", variants=variants, pythons=PYTHONS)
    cost = {
        "scenarios": {
            "fan-out": {"runner_minutes": 372.0, "gpu_minutes": 279.0},
            "consolidated+split": {"runner_minutes": 119.5, "gpu_minutes": 34.5},
        }
    }
    with database.session() as session:
        old = new_build(session, "cuda-kernels", source_kind="git", source=SOURCE, ref="main")
        old.cost = cost
        records.record_plan(session, old.id, plan, plan_json={}, cost=cost)
        for job in plan.jobs:
            records.update_job(
                session, JobUpdate(build_id=old.id, job_id=job.job_id, state="succeeded")
            )
        records.update_build(session, BuildUpdate(build_id=old.id, state="published"))
        build = new_build(session, "cuda-kernels", source_kind="git", source=SOURCE, ref="main")
        build_id = build.id
        records.record_plan(session, build_id, plan, plan_json={}, cost=cost)
        records.update_build(session, BuildUpdate(build_id=build_id, state="building"))
    log = settings.data_dir / f"builds/{build_id}/jobs/linux-x86_64-cpu/logs/cuda-kernels.log"
    log.parent.mkdir(parents=True)
    log.write_text("Building cp312-manylinux_x86_64 wheel\ncp312 finished in 3.1 seconds\n")
    states = {"cpu": "succeeded", "cu128": "succeeded", "cu130": "failed", "cu126": "building"}
    with database.session() as session:
        for variant, state in states.items():
            job_id = f"linux-x86_64-{variant}"
            pythons = dict.fromkeys(PYTHONS, "built")
            if variant == "cu130":
                pythons["cp313"] = "failed"
            if variant == "cu126":
                pythons = {"cp310": "built", "cp311": "built"}
            result = StageResult(
                job_id=job_id,
                status="succeeded" if state != "failed" else "failed",
                worker="box-1",
                pythons=pythons,
                log=str(log.relative_to(settings.data_dir)) if variant == "cpu" else None,
                wheels=[
                    WheelInfo(
                        name=f"cuda_kernels-0.1.0.dev20261120+{variant}-{p}-{p}-"
                        "manylinux_2_35_x86_64.whl",
                        path=f"{variant}/cuda_kernels-0.1.0.dev20261120+{variant}-{p}-{p}-"
                        "manylinux_2_35_x86_64.whl",
                        sha256="ab" * 32,
                        size=20_000,
                        python=p,
                        platform_tags=("manylinux_2_35_x86_64",),
                    )
                    for p, s in pythons.items()
                    if s == "built"
                ],
            )
            records.update_job(
                session, JobUpdate(build_id=build_id, job_id=job_id, state="building")
            )
            records.update_job(
                session,
                JobUpdate(build_id=build_id, job_id=job_id, state=state, result=result),
            )
        records.announce_worker(
            session,
            WorkerAnnouncement(
                identity="box-1",
                hostname="box",
                queues=["linux-x86_64-cpu"],
                capabilities={
                    "platform": "linux-x86_64",
                    "cpus": 2,
                    "engine": "podman",
                    "images": [
                        {
                            "ref": "localhost/wheelyard-builder:cu130",
                            "interpreters": PYTHONS,
                            "toolkit": {"nvcc": "13.0.88"},
                        }
                    ],
                    "gpu": {"gpus": [], "reason": "no NVIDIA driver found"},
                },
            ),
        )
    database.close()
    return build_id


@dataclass
class Service:
    url: str
    build_id: int


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    import uvicorn

    settings = FarmSettings(data_dir=tmp_path / "farm")
    build_id = _record_farm(settings)
    database = open_database(settings.database_url)
    app = create_app(
        ServiceContext(settings=settings, database=database, orchestrator=NoOrchestrator())
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the farm's HTTP service did not start"
        time.sleep(0.05)
    yield Service(url=f"http://127.0.0.1:{port}", build_id=build_id)
    server.should_exit = True
    thread.join(timeout=10)
    database.close()


def decode_png(data: bytes) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """Width, height and RGB rows of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, b"", b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        offset += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows: list[list[tuple[int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + best) & 0xFF
        rows.append(
            [tuple(line[x * channels : x * channels + 3]) for x in range(width)]  # type: ignore[misc]
        )
        previous = line
    return width, height, rows


def share(rows: list[list[tuple[int, int, int]]], color: tuple[int, int, int]) -> float:
    pixels = [p for row in rows for p in row]
    close = [p for p in pixels if all(abs(a - b) <= 8 for a, b in zip(p, color, strict=True))]
    return len(close) / len(pixels)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_dashboard_in_chromium(service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        page.goto(f"{service.url}/")
        assert page.title() == "wheelyard farm · wheelyard"
        assert page.inner_text("#total-packages .value") == "1"
        assert page.inner_text("#total-builds .value") == "2"
        assert page.inner_text("#saved-minutes .value") == "252.5"
        assert page.inner_text("#saved-gpu .value") == "244.5"
        home = page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
        assert decode_png(home)[0] == 1280

        # The package page: the latest build's matrix, Python x variant, coloured by state.
        page.click("text=cuda-kernels >> nth=0")
        page.wait_for_url(f"{service.url}/package/cuda-kernels")
        grid = page.locator("#matrix")
        headers = grid.locator("tr").first.locator("th").all_inner_texts()
        assert [h.split("\n")[0] for h in headers] == ["Python", "cpu", "cu126", "cu128", "cu130"]
        rows = grid.locator("tr")
        assert rows.count() == 1 + len(PYTHONS)
        cp313 = rows.nth(4).locator("td")
        assert [cp313.nth(i).get_attribute("data-state") for i in range(4)] == [
            "succeeded",
            "running",
            "succeeded",
            "failed",
        ]
        cell = cp313.nth(0)
        color = cell.evaluate("e => getComputedStyle(e).backgroundColor")
        assert color == "rgb(42, 157, 80)"
        _, _, green_cell = decode_png(cell.screenshot())
        assert share(green_cell, GREEN) > 0.5
        _, _, red_cell = decode_png(cp313.nth(3).screenshot())
        assert share(red_cell, RED) > 0.5
        _, _, whole = decode_png(grid.screenshot(path=str(tmp_path / "matrix.png")))
        assert share(whole, GREEN) > share(whole, RED) > 0.02

        # Each cell links to its job's log; the log page streams it.
        cell.locator("a").click()
        page.wait_for_url(f"{service.url}/build/{service.build_id}/log/linux-x86_64-cpu")
        page.wait_for_function(
            "document.getElementById('log').textContent.includes('finished in 3.1 seconds')"
        )

        # The build page: jobs, states, and a refresh while the build runs.
        page.goto(f"{service.url}/build/{service.build_id}")
        assert page.inner_text("#build-state") == "building"
        jobs = page.locator("#jobs tr[data-job]")
        assert jobs.count() == 4
        assert page.locator('meta[http-equiv="refresh"]').count() == 1
        page.screenshot(path=str(tmp_path / "build.png"), full_page=True)

        # The workers page: what each worker can build.
        page.goto(f"{service.url}/workers")
        text = page.inner_text("#workers")
        assert "box-1" in text and "online" in text and "nvcc 13.0.88" in text
        browser.close()
