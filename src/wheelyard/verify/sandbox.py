"""Where package code runs during verification: a sandbox, never the host as it is.

Installing a wheel runs none of its code (uv installs wheels only when a sandbox is in use:
``--no-build`` refuses a dependency that would have to be built). Importing its modules and
running its smoke test do run its code: with a ``Sandbox`` those commands run inside a
container with no network, an environment of wheelyard's choosing (nothing from the host), a
read-only file system except one scratch folder, and memory and process limits. The virtual
environment and the interpreter are mounted read-only at their own paths, so the same commands
run inside as outside.

The container engine lives in the builder layer; the CLI and the farm hand a ``Sandbox`` in
through ``VerifyOptions.sandbox``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
"""What follows the virtual environment's ``bin`` on PATH inside the sandbox."""


@dataclass(frozen=True, kw_only=True)
class Confinement:
    """What one sandboxed command may see."""

    workdir: Path
    """The scratch folder: the only writable place (besides a private /tmp)."""
    read_only: tuple[Path, ...]
    """Folders visible read-only at their own paths (environment, interpreter, wheel, project)."""
    env: Mapping[str, str]
    """The whole environment inside; nothing else is passed."""
    gpu: bool = False
    """Hand the machine's GPUs in (the GPU smoke stage)."""


class Sandbox(Protocol):
    """Turns a command into one that runs confined (a container run), and cleans up after it."""

    @property
    def description(self) -> str:
        """Shown in results: ``podman, localhost/wheelyard-builder:cpu, no network``."""
        ...

    def command(self, argv: Sequence[str], confinement: Confinement, *, name: str) -> list[str]:
        """The argv that runs ``argv`` confined, as ``name`` (unique per run)."""
        ...

    def remove(self, name: str) -> None:
        """Stop and remove what ``name`` left running (a command stopped at its timeout)."""
        ...
