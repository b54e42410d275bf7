"""`wheelyard farm`: run a farm on this machine, manage its tokens, submit and follow builds.

`farm up` exits 0 after Ctrl-C (everything stopped), 1 when a part cannot start (port in use,
Temporal or the database unreachable), 2 on bad options. `farm submit --wait` exits 0 when the
build is published, 1 when it failed or was cancelled, 2 when the farm refused it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from wheelyard.cli.common import configured_index
from wheelyard.cli.output import console, err_console, print_json
from wheelyard.cli.verify_cmd import valid_index_url, valid_timeout
from wheelyard.cli.worker_cmd import (
    DEFAULT_CACHE,
    ConcurrencyOpt,
    EngineOpt,
    QueueOpt,
    machine_capabilities,
    print_capabilities,
    worker_environment,
)
from wheelyard.errors import FarmError, FarmRequestError
from wheelyard.farm.client import FarmClient
from wheelyard.farm.settings import (
    ADMIN_TOKEN_FILE,
    DATABASE_FILE,
    DEFAULT_NAMESPACE,
    FarmSettings,
)
from wheelyard.source import fetch_sdist, parse_requirement

if TYPE_CHECKING:
    from wheelyard.farm.db import Database
    from wheelyard.farm.runtime.up import FarmUrls

# Temporal, SQLAlchemy and FastAPI are imported by the commands that need them (see worker_cmd).

app = typer.Typer(help="Run a build farm and talk to it.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke the farm's API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")

DataOpt = Annotated[
    Path,
    typer.Option("--data", help="The farm's data directory.", envvar="WHEELYARD_FARM_DATA"),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (postgresql://user:pw@host/db); default: SQLite in --data.",
        envvar="WHEELYARD_FARM_DATABASE",
    ),
]
UrlOpt = Annotated[str, typer.Option("--url", help="The farm's API.", envvar="WHEELYARD_FARM_URL")]
TokenOpt = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="API token (default: the admin token in --data).",
        envvar="WHEELYARD_FARM_TOKEN",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
MAX_ID = 2**63 - 1
"""The largest id the database holds (a signed 64-bit integer)."""
DEFAULT_DATA = Path("farm-data")
DEFAULT_URL = "http://127.0.0.1:8000"


def _database(data: Path, database: str | None) -> Database:
    """The farm's database: --database, else the one in --data (never a new one there)."""
    from wheelyard.farm.db import open_database

    if database is None and not (data / DATABASE_FILE).is_file():
        raise FarmRequestError(
            f"{data} holds no farm database ({DATABASE_FILE})",
            hint=f"`wheelyard farm up --data {data}` creates one; or pass --database URL",
        )
    return open_database(FarmSettings(data_dir=data.resolve(), database=database).database_url)


