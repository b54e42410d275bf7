"""The import layers of ARCHITECTURE.md, checked on the source: a layer imports only what its row
allows (plus the shared ``errors``, ``proc`` and the package version), never a higher layer.

Besides the table's column, the lower *data* layers (``config``, ``catalog``, ``version``) are
read where the table's layers need them: ``plan`` takes version rules for a job's environment,
``verify`` a recipe's smoke-test settings and the catalog's variants, ``index`` the catalog's
variant properties and the per-variant bucket paths. Nothing reaches sideways into ``builder``,
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
    "record": {"config"},
    "host": {"config"},
    "plan": {"config", "catalog", "version", "host"},
    "source": {"config"},
    "builder": {"plan", "version", "config", "catalog", "source", "record", "host"},
    "wheel": set(),
    "verify": {"wheel", "record", "host"} | DATA,
    "index": {"wheel", "record"} | DATA,
    "select": {"wheel", "host"},
    "ci": {"plan", "config", "catalog", "version", "record"},
    "pipeline": DATA
    | {"plan", "builder", "record", "host", "wheel", "verify", "index", "select", "source"},
    "farm": DATA
    | {"plan", "builder", "record", "host", "wheel", "verify", "index", "select", "source"}
    | {"pipeline"},
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


def _module(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported_modules(path: Path) -> set[str]:
    """Every wheelyard module a file imports, at any depth of the file (function-local too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("wheelyard"):
                # ``from package import module`` depends on the module, not on the package.
                names = {f"{node.module}.{a.name}" for a in node.names}
                modules = {n for n in names if _is_module(n)}
                found |= modules | ({node.module} if names - modules else set())
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("wheelyard")}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize(
    "layer", sorted(p.name for p in SRC.iterdir() if p.is_dir() and p.name[0] != "_")
)
def test_no_package_has_an_import_cycle_inside_it(layer: str) -> None:
    modules = {_module(p): p for p in (SRC / layer).rglob("*.py")}
    graph = {
        name: {m for m in _imported_modules(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
