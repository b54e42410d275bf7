"""`wheelyard install`: choose each package's best wheel for this machine, explain, install."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from wheelyard.cli.detect_cmd import PlatformFileOpt, detected
from wheelyard.cli.output import console, err_console, print_json
from wheelyard.select.install import Choice, choose, install, install_with_uv_variants, target_for


def _explain(choice: Choice) -> Table:
    table = Table(
        title=f"{choice.project} {choice.version}: {choice.chosen.file.filename}",
        title_justify="left",
    )
    for column in ("", "variant", "fits", "why"):
        table.add_column(column)
    for verdict in choice.verdicts:
        mark = "→" if verdict.label == choice.chosen.label else ""
        why = ", ".join(str(p) for p in verdict.best) if verdict.compatible else ""
        if verdict.compatible and verdict.variant.is_null:
            why = "no properties: always fits"
        if not verdict.compatible:
            why = "; ".join(verdict.reasons)
        table.add_row(mark, verdict.label, "yes" if verdict.compatible else "no", escape(why))
    if choice.has_fallback:
        table.add_row(
            "→" if choice.chosen.label is None else "",
            "(non-variant)",
            "yes",
            "for installers without PEP 825; ranked after every variant",
        )
    return table


def install_command(
    packages: Annotated[list[str], typer.Argument(help="Requirements: pkg, 'pkg>=1.0'.")],
    index_url: Annotated[str, typer.Option("--index-url", help="Simple index URL or directory.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Choose and explain; install nothing.")
    ] = False,
    pre: Annotated[bool, typer.Option("--pre", help="Allow pre-releases (nightlies).")] = False,
    python: Annotated[
        str | None,
        typer.Option(help="Interpreter to install into (default: the active virtualenv's)."),
    ] = None,
    use_pip: Annotated[bool, typer.Option("--pip", help="Install with pip instead of uv.")] = False,
    platform_file: PlatformFileOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the choice as JSON.")] = False,
) -> None:
    """Install the best variant of each package for this machine (PEP 825 ordering)."""
    if python is None and os.environ.get("VIRTUAL_ENV"):
        candidate = Path(os.environ["VIRTUAL_ENV"]) / "bin" / "python"
        python = str(candidate) if candidate.exists() else None
    facts = detected(platform_file)
    target = target_for(python or sys.executable)
    choices = [choose(req, index_url, facts, target, pre=pre) for req in packages]
    if as_json:
        print_json(
            {
                "platform": facts.to_json(),
                "python": target.python,
                "dry_run": dry_run,
                "choices": [c.to_json() for c in choices],
            }
        )
    else:
        for line in facts.summary():
            err_console.print(f"[dim]{escape(line)}[/]")
        for choice in choices:
            console.print(_explain(choice))
            console.print(
                f"chosen: [bold]{escape(choice.chosen.file.filename)}[/] ({choice.reason})"
            )
            for text in choice.notes:
                err_console.print(f"[yellow]note:[/] {escape(text)}")
    if dry_run:
        return
    if not use_pip and index_url.startswith(("http://", "https://")):
        # uv resolves the variant itself (PEP 825), told the machine wheelyard judged.
        install_with_uv_variants(
            choices,
            packages,
            index_url=index_url,
            target=target,
            facts=facts,
            pre=pre,
            environ=os.environ,
        )
        how = "by uv's variant resolution, which chose the same"
    else:
        install(choices, index_url=index_url, target=target, use_pip=use_pip)
        how = "as chosen"
    if not as_json:
        console.print(f"installed into {escape(target.python)} {how}")
