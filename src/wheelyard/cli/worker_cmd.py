"""`wheelyard worker`: serve runner queues of a farm from this machine.

The worker announces what it can build (platform, container engine, builder images and their
interpreters and toolkits, host interpreters, GPUs) and polls only the queues it can serve; a
queue it cannot serve (a GPU queue without a GPU, another platform's) stops it at start with
exit status 2. Ctrl-C stops it: running stages are cancelled (containers stopped) and Temporal
gives them to another worker.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from wheelyard.cli.output import console, err_console, print_json
from wheelyard.config.accelerator import torch_source_problem
from wheelyard.errors import FarmError
from wheelyard.farm.settings import DEFAULT_NAMESPACE, DEFAULT_TEMPORAL

if TYPE_CHECKING:
    from wheelyard.farm.builds.stages import WorkerEnvironment
    from wheelyard.farm.runtime.capabilities import Capabilities

# The farm's modules (Temporal, SQLAlchemy, FastAPI) are imported by the commands that use
# them, so that every other command starts as fast as before.

DEFAULT_CACHE = Path.home() / ".cache" / "wheelyard" / "ccache"

QueueOpt = Annotated[
    list[str] | None,
    typer.Option("--queue", "-q", help="Runner label to serve, e.g. linux-x86_64-cpu (repeat)."),
]
DataOpt = Annotated[
    Path,
    typer.Option(
        "--data",
        help="The farm's data directory (shared with the farm machine: builds exchange files "
        "there).",
        envvar="WHEELYARD_FARM_DATA",
    ),
]
EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="podman or docker (default: the first that works).")
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", min=1, help="Jobs run at a time, per queue.")
]


TORCH_INDEX_ENV = "WHEELYARD_FARM_TORCH_INDEX"
"""The farm's own torch sources (space-separated, ``{variant}``/``{channel}`` filled in): they
replace the catalog's for every build of this worker (a recipe's ``torch-index`` still wins)."""


IMAGES_ENV = "WHEELYARD_FARM_IMAGES"
"""Which builder images this worker's jobs ask for: auto (default), registry or local."""


def worker_environment(
    data_dir: Path, engine: str | None, compiler_cache: Path | None
) -> WorkerEnvironment:
    """The worker's view of this machine, read from its environment once."""
    from wheelyard.builder.image.ensure import ImagePolicy
    from wheelyard.cli.verify_cmd import interpreters_from
    from wheelyard.farm.builds.stages import WorkerEnvironment
    from wheelyard.host.facts import DETECT_FILE_ENV

    override = os.environ.get(DETECT_FILE_ENV)
    torch_index = tuple(os.environ.get(TORCH_INDEX_ENV, "").split())
    for source in torch_index:
        problem = torch_source_problem(source)
        if problem is not None:
            raise FarmError(f"{TORCH_INDEX_ENV}: {problem}")
    policy = os.environ.get(IMAGES_ENV, ImagePolicy.AUTO)
    if policy not in set(ImagePolicy):
        raise FarmError(
            f"{IMAGES_ENV}={policy!r}: expected one of {', '.join(ImagePolicy)}",
        )
    return WorkerEnvironment(
        data_dir=data_dir.resolve(),
        image_policy=ImagePolicy(policy),
        engine=engine,
        compiler_cache=compiler_cache,
        interpreters=interpreters_from(None),
        index_url=os.environ.get("UV_INDEX_URL") or os.environ.get("PIP_INDEX_URL") or None,
        detect_file=Path(override) if override else None,
        torch_index=torch_index,
    )


def machine_capabilities(environment: WorkerEnvironment) -> Capabilities:
    from wheelyard.farm.runtime.capabilities import detect_capabilities
    from wheelyard.host.gpu import detect_gpus

    return detect_capabilities(
        engine=environment.engine,
        interpreters=environment.interpreters,
        gpu=detect_gpus(override=environment.detect_file),
    )


