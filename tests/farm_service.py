"""The farm's HTTP service (API, index, dashboard) on loopback, over a data directory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wheelyard.farm.api import ServiceContext, create_app
from wheelyard.farm.db import open_database
from wheelyard.farm.runtime.temporal_server import free_port
from wheelyard.farm.settings import FarmSettings


class ReadOnlyOrchestrator:
    """A service that only serves what is there: anything that would start work fails."""

    async def start_build(self, _request: object) -> None:
        raise AssertionError("nothing is submitted here")

    async def cancel_build(self, _build_id: int) -> None:
        raise AssertionError("nothing is cancelled here")

    async def waiting(self, _build_id: int) -> list[str]:
        return []

    async def schedule_nightly(self, _schedule_id: str, _cron: str, _build: object) -> None:
        raise AssertionError("nothing is scheduled here")

    async def start_campaign(self, _request: object) -> None:
        raise AssertionError("no campaign here")

    async def signal_campaign(
        self, _campaign_id: int, _signal: str, _argument: str | None = None
    ) -> None:
        raise AssertionError("no campaign here")

    async def cancel_campaign(self, _campaign_id: int) -> None:
        raise AssertionError("no campaign here")


@contextmanager
def served_farm(data_dir: Path) -> Iterator[str]:
    """The farm's service over ``data_dir`` (its index is ``data_dir/index``); yields its URL."""
    import uvicorn

    settings = FarmSettings(data_dir=data_dir)
    settings.prepare()
    database = open_database(settings.database_url)
    app = create_app(
        ServiceContext(settings=settings, database=database, orchestrator=ReadOnlyOrchestrator())
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the farm's HTTP service did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        database.close()
