"""`wheelyard catalog`: the accelerator variants, as a table, JSON or the docs' Markdown."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wheelyard.catalog import load_catalog
from wheelyard.catalog.docs import catalog_markdown
from wheelyard.cli.common import load
from wheelyard.cli.output import console, print_json


class CatalogFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def catalog_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Include the catalog extension of this package's recipe."),
    ] = None,
    fmt: Annotated[CatalogFormat, typer.Option("--format", "-f")] = CatalogFormat.TABLE,
) -> None:
    """List the accelerator variants wheelyard knows."""
    catalog = load(path, None, None).catalog if path is not None else load_catalog()
    match fmt:
        case CatalogFormat.JSON:
            print_json(
                {
                    "variants": {
                        k: v.model_dump(mode="json", by_alias=True)
                        for k, v in catalog.variants.items()
                    },
                    "platforms": {
                        str(k): v.model_dump(mode="json", by_alias=True)
                        for k, v in catalog.platforms.items()
                    },
                    "runners": {
                        k: v.model_dump(mode="json", by_alias=True)
                        for k, v in catalog.runners.items()
                    },
                }
            )
        case CatalogFormat.MARKDOWN:
            typer.echo(catalog_markdown(catalog), nl=False)
        case CatalogFormat.TABLE:
            table = Table(title="accelerator variants", title_justify="left")
            for column in ("variant", "kind", "toolkit", "channels", "platforms", "arch list"):
                table.add_column(column)
            for name, entry in catalog.variants.items():
                table.add_row(
                    name,
                    str(entry.kind),
                    entry.toolkit or "-",
                    ", ".join(entry.channels),
                    ", ".join(entry.platforms),
                    entry.arch_list or "-",
                )
            console.print(table)
