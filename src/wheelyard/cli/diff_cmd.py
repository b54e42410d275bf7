"""`wheelyard diff OLD NEW`: how two wheels (or folders of wheels) differ, and whether they are
functionally equivalent (exit 0) or not (exit 1). The rule is in ``wheelyard.wheel.diff``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import filesize
from rich.markup import escape
from rich.table import Table

from wheelyard.cli.output import console, print_json
from wheelyard.errors import DiffError, WheelError
from wheelyard.record import built_against_changes, built_against_of
from wheelyard.wheel.diff import FieldChange, FolderDiff, WheelDiff, diff_folders, diff_wheels

EXIT_DIFFERENT = 1
MAX_VALUE = 80


def _size(value: int | None) -> str:
    return "-" if value is None else filesize.decimal(value)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def with_records(diff: WheelDiff) -> WheelDiff:
    """``diff`` with what the build records beside the two wheels say they were built against
    (``wheelyard build`` output folders); unchanged where either side has no record."""
    changes = built_against_changes(built_against_of(diff.old), built_against_of(diff.new))
    if not changes:
        return diff
    fields = tuple(
        FieldChange(field=name, old=old, new=new, decisive=decisive)
        for name, old, new, decisive in changes
    )
    return replace(diff, built_against=fields)


def _print_pair(diff: WheelDiff) -> None:
    verdict = "[green]equivalent[/]" if diff.equivalent else "[bold red]different[/]"
    console.print(f"{verdict} {escape(diff.old.name)} -> {escape(diff.new.name)}")
    if diff.old_tags != diff.new_tags:
        console.print(
            f"  tags: {escape(', '.join(diff.old_tags))} -> {escape(', '.join(diff.new_tags))}"
        )
    if diff.files:
        table = Table(title="files", title_justify="left")
        for column, justify in (
            ("path", "left"),
            ("change", "left"),
            ("old size", "right"),
            ("new size", "right"),
            ("counts", "left"),
            ("note", "left"),
        ):
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        for change in diff.files:
            table.add_row(
                escape(change.path),
                str(change.change),
                _size(change.old_size),
                _size(change.new_size),
                "yes" if change.decisive else "no",
                escape(change.note),
            )
        console.print(table)
    for title, changes in (
        ("WHEEL", diff.wheel_fields),
        ("METADATA", diff.metadata),
        ("built against", diff.built_against),
    ):
        for field in changes:
            mark = "" if field.decisive else " [dim](descriptive, does not count)[/]"
            console.print(
                f"  {title} {escape(field.field)}: {escape(_short(field.old))} -> "
                f"{escape(_short(field.new))}{mark}"
            )
    for elf in diff.elf:
        console.print(f"  ELF {escape(elf.path)}:")
        for key, (old, new) in elf.facts.items():
            console.print(f"    {escape(key)}: {escape(str(old))} -> {escape(str(new))}")
        for label, items in (
            ("NEEDED added", elf.needed_added),
            ("NEEDED removed", elf.needed_removed),
            ("symbol versions added", elf.versions_added),
            ("symbol versions removed", elf.versions_removed),
            ("exported symbols added", elf.exports_added),
            ("exported symbols removed", elf.exports_removed),
            ("loaded sections that differ", elf.sections_changed),
        ):
            if items:
                console.print(f"    {label}: {escape(', '.join(items))}")
    for path in diff.unchanged_elf:
        facts = diff.elf_summary.get(path, {})
        console.print(
            f"  [dim]ELF {escape(path)}: same interface and code (NEEDED "
            f"{escape(', '.join(facts.get('needed', [])) or 'none')}, highest GLIBC "
            f"{escape(str(facts.get('highest GLIBC')))})[/]"
        )
    for reason in diff.reasons:
        console.print(f"  [red]- {escape(reason)}[/]")


def _print_folders(diff: FolderDiff) -> None:
    for name in diff.only_old:
        console.print(f"[bold red]only in {escape(str(diff.old))}:[/] {escape(name)}")
    for name in diff.only_new:
        console.print(f"[bold red]only in {escape(str(diff.new))}:[/] {escape(name)}")
    for pair in diff.pairs:
        _print_pair(pair)
    same = sum(1 for p in diff.pairs if p.equivalent)
    console.print(
        f"{same} of {len(diff.pairs)} matched wheel(s) equivalent; "
        f"{len(diff.only_old)} only in OLD, {len(diff.only_new)} only in NEW"
    )


def diff_command(
    old: Annotated[Path, typer.Argument(help="The old wheel, or a folder of wheels.")],
    new: Annotated[Path, typer.Argument(help="The new wheel, or a folder of wheels.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Compare two wheels (or folders of wheels matched by name); exit 1 unless equivalent."""
    for path in (old, new):
        if not path.exists():
            raise DiffError(f"{path}: no such file or folder")
    result: WheelDiff | FolderDiff
    try:
        if old.is_dir() and new.is_dir():
            folders = diff_folders(old, new)
            result = replace(folders, pairs=tuple(with_records(p) for p in folders.pairs))
        elif old.is_file() and new.is_file():
            result = with_records(diff_wheels(old, new))
        else:
            raise DiffError(f"cannot compare {old} with {new}: give two wheel files or two folders")
    except WheelError as exc:
        raise DiffError(exc.message, hint="both sides must be readable wheels") from exc
    if as_json:
        print_json(result.to_json())
    elif isinstance(result, FolderDiff):
        _print_folders(result)
    else:
        _print_pair(result)
    if not result.equivalent:
        raise typer.Exit(code=EXIT_DIFFERENT)
