"""What a worker can build: platform, container engine, builder images (their interpreters and
toolkits), host interpreters, GPUs. A worker announces this and polls only the runner queues it
can serve; asking for a queue it cannot serve (a GPU queue without a GPU, another platform's
queue) is an error at start.

Runner labels are ``<platform>-<kind>`` (``linux-x86_64-cpu``, ``linux-x86_64-cuda``), the
catalog's ``[runners]`` table.
"""

from __future__ import annotations

import os
import platform as host_info
import socket
from dataclasses import dataclass, field
from typing import Any

from wheelyard.builder.engine import detect_engine
from wheelyard.builder.image.ensure import list_builder_images
from wheelyard.catalog.model import Catalog
from wheelyard.config.vocab import Platform
from wheelyard.errors import EngineError, FarmWorkerError, WheelyardError
from wheelyard.host.gpu import GpuInventory
from wheelyard.host.platform import host_platform
from wheelyard.verify.interpreters import Interpreter

CONTAINER_PLATFORMS = frozenset({Platform.LINUX_X86_64, Platform.LINUX_AARCH64})


@dataclass(frozen=True, kw_only=True)
class Capabilities:
    hostname: str
    platform: str | None
    arch: str
    cpus: int
    engine: str | None
    engine_problem: str | None = None
    images: tuple[dict[str, Any], ...] = ()
    interpreters: tuple[str, ...] = ()
    gpu: dict[str, Any] = field(default_factory=dict)

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpu.get("gpus"))

    def to_json(self) -> dict[str, Any]:
        return {
            "hostname": self.hostname,
            "platform": self.platform,
            "arch": self.arch,
            "cpus": self.cpus,
            "engine": self.engine,
            "engine_problem": self.engine_problem,
            "images": list(self.images),
            "interpreters": list(self.interpreters),
            "gpu": self.gpu,
        }


def detect_capabilities(
    *,
    engine: str | None,
    interpreters: tuple[Interpreter, ...],
    gpu: GpuInventory,
) -> Capabilities:
    """This machine's capabilities (probing the container engine and its builder images)."""
    engine_name: str | None = None
    problem: str | None = None
    images: list[dict[str, Any]] = []
    try:
        found = detect_engine(engine)
    except EngineError as exc:
        problem = exc.message
    else:
        engine_name = found.name
        try:
            for image in list_builder_images(found):
                images.append(
                    {
                        "ref": image.ref,
                        "variant": image.variant,
                        "platform": image.platform,
                        "interpreters": list(image.interpreters),
                        "toolkit": dict(image.toolkit),
                    }
                )
        except WheelyardError as exc:
            problem = f"cannot list builder images: {exc.message}"
    host = host_platform()
    return Capabilities(
        hostname=socket.gethostname(),
        platform=str(host) if host else None,
        arch=host_info.machine(),
        cpus=os.cpu_count() or 1,
        engine=engine_name,
        engine_problem=problem,
        images=tuple(images),
        interpreters=tuple(i.label for i in interpreters),
        gpu=gpu.to_json(),
    )


def queue_problem(queue: str, capabilities: Capabilities, catalog: Catalog) -> str | None:
    """Why this machine cannot serve ``queue``, or None."""
    entry = catalog.runners.get(queue)
    if entry is None:
        known = ", ".join(sorted(catalog.runners))
        return f"{queue} is not a runner label of the catalog (known: {known})"
    platform, _, kind = queue.rpartition("-")
    if platform != capabilities.platform:
        return f"{queue} needs a {platform} machine (this one is {capabilities.platform})"
    if entry.gpu:
        if kind != "cuda":
            return f"detecting {kind} GPUs is not implemented, so {queue} cannot be served"
        if not capabilities.has_gpu:
            reason = capabilities.gpu.get("reason") or "no NVIDIA GPU found"
            return f"{queue} needs an NVIDIA GPU: {reason}"
        return None
    if Platform(platform) in CONTAINER_PLATFORMS and capabilities.engine is None:
        return f"{queue} builds in containers: {capabilities.engine_problem or 'no engine'}"
    return None


def check_queues(queues: list[str], capabilities: Capabilities, catalog: Catalog) -> None:
    """Refuse to start a worker for a queue this machine cannot serve (all problems at once)."""
    if not queues:
        raise FarmWorkerError("no queue to serve", hint="pass --queue LABEL (repeat)")
    problems = [p for q in queues if (p := queue_problem(q, capabilities, catalog))]
    if problems:
        raise FarmWorkerError(
            "this machine cannot serve " + "; ".join(problems),
            hint="`wheelyard worker --list-queues` shows what it can serve",
        )


def servable_queues(capabilities: Capabilities, catalog: Catalog) -> list[str]:
    """Every runner label this machine can serve."""
    return [q for q in sorted(catalog.runners) if queue_problem(q, capabilities, catalog) is None]
