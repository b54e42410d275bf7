"""`wheelyard publish`: a wheelhouse to a local directory or S3/R2 index (PEP 825 + legacy)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich import filesize
from rich.markup import escape
from rich.table import Table

from wheelyard.catalog import load_catalog
from wheelyard.cli.common import load
from wheelyard.cli.output import console, err_console, print_json
from wheelyard.config.vocab import Channel
from wheelyard.errors import PublishError
from wheelyard.index.publish import (
    DEFAULT_FALLBACK,
    PublishOptions,
    PublishReport,
    default_index_dir,
    publish_wheelhouse,
)
from wheelyard.index.registry import StoreSettings, open_store
from wheelyard.index.retention import DEFAULT_KEEP_VERSIONS, RetentionPolicy
from wheelyard.record import RECORD_NAME

MAX_KEEP_DAYS = 36500
"""The longest ``--keep-days``: a century (dates before year 1 cannot be computed)."""


def _valid_days(value: float | None) -> float | None:
    """``--keep-days``: a finite number of days (typer's min/max let NaN through)."""
    if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_KEEP_DAYS):
        raise typer.BadParameter(f"{value} is not a number of days from 0 to {MAX_KEEP_DAYS}")
    return value


def _table(report: PublishReport) -> Table:
    table = Table(title=f"published to {report.store} ({report.channel})", title_justify="left")
    for column, justify in (
        ("file", "left"),
        ("kind", "left"),
        ("page", "left"),
        ("size", "right"),
        ("sha256", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for item in report.published:
        table.add_row(
            escape(item.filename),
            str(item.kind) + (f" ({item.label})" if item.label else ""),
            escape(item.tree),
            filesize.decimal(item.size),
            item.sha256[:16],
        )
    return table


def publish_command(
    wheelhouse: Annotated[
        Path,
        typer.Argument(help=f"Output of `wheelyard build`: <variant>/*.whl + {RECORD_NAME}."),
    ] = Path("wheelhouse"),
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Index directory or s3://bucket/prefix (default: index/ beside WHEELHOUSE).",
        ),
    ] = None,
    channel: Annotated[
        Channel | None, typer.Option(help="Channel (default: the build record's).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option(help="S3-compatible endpoint (R2, MinIO; default: AWS or AWS_ENDPOINT_URL)."),
    ] = None,
    region: Annotated[str | None, typer.Option(help="S3 region.")] = None,
    fallback: Annotated[
        str,
        typer.Option(help="Variant whose wheels also become non-variant fallbacks for old pip."),
    ] = DEFAULT_FALLBACK,
    no_fallback: Annotated[
        bool, typer.Option("--no-fallback", help="Publish no non-variant fallback wheels.")
    ] = False,
    no_legacy: Annotated[
        bool, typer.Option("--no-legacy", help="Skip the whl/<channel>/<variant>/ indexes.")
    ] = False,
    keep_versions: Annotated[
        int | None, typer.Option(min=0, help="Nightly retention: keep the newest N versions.")
    ] = DEFAULT_KEEP_VERSIONS,
    keep_days: Annotated[
        float | None,
        typer.Option(
            callback=_valid_days, help="Nightly retention: also keep versions newer than D days."
        ),
    ] = None,
    no_retention: Annotated[
        bool, typer.Option("--no-retention", help="Keep every nightly version.")
    ] = False,
    project: Annotated[
        Path | None,
        typer.Option(help="Package whose recipe extends the catalog (variant properties)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Publish a wheelhouse: PEP 825 variant wheels, non-variant fallbacks, legacy indexes."""
    catalog = load(project, None, None).catalog if project is not None else load_catalog()
    if not no_fallback and fallback not in catalog.variants:
        raise PublishError(
            f"--fallback {fallback}: unknown variant",
            hint=f"known: {', '.join(catalog.variants)}; or --no-fallback",
        )
    target = to if to is not None else str(default_index_dir(wheelhouse))
    store = open_store(target, StoreSettings(endpoint_url=endpoint_url, region=region))
    retention = (
        RetentionPolicy(keep_versions=None, keep_days=None)
        if no_retention
        else RetentionPolicy(keep_versions=keep_versions, keep_days=keep_days)
    )
    options = PublishOptions(
        channel=channel,
        fallback=None if no_fallback else fallback,
        legacy=not no_legacy,
        retention=retention,
    )
    report = publish_wheelhouse(wheelhouse, store, catalog=catalog, options=options)
    if as_json:
        print_json(report.to_json())
        return
    console.print(_table(report))
    for name in report.already:
        console.print(f"[dim]already published: {escape(name)}[/]")
    for excluded in report.excluded:
        err_console.print(
            f"[yellow]not published:[/] {escape(excluded.name)} ({escape(excluded.reason)})"
        )
    for pruned in report.pruned:
        console.print(
            f"[dim]retention: removed {escape(pruned.project)} {escape(pruned.version)} "
            f"({pruned.channel})[/]"
        )
    for text in report.notes:
        err_console.print(f"[yellow]note:[/] {escape(text)}")
    console.print(
        f"index: {escape(report.store)} ({report.pages_written} pages written, "
        f"{report.pages_unchanged} unchanged)"
    )
