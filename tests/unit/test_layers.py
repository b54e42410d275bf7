"""The import layers of ARCHITECTURE.md, checked on the source: a layer imports only what its row
allows (plus the shared ``errors``, ``proc`` and the package version), never a higher layer.

Besides the table's column, the lower *data* layers (``config``, ``catalog``, ``version``) are
read where the table's layers need them: ``plan`` takes version rules for a job's environment,
``verify`` a recipe's smoke-test settings and the catalog's variants, ``index`` the catalog's
variant properties and the per-variant bucket paths. Nothing reaches sideways into ``build``,
``wheel``, ``verify``, ``index`` or ``select`` from a layer the table does not list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src" / "wheelyard"
SHARED = {"errors", "proc", "__version__"}
DATA = {"config", "catalog", "version"}
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "catalog": {"config"},
    "version": {"config"},
    "plan": {"config", "catalog", "version"},
    "source": {"config"},
    "build": {"plan", "version", "config", "catalog", "source"},
    "wheel": set(),
    "verify": {"wheel"} | DATA,
    "index": {"wheel"} | DATA,
    "select": {"wheel"},
    "ci": {"plan", "config", "catalog", "version"},
    "farm": DATA | {"plan", "build", "wheel", "verify", "index", "select", "source"},
}


def _layer(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0].removesuffix(".py") if len(parts) > 1 else path.stem


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "wheelyard":
                found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("wheelyard.")}
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_what_its_row_allows(layer: str) -> None:
    files = (
        [SRC / f"{layer}.py"] if (SRC / f"{layer}.py").is_file() else [*(SRC / layer).rglob("*.py")]
    )
    assert files
    wrong = {
        f"{path.relative_to(SRC)} imports wheelyard.{name}"
        for path in files
        for name in _imports(path) - ALLOWED[layer] - SHARED - {layer}
    }
    assert not wrong, sorted(wrong)


def test_every_layer_is_in_the_table() -> None:
    layers = {_layer(p) for p in SRC.rglob("*.py")} - SHARED - {"__init__", "__main__", "cli"}
    assert layers == set(ALLOWED)
