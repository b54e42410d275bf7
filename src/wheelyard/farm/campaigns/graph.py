"""The dependency graph between the farm's packages.

A package depends on another farm package when its published wheels require it
(``Requires-Dist`` without an ``extra`` marker: an optional plugin is not a dependency), when its
build installed it into the isolated build environment (the build record's
``build_dependencies``), or when its ``[build-system].requires`` names it. Edges carry their kinds
(``runtime``, ``build``). A rebuild campaign rebuilds a package only after every package it
depends on is rebuilt and published, so the graph must be acyclic among the packages rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from wheelyard.errors import FarmRequestError

RUNTIME = "runtime"
BUILD = "build"


@dataclass(frozen=True, kw_only=True)
class ImageFacts:
    ref: str
    interpreters: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PackageFacts:
    """What the farm knows about a package from its newest published build."""

    name: str
    build_id: int
    version: str
    source_kind: str
    source: str
    ref: str | None
    options: Mapping[str, Any] = field(default_factory=dict)
    pythons: frozenset[str] = frozenset()
    """Interpreters of its wheels (``cp312``; ``cp311`` for an abi3 wheel)."""
    variants: frozenset[str] = frozenset()
    python_specific: bool = True
    """False when every wheel is abi3 or pure: a new Python needs no new wheel."""
    images: Mapping[str, ImageFacts] = field(default_factory=dict)
    """Per variant: the builder image its job used and the interpreters it has."""
    build_dependencies: Mapping[str, str] = field(default_factory=dict)
    """Every build-time dependency and the version it was built against."""
    abi_dependencies: Mapping[str, str] = field(default_factory=dict)
    requires: frozenset[str] = frozenset()
    """Canonical names its wheels require at run time (extras left out)."""
    build_requires: frozenset[str] = frozenset()
    """Canonical names of its ``[build-system].requires``."""
    seconds: float = 0.0
    """Machine time of that build (sum of its jobs)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "build_id": self.build_id,
            "version": self.version,
            "pythons": sorted(self.pythons),
            "variants": sorted(self.variants),
            "python_specific": self.python_specific,
            "build_dependencies": dict(self.build_dependencies),
            "abi_dependencies": dict(self.abi_dependencies),
            "requires": sorted(self.requires),
            "build_requires": sorted(self.build_requires),
            "seconds": round(self.seconds, 1),
        }


def requirement_names(requirements: Iterable[str], *, runtime: bool) -> frozenset[str]:
    """Canonical names of ``requirements``; with ``runtime``, those behind an ``extra`` marker
    are left out (an optional extra is not something the package builds against)."""
    names: set[str] = set()
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if runtime and requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        names.add(str(canonicalize_name(requirement.name)))
    return frozenset(names)


@dataclass(frozen=True, kw_only=True)
class DependencyGraph:
    packages: tuple[str, ...]
    edges: Mapping[str, Mapping[str, frozenset[str]]]
    """package -> {farm package it depends on -> kinds (runtime, build)}."""

    def dependencies(self, name: str) -> frozenset[str]:
        return frozenset(self.edges.get(name, {}))

    def dependents(self, name: str) -> frozenset[str]:
        return frozenset(p for p, deps in self.edges.items() if name in deps)

    def with_dependents(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` and everything that depends on them, transitively."""
        found = set(names)
        todo = list(found)
        while todo:
            for dependent in self.dependents(todo.pop()):
                if dependent not in found:
                    found.add(dependent)
                    todo.append(dependent)
        return frozenset(found)

    def order(self, names: Iterable[str]) -> list[str]:
        """``names`` in dependency order (dependencies first, ties by name); a cycle among them
        is an error naming its members."""
        wanted = set(names)
        remaining = {n: set(self.dependencies(n)) & wanted for n in wanted}
        ordered: list[str] = []
        while remaining:
            ready = sorted(n for n, deps in remaining.items() if not deps)
            if not ready:
                cycle = ", ".join(sorted(remaining))
                raise FarmRequestError(
                    f"the packages {cycle} depend on each other in a cycle",
                    hint="a campaign rebuilds dependencies first; break the cycle "
                    "(a runtime requirement that should be an extra?)",
                )
            for name in ready:
                ordered.append(name)
                del remaining[name]
            for deps in remaining.values():
                deps.difference_update(ready)
        return ordered

    def to_json(self) -> dict[str, Any]:
        return {
            "packages": list(self.packages),
            "edges": [
                {"package": package, "depends_on": dep, "kinds": sorted(kinds)}
                for package, deps in sorted(self.edges.items())
                for dep, kinds in sorted(deps.items())
            ],
        }


def build_graph(facts: Mapping[str, PackageFacts]) -> DependencyGraph:
    """The graph among the packages of ``facts`` (edges to packages outside it are dropped)."""
    edges: dict[str, dict[str, frozenset[str]]] = {}
    for name, fact in facts.items():
        deps: dict[str, set[str]] = {}
        for dep in fact.requires:
            deps.setdefault(dep, set()).add(RUNTIME)
        for dep in set(fact.build_dependencies) | set(fact.build_requires):
            deps.setdefault(dep, set()).add(BUILD)
        edges[name] = {
            dep: frozenset(kinds)
            for dep, kinds in sorted(deps.items())
            if dep in facts and dep != name
        }
    return DependencyGraph(packages=tuple(sorted(facts)), edges=edges)
