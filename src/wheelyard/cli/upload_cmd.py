"""`wheelyard upload`: non-variant wheels to PyPI or any PyPI-compatible index, with twine."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from wheelyard.cli.output import console, print_json
from wheelyard.index.publish import DEFAULT_FALLBACK
from wheelyard.index.upload import check_uploadable, upload, wheels_from_wheelhouse


def upload_command(
    sources: Annotated[
        list[Path], typer.Argument(help="A wheelhouse (from `wheelyard build`) or wheel files.")
    ],
    repository_url: Annotated[
        str,
        typer.Option("--repository-url", help="Upload URL, e.g. https://upload.pypi.org/legacy/."),
    ],
    username: Annotated[
        str | None, typer.Option(help="User name (default: TWINE_USERNAME).")
    ] = None,
    password: Annotated[
        str | None, typer.Option(help="Password or token (default: TWINE_PASSWORD).")
    ] = None,
    fallback: Annotated[
        str, typer.Option(help="From a wheelhouse: the variant uploaded as non-variant wheels.")
    ] = DEFAULT_FALLBACK,
    legacy_variant: Annotated[
        str | None,
        typer.Option(help="From a wheelhouse: also upload this variant's X+variant wheels."),
    ] = None,
    skip_existing: Annotated[
        bool, typer.Option("--skip-existing", help="Skip files the index already has.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and list the files; send nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Upload wheels with twine; PEP 825 variant wheels are never sent."""
    env = dict(os.environ)
    if username is not None:
        env["TWINE_USERNAME"] = username
    if password is not None:
        env["TWINE_PASSWORD"] = password
    with tempfile.TemporaryDirectory(prefix="wheelyard-upload-") as tmp:
        files: list[Path] = []
        for index, source in enumerate(sources):
            if source.is_dir():
                files += wheels_from_wheelhouse(
                    source,
                    Path(tmp) / str(index),
                    fallback=fallback,
                    legacy_variant=legacy_variant,
                )
            else:
                files.append(source)
        check_uploadable(files, repository_url)
        if not dry_run:
            upload(files, repository_url, skip_existing=skip_existing, env=env)
        names = [f.name for f in files]
    if as_json:
        print_json({"repository_url": repository_url, "uploaded": not dry_run, "files": names})
        return
    verb = "would upload" if dry_run else "uploaded"
    for name in names:
        console.print(f"{verb}: {escape(name)}")
    console.print(f"{len(names)} file(s) {verb} to {escape(repository_url)}")
