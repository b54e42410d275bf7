"""``wheelyard farm up``: the whole farm on one machine, in one process group.

Starts (or connects to) Temporal, opens and migrates the database, serves the HTTP API,
dashboard and index (uvicorn), and runs the farm's worker (workflows, database and index
activities) plus a stage worker for every runner queue this machine can serve. ``stop`` ends it
in reverse order: the HTTP server, the workers (running stages are cancelled: their containers
stopped; Temporal retries them when the farm is back), then the Temporal dev server. Everything
lives in the data directory, so running it again resumes every build where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from wheelyard.errors import FarmError
from wheelyard.farm.api import ServiceContext, create_app
from wheelyard.farm.builds.activities import FarmActivities, StageActivities
from wheelyard.farm.builds.stages import WorkerEnvironment
from wheelyard.farm.db.engine import Database, open_database
from wheelyard.farm.messages import WorkerAnnouncement
from wheelyard.farm.orchestrator import TemporalOrchestrator
from wheelyard.farm.runtime.temporal_server import TemporalDevServer, port_open, start_dev_server
from wheelyard.farm.runtime.worker import WorkerPlan, connect, serve
from wheelyard.farm.settings import ADMIN_TOKEN_FILE, TEMPORAL_DB_FILE, FarmSettings
from wheelyard.farm.tokens import create_token, list_tokens


@dataclass(frozen=True, kw_only=True)
class FarmUpOptions:
    settings: FarmSettings
    host: str = "127.0.0.1"
    port: int = 8000
    embedded_temporal: bool = True
    """Start a Temporal dev server (else connect to ``settings.temporal``)."""
    temporal_port: int = 7233
    queues: tuple[str, ...] = ()
    """Runner queues the local worker serves (empty: no stage worker)."""
    environment: WorkerEnvironment | None = None
    capabilities: dict[str, object] = field(default_factory=dict)
    concurrency: int = 1
    identity: str = ""


@dataclass(frozen=True, kw_only=True)
class FarmUrls:
    dashboard: str
    api: str
    index: str
    temporal: str
    data_dir: Path
    database: str
    queues: tuple[str, ...]
    admin_token: str | None
    """Set only on the first start (the token is created then and written to the data dir)."""
    admin_token_file: Path
    replaced_temporal: tuple[int, ...] = ()
    """Pids of Temporal dev servers a killed farm had left running, stopped at this start."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``farm up`` stops its parts in order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def ensure_admin_token(database: Database, data_dir: Path) -> str | None:
    """Create the first admin token when the farm has none; write it (mode 0600) and return it."""
    with database.session() as session:
        if any(t.admin and t.revoked_at is None for t in list_tokens(session)):
            return None
        issued = create_token(session, name="admin (farm up)", admin=True)
    path = data_dir / ADMIN_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(issued.secret + "\n")
    return issued.secret


async def run_farm(
    options: FarmUpOptions,
    stop: asyncio.Event,
    *,
    ready: Callable[[FarmUrls], None] | None = None,
) -> None:
    """Run the farm until ``stop`` is set."""
    settings = options.settings
    settings.prepare()
    if port_open(options.host, options.port):
        raise FarmError(
            f"port {options.port} on {options.host} is already in use",
            hint="another farm is running here, or pass --port",
        )
    database = await asyncio.to_thread(open_database, settings.database_url)
    server: TemporalDevServer | None = None
    try:
        if options.embedded_temporal:
            server = await asyncio.to_thread(
                start_dev_server,
                settings.data_dir / TEMPORAL_DB_FILE,
                port=options.temporal_port,
                log_path=settings.data_dir / "temporal.log",
            )
            settings = FarmSettings(
                data_dir=settings.data_dir,
                database=settings.database,
                temporal=server.address,
                namespace=settings.namespace,
            )
        client = await connect(settings.temporal, settings.namespace)
        token = ensure_admin_token(database, settings.data_dir)
        orchestrator = TemporalOrchestrator(client)
        app = create_app(
            ServiceContext(
                settings=settings,
                database=database,
                orchestrator=orchestrator,
            )
        )
        http = _Server(
            uvicorn.Config(
                app,
                host=options.host,
                port=options.port,
                log_level="warning",
                lifespan="off",
                access_log=False,
            )
        )
        identity = options.identity or f"{socket.gethostname()}-farm"
        plan = WorkerPlan(
            identity=identity,
            farm=FarmActivities(settings, database),
            stages=(
                StageActivities(options.environment, identity=identity)
                if options.environment is not None and options.queues
                else None
            ),
            queues=options.queues,
            concurrency=options.concurrency,
            announcement=WorkerAnnouncement(
                identity=identity,
                hostname=socket.gethostname(),
                queues=list(options.queues),
                capabilities=dict(options.capabilities),
            )
            if options.queues
            else None,
        )
        base = f"http://{options.host}:{options.port}"

        async def started() -> None:
            if ready is not None:
                ready(
                    FarmUrls(
                        dashboard=f"{base}/",
                        api=f"{base}/docs",
                        index=f"{base}/simple/",
                        temporal=settings.temporal,
                        data_dir=settings.data_dir,
                        database=database.url,
                        queues=options.queues,
                        admin_token=token,
                        admin_token_file=settings.data_dir / ADMIN_TOKEN_FILE,
                        replaced_temporal=server.replaced if server is not None else (),
                    )
                )

        http_task = asyncio.create_task(http.serve())
        while not http.started:
            if http_task.done():
                await http_task
                raise FarmError(f"the HTTP server did not start on {base}")
            await asyncio.sleep(0.05)
        try:
            await serve(client, plan, stop, started=started)
        finally:
            http.should_exit = True
            await http_task
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        database.close()