def print_capabilities(capabilities: Capabilities, queues: list[str]) -> None:
    err_console.print(
        f"[bold]{escape(capabilities.hostname)}[/]: {escape(str(capabilities.platform))}, "
        f"{capabilities.cpus} CPUs, engine {escape(capabilities.engine or 'none')}"
        + (
            f" [dim]({escape(capabilities.engine_problem)})[/]"
            if capabilities.engine_problem
            else ""
        )
    )
    for image in capabilities.images:
        toolkit = " ".join(f"{k} {v}" for k, v in image["toolkit"].items())
        err_console.print(
            f"  image {escape(image['ref'])}: {escape(' '.join(image['interpreters']))}"
            + (f" · {escape(toolkit)}" if toolkit else "")
        )
    gpus = capabilities.gpu.get("gpus") or []
    if gpus:
        for gpu in gpus:
            err_console.print(
                f"  GPU {escape(str(gpu['name']))} (compute capability "
                f"{escape(str(gpu['compute_capability']))}), driver "
                f"{escape(str(capabilities.gpu.get('driver')))}"
            )
    else:
        err_console.print(f"  no GPU: {escape(str(capabilities.gpu.get('reason') or ''))}")
    err_console.print(f"  queues this machine can serve: {escape(', '.join(queues) or 'none')}")


def worker_command(
    queue: QueueOpt = None,
    temporal: Annotated[
        str,
        typer.Option(
            "--temporal", help="Temporal frontend HOST:PORT.", envvar="WHEELYARD_FARM_TEMPORAL"
        ),
    ] = DEFAULT_TEMPORAL,
    namespace: Annotated[str, typer.Option(help="Temporal namespace.")] = DEFAULT_NAMESPACE,
    data: DataOpt = Path("farm-data"),
    identity: Annotated[
        str | None, typer.Option(help="Worker name (default: HOSTNAME-PID).")
    ] = None,
    concurrency: ConcurrencyOpt = 1,
    engine: EngineOpt = None,
    compiler_cache: Annotated[
        Path | None, typer.Option(help="Persistent compiler cache directory.")
    ] = DEFAULT_CACHE,
    list_queues: Annotated[
        bool, typer.Option("--list-queues", help="Print what this machine can serve and exit.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --list-queues: print a JSON object.")
    ] = False,
) -> None:
    """Serve runner queues of a farm: build, verify and GPU-smoke-test jobs on this machine."""
    from wheelyard.catalog import load_catalog
    from wheelyard.farm.builds.activities import StageActivities
    from wheelyard.farm.messages import WorkerAnnouncement
    from wheelyard.farm.runtime.capabilities import check_queues, servable_queues
    from wheelyard.farm.runtime.worker import WorkerPlan, connect, run_async, serve

    environment = worker_environment(data, engine, compiler_cache)
    capabilities = machine_capabilities(environment)
    catalog = load_catalog()
    servable = servable_queues(capabilities, catalog)
    if list_queues:
        if as_json:
            print_json({"capabilities": capabilities.to_json(), "queues": servable})
        else:
            print_capabilities(capabilities, servable)
        return
    queues = list(dict.fromkeys(queue or ()))
    check_queues(queues, capabilities, catalog)
    name = identity or f"{socket.gethostname()}-{os.getpid()}"
    plan = WorkerPlan(
        identity=name,
        stages=StageActivities(environment, identity=name),
        queues=tuple(queues),
        concurrency=concurrency,
        announcement=WorkerAnnouncement(
            identity=name,
            hostname=capabilities.hostname,
            queues=queues,
            capabilities=capabilities.to_json(),
        ),
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        client = await connect(temporal, namespace)

        async def started() -> None:
            console.print(
                f"worker [bold]{escape(name)}[/] serving {escape(', '.join(queues))} "
                f"(Temporal {escape(temporal)}, data {escape(str(environment.data_dir))}); "
                "Ctrl-C stops it"
            )

        await serve(client, plan, stop, started=started)
        err_console.print("worker stopped")

    print_capabilities(capabilities, servable)
    run_async(main)