@app.command("up")
def up_command(
    data: DataOpt = DEFAULT_DATA,
    database: DatabaseOpt = None,
    temporal: Annotated[
        str | None,
        typer.Option(
            "--temporal",
            help="Use this Temporal cluster (HOST:PORT) instead of starting a dev server.",
        ),
    ] = None,
    temporal_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the embedded Temporal dev server.")
    ] = 7233,
    namespace: Annotated[str, typer.Option(help="Temporal namespace.")] = DEFAULT_NAMESPACE,
    host: Annotated[
        str, typer.Option(help="Address the API and dashboard listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the API and dashboard.")
    ] = 8000,
    queue: QueueOpt = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Serve no runner queue here (workers elsewhere).")
    ] = False,
    concurrency: ConcurrencyOpt = 1,
    engine: EngineOpt = None,
    compiler_cache: Annotated[
        Path | None, typer.Option(help="Persistent compiler cache directory.")
    ] = DEFAULT_CACHE,
) -> None:
    """Start the farm here: Temporal, the API and dashboard, and a local worker. Ctrl-C stops it;
    running it again resumes every build."""
    from wheelyard.catalog import load_catalog
    from wheelyard.farm.runtime.capabilities import check_queues, servable_queues
    from wheelyard.farm.runtime.up import FarmUpOptions, run_farm
    from wheelyard.farm.runtime.worker import run_async

    settings = FarmSettings(
        data_dir=data.resolve(),
        database=database,
        temporal=temporal or f"127.0.0.1:{temporal_port}",
        namespace=namespace,
    )
    environment = worker_environment(settings.data_dir, engine, compiler_cache)
    queues: list[str] = []
    capabilities: dict[str, Any] = {}
    if not no_worker:
        found = machine_capabilities(environment)
        catalog = load_catalog()
        servable = servable_queues(found, catalog)
        queues = list(dict.fromkeys(queue or servable))
        check_queues(queues, found, catalog)
        print_capabilities(found, servable)
        capabilities = found.to_json()
    options = FarmUpOptions(
        settings=settings,
        host=host,
        port=port,
        embedded_temporal=temporal is None,
        temporal_port=temporal_port,
        queues=tuple(queues),
        environment=environment,
        capabilities=capabilities,
        concurrency=concurrency,
    )

    def ready(urls: FarmUrls) -> None:
        console.print(f"[bold green]farm up[/] (data {escape(str(urls.data_dir))})")
        console.print(f"  dashboard  {escape(urls.dashboard)}")
        console.print(f"  API        {escape(urls.api)}")
        console.print(f"  index      {escape(urls.index)}")
        console.print(f"  Temporal   {escape(urls.temporal)}")
        if urls.replaced_temporal:
            pids = ", ".join(map(str, urls.replaced_temporal))
            console.print(
                f"  [yellow]stopped the Temporal dev server a killed farm left running "
                f"(pid {pids}); its workflows resume here[/]"
            )
        console.print(f"  database   {escape(urls.database)}")
        console.print(f"  worker     {escape(', '.join(urls.queues) or 'none (--no-worker)')}")
        if urls.admin_token is not None:
            console.print(
                f"  admin token (shown once, kept in {escape(str(urls.admin_token_file))}): "
                f"{escape(urls.admin_token)}"
            )
        console.print("Ctrl-C stops the farm")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_farm(options, stop, ready=ready)

    run_async(main)
    err_console.print("farm stopped")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="What the token is for (e.g. 'hello-c CI').")],
    package: Annotated[str | None, typer.Option(help="The package it may write to.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="An admin token (every package).")] = False,
    data: DataOpt = DEFAULT_DATA,
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a token; its secret is printed once and stored only as its SHA-256."""
    from wheelyard.farm.builds.submit import check_project_name
    from wheelyard.farm.tokens import create_token

    if package is not None:
        check_project_name(package, "--package")
    db = _database(data, database)
    try:
        with db.session() as session:
            issued = create_token(session, name=name, package=package, admin=admin)
    finally:
        db.close()
    if as_json:
        print_json(
            {
                "id": issued.id,
                "name": issued.name,
                "token": issued.secret,
                "package": issued.package,
                "admin": issued.admin,
            }
        )
        return
    scope = "admin" if issued.admin else f"package {issued.package}"
    err_console.print(f"token {issued.id} ({escape(scope)}); it is not shown again:")
    console.print(issued.secret)


@token_app.command("list")
def token_list(
    data: DataOpt = DEFAULT_DATA, database: DatabaseOpt = None, as_json: JsonOpt = False
) -> None:
    """List tokens (never their secrets)."""
    from wheelyard.farm.tokens import list_tokens

    db = _database(data, database)
    try:
        with db.session() as session:
            rows: list[dict[str, Any]] = [
                {
                    "id": t.id,
                    "name": t.name,
                    "prefix": t.prefix,
                    "package": t.package,
                    "admin": t.admin,
                    "created_at": t.created_at.isoformat(),
                    "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None,
                    "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                }
                for t in list_tokens(session)
            ]
    finally:
        db.close()
    if as_json:
        print_json(rows)
        return
    table = Table()
    for column in ("id", "name", "prefix", "scope", "created", "revoked", "last used"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["name"],
            row["prefix"] + "…",
            "admin" if row["admin"] else str(row["package"]),
            row["created_at"][:19],
            (row["revoked_at"] or "-")[:19],
            (row["last_used_at"] or "-")[:19],
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[
        int, typer.Argument(min=1, max=MAX_ID, help="The token's id (see `farm token list`).")
    ],
    data: DataOpt = DEFAULT_DATA,
    database: DatabaseOpt = None,
) -> None:
    """Revoke a token: every request with it is refused from now on."""
    from wheelyard.farm.tokens import revoke_token

    db = _database(data, database)
    try:
        with db.session() as session:
            row = revoke_token(session, token_id)
            name = row.name
    finally:
        db.close()
    err_console.print(f"token {token_id} ({escape(name)}) revoked")


def _client(url: str, token: str | None, data: Path) -> FarmClient:
    if token is None:
        path = data / ADMIN_TOKEN_FILE
        if path.is_file():
            token = path.read_text(encoding="utf-8").strip()
    return FarmClient(url, token)


def _print_build(build: dict[str, Any]) -> None:
    jobs = " ".join(f"{j['job_id']}={j['state']}" for j in build.get("jobs", []))
    console.print(
        f"build {build['id']} {escape(build['package'])} {escape(build.get('version') or '')}: "
        f"[bold]{escape(build['state'])}[/] {escape(jobs)}"
        + (f" · {escape(build['message'])}" if build.get("message") else "")
    )
    for line in build.get("waiting") or ():
        console.print(f"  {escape(line)}")


@app.command("submit")
def submit_command(
    source: Annotated[
        str,
        typer.Argument(
            help="A git URL (with --ref), an sdist (.tar.gz/.zip) to upload, NAME==VERSION (its "
            "sdist from the index, uploaded), or a directory of the farm's machine (admin token)."
        ),
    ],
    ref: Annotated[str | None, typer.Option(help="Git branch, tag or commit.")] = None,
    index_url: Annotated[
        str | None,
        typer.Option(
            "--index-url",
            callback=valid_index_url,
            help="Index NAME==VERSION comes from (default: $UV_INDEX_URL, $PIP_INDEX_URL, else "
            "PyPI).",
        ),
    ] = None,
    python: Annotated[
        list[str] | None, typer.Option("--python", help="Override python (repeat).")
    ] = None,
    variant: Annotated[
        list[str] | None, typer.Option("--variant", "-v", help="Only these variants.")
    ] = None,
    date: Annotated[str | None, typer.Option(help="Nightly date YYYY-MM-DD.")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the build until it ends.")] = False,
    timeout: Annotated[
        float, typer.Option(callback=valid_timeout, help="Seconds --wait waits.")
    ] = 7200.0,
    as_json: JsonOpt = False,
) -> None:
    """Submit a build to a running farm."""
    client = _client(url, token, data)
    options: dict[str, Any] = {"python": python or [], "variants": variant or []}
    if date:
        options["date"] = date
    path = Path(source)
    requirement = None if path.exists() else parse_requirement(source)
    query = {"python": options["python"], "variants": options["variants"], "date": date}
    if requirement is not None:
        index = configured_index(index_url)
        with tempfile.TemporaryDirectory(prefix="wheelyard-submit-") as tmp:
            sdist = fetch_sdist(requirement, index_url=index, into=Path(tmp))
            if not as_json:
                console.print(f"submitting {escape(sdist.name)} ({requirement} from {index})")
            build = client.submit_sdist(sdist, query)
    elif path.is_file() and source.endswith((".tar.gz", ".tgz", ".zip")):
        build = client.submit_sdist(path, query)
    elif path.is_dir():
        build = client.submit({"path": str(path.resolve()), **options})
    else:
        build = client.submit({"git": {"url": source, "ref": ref}, **options})
    if wait:
        last: list[str] = []

        def progress(current: dict[str, Any]) -> None:
            states = [current["state"], *(j["state"] for j in current.get("jobs", []))]
            if states != last and not as_json:
                last[:] = states
                _print_build(current)

        build = client.wait(int(build["id"]), timeout=timeout, progress=progress)
    if as_json:
        print_json(build)
    elif not wait:
        _print_build(build)
    if wait and build["state"] != "published":
        raise FarmError(f"build {build['id']} {build['state']}: {build.get('message') or ''}")


@app.command("status")
def status_command(
    build_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The build's number.")],
    url: UrlOpt = DEFAULT_URL,
    as_json: JsonOpt = False,
) -> None:
    """A build's state and its jobs."""
    build = FarmClient(url).build(build_id)
    if as_json:
        print_json(build)
    else:
        _print_build(build)


@app.command("cancel")
def cancel_command(
    build_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The build's number.")],
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = None,
    data: DataOpt = DEFAULT_DATA,
) -> None:
    """Cancel a running build (its containers are stopped, nothing is published)."""
    build = _client(url, token, data).cancel(build_id)
    console.print(json.dumps({"id": build["id"], "state": build["state"]}))
