"""Changes a campaign makes to a package's farm recipe (the TOML layered over its
``[tool.wheelyard]``), with tomlkit so that what an admin wrote there - comments, order, other
keys - stays as it was.

Dropping a variant sets ``variants`` to the variants the package keeps: its nightly builds and
every later rebuild plan without the dropped one. Published wheels of the dropped variant stay
on the index (installed environments keep resolving); retention removes them in time.
"""

from __future__ import annotations

from collections.abc import Sequence

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import Table

from wheelyard.errors import FarmError


def _wheelyard_table(document: tomlkit.TOMLDocument) -> tomlkit.TOMLDocument | Table:
    """Where the recipe's keys live: ``[tool.wheelyard]`` when the file has it, else the top
    level (both forms are farm recipes)."""
    tool = document.get("tool")
    if isinstance(tool, Table):
        table = tool.get("wheelyard")
        if isinstance(table, Table):
            return table
    return document


def with_variants(content: str | None, variants: Sequence[str], *, why: str) -> str:
    """``content`` (a farm recipe, or None for none yet) building exactly ``variants``."""
    try:
        document = tomlkit.parse(content or "")
    except TOMLKitError as exc:
        raise FarmError(
            f"the package's farm recipe is not TOML: {exc}",
            hint="fix it with `wheelyard farm recipe set`, then retry the package",
        ) from exc
    table = _wheelyard_table(document)
    value = tomlkit.array()
    value.extend(variants)
    value.comment(why)
    table["variants"] = value
    return tomlkit.dumps(document)


def recipe_variants(content: str | None) -> list[str] | None:
    """The ``variants`` a farm recipe sets, or None when it sets none."""
    if not content:
        return None
    table = _wheelyard_table(tomlkit.parse(content))
    found = table.get("variants")
    return [str(v) for v in found] if found is not None else None
