"""`wheelyard detect`: the machine's PEP 825 variant facts (GPU driver and arch, ROCm, CPU)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wheelyard.cli.output import console, print_json
from wheelyard.host.detect import detect
from wheelyard.host.facts import DETECT_FILE_ENV, PlatformFacts

PlatformFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--platform-file",
        help=f"JSON file that replaces detection (env: {DETECT_FILE_ENV}); see `detect --json`.",
    ),
]


def detected(platform_file: Path | None) -> PlatformFacts:
    """Facts from --platform-file, else WHEELYARD_DETECT_FILE, else real detection."""
    if platform_file is None and os.environ.get(DETECT_FILE_ENV):
        platform_file = Path(os.environ[DETECT_FILE_ENV])
    return detect(override=platform_file)


def detect_command(
    platform_file: PlatformFileOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Print what this machine offers to variant selection."""
    facts = detected(platform_file)
    if as_json:
        print_json(facts.to_json())
        return
    for line in facts.summary():
        console.print(escape(line))
    if facts.sources:
        sources = ", ".join(f"{part}: {how}" for part, how in sorted(facts.sources.items()))
        console.print(f"[dim]detected with {escape(sources)}[/]")
    for note in facts.notes:
        console.print(f"[dim]{escape(note)}[/]")
