"""Consoles and error rendering. Respects NO_COLOR; plain output when not on a terminal."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from wheelyard.errors import OutputError, ProcessError, WheelyardError


def _width() -> int | None:
    """Logs (no terminal) get wide tables instead of rich's 80-column default."""
    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return None
    return 160


console = Console(highlight=False, width=_width())
err_console = Console(stderr=True, highlight=False, width=_width())


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, untouched by rich."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def report_error(exc: WheelyardError) -> None:
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if isinstance(exc, ProcessError):
        if exc.output_tail:
            err_console.print("[dim]last lines of output:[/]")
            err_console.print(escape(exc.output_tail), style="dim")
        if exc.log_path:
            err_console.print(f"full log: {escape(exc.log_path)}")
    if exc.hint:
        err_console.print(f"[yellow]hint:[/] {escape(exc.hint)}")


def note(message: str) -> None:
    err_console.print(f"[dim]{escape(message)}[/]")


def write_output(target: Path, text: str) -> None:
    """Write a file the user named (``-o``, ``--json FILE``) whole or not at all."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {target}: {exc.strerror or exc}",
            hint="name a file in a folder you can write to (or - for stdout where offered)",
        ) from exc
