"""Rebuild campaigns: what a change touches, and the order to rebuild it in.

A campaign starts from a **trigger** - add a Python (``cp314``), add or drop a variant
(``cu130``, ``cu126``), or pin an ABI-carrying dependency (``torch==2.14.*``, or a farm package
such as ``yardstream==0.2.*``) - and the farm's record of what every published wheel was built
against (``PackageFacts``). It plans:

- the **touched** packages: those whose recorded inputs the change reaches (no ``cp314`` wheel
  yet; GPU variants but not ``cu130``; built against a ``torch`` the pin excludes; the pinned
  farm package itself);
- for pins, their **dependents** (transitively): a package built against a rebuilt one must be
  rebuilt too;
- for a **dropped** variant, each package building it: its farm recipe stops listing it (a
  recipe change, with no build unless something else touches the package; the published wheels
  stay);
- **skipped** packages with the reason (the builder image lacks the new interpreter, a
  dependency is skipped, dropping the variant would leave no variant);
- each package's rebuild options and its dependencies inside the campaign, in dependency order.

The plan is pure: it reads facts and returns rows; ``RebuildCampaign`` runs it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from wheelyard.errors import FarmRequestError
from wheelyard.farm.campaigns.graph import DependencyGraph, PackageFacts, build_graph
from wheelyard.farm.vocab import CampaignPackageState
from wheelyard.pipeline import BuildOptions

PYTHON_ID = re.compile(r"^(cp|pp)3\d{1,2}t?$")
VARIANT_NAME = re.compile(r"^[0-9a-z_.]+$")
CPU = "cpu"
PARTIAL = "partial"
"""Key of a build's options set by a campaign rebuild of some Pythons or variants only: the
package's full matrix (its source and options for the next campaign) is the build before."""
DROP = "drop_variants"
"""Key of a planned package's options: variants the campaign drops from its farm recipe before
(or instead of) rebuilding it; ``KEEP`` holds the variants it goes on building."""
KEEP = "keep_variants"
NO_BUILD = "no_build"
"""Set when the package's only change is its recipe (a dropped variant): nothing is built."""
CAMPAIGN_KEYS = (DROP, KEEP, NO_BUILD)
"""Keys of a planned package's options that are the campaign's, not the rebuild's."""


@dataclass(frozen=True, kw_only=True)
class Pin:
    """``torch==2.14.*``: a dependency every rebuild must be built against."""

    name: str
    """Canonical project name."""
    text: str
    requirement: Requirement

    @classmethod
    def parse(cls, text: str) -> Pin:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise FarmRequestError(
                f"--pin {text!r} is not a requirement: {exc}", hint="e.g. --pin torch==2.14.*"
            ) from exc
        if not requirement.specifier or requirement.marker or requirement.extras or requirement.url:
            raise FarmRequestError(
                f"--pin {text!r} needs a version specifier and nothing else",
                hint="e.g. --pin torch==2.14.* or --pin numpy>=2.3,<2.4",
            )
        return cls(
            name=str(canonicalize_name(requirement.name)), text=text, requirement=requirement
        )

    def allows(self, version: str) -> bool:
        try:
            return self.requirement.specifier.contains(Version(version), prereleases=True)
        except InvalidVersion:
            return False

    @property
    def specifier(self) -> str:
        return str(self.requirement.specifier)


@dataclass(frozen=True, kw_only=True)
class Trigger:
    add_python: tuple[str, ...] = ()
    add_variants: tuple[str, ...] = ()
    drop_variants: tuple[str, ...] = ()
    pins: tuple[Pin, ...] = ()

    @classmethod
    def parse(
        cls,
        *,
        add_python: Iterable[str] = (),
        add_variants: Iterable[str] = (),
        drop_variants: Iterable[str] = (),
        pins: Iterable[str] = (),
    ) -> Trigger:
        """Validate every part; all problems are reported together."""
        problems: list[str] = []
        pythons = tuple(dict.fromkeys(add_python))
        problems += [
            f"--add-python {p!r} is not a CPython identifier (cp314, cp314t)"
            for p in pythons
            if not PYTHON_ID.match(p)
        ]
        added = tuple(dict.fromkeys(add_variants))
        dropped = tuple(dict.fromkeys(drop_variants))
        problems += [
            f"variant {v!r} is not a variant name (cu130, rocm7.0)"
            for v in (*added, *dropped)
            if not VARIANT_NAME.match(v)
        ]
        problems += [f"{v} is both added and dropped" for v in set(added) & set(dropped)]
        parsed: list[Pin] = []
        for text in dict.fromkeys(pins):
            try:
                parsed.append(Pin.parse(text))
            except FarmRequestError as exc:
                problems.append(exc.message)
        names = [p.name for p in parsed]
        problems += [
            f"{n} is pinned twice" for n in sorted({n for n in names if names.count(n) > 1})
        ]
        trigger = cls(
            add_python=pythons, add_variants=added, drop_variants=dropped, pins=tuple(parsed)
        )
        if not problems and trigger.empty:
            problems.append("a campaign needs a trigger")
        if problems:
            raise FarmRequestError(
                "; ".join(problems),
                hint="--add-python cp314, --add-variant cu130, --drop-variant cu126, "
                "--pin torch==2.14.*",
            )
        return trigger

    @property
    def empty(self) -> bool:
        return not (self.add_python or self.add_variants or self.drop_variants or self.pins)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "add_python": list(self.add_python),
            "add_variants": list(self.add_variants),
            "drop_variants": list(self.drop_variants),
            "pins": [p.text for p in self.pins],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Trigger:
        return cls.parse(
            add_python=data.get("add_python") or (),
            add_variants=data.get("add_variants") or (),
            drop_variants=data.get("drop_variants") or (),
            pins=data.get("pins") or (),
        )

    def describe(self) -> str:
        parts = [f"add {p}" for p in self.add_python]
        parts += [f"add variant {v}" for v in self.add_variants]
        parts += [f"drop variant {v}" for v in self.drop_variants]
        parts += [f"pin {p.text}" for p in self.pins]
        return ", ".join(parts)


@dataclass(frozen=True, kw_only=True)
class PlannedPackage:
    name: str
    position: int
    state: CampaignPackageState
    """PENDING (to rebuild) or SKIPPED."""
    reason: str
    depends_on: tuple[str, ...] = ()
    message: str | None = None
    """Why it is skipped."""
    base_build_id: int | None = None
    build_options: Mapping[str, Any] = field(default_factory=dict)
    estimate_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "position": self.position,
            "state": str(self.state),
            "reason": self.reason,
            "depends_on": list(self.depends_on),
            "message": self.message,
            "base_build_id": self.base_build_id,
            "build_options": dict(self.build_options),
            "estimate_seconds": round(self.estimate_seconds, 1),
        }


@dataclass(frozen=True, kw_only=True)
class CampaignPlan:
    trigger: Trigger
    packages: tuple[PlannedPackage, ...]
    graph: DependencyGraph

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.to_json(),
            "packages": [p.to_json() for p in self.packages],
        }


@dataclass
class _Touch:
    reasons: list[str] = field(default_factory=list)
    skip: str | None = None
    by_pin: bool = False
    pythons: list[str] = field(default_factory=list)
    variants: list[str] = field(default_factory=list)
    drops: list[str] = field(default_factory=list)


def _image_problem(fact: PackageFacts, python: str) -> str | None:
    """Why ``fact``'s builder images cannot build ``python``, or None."""
    for variant in sorted(fact.variants):
        image = fact.images.get(variant)
        if image is not None and image.interpreters and python not in image.interpreters:
            return (
                f"the {variant} builder image {image.ref} has no {python} "
                f"(it has {' '.join(image.interpreters)})"
            )
    return None


def _touch_python(
    trigger: Trigger, facts: Mapping[str, PackageFacts], touched: dict[str, _Touch]
) -> None:
    for python in trigger.add_python:
        for name, fact in facts.items():
            if not fact.python_specific or python in fact.pythons:
                continue
            entry = touched.setdefault(name, _Touch())
            problem = _image_problem(fact, python)
            if problem is not None:
                entry.reasons.append(f"no {python} wheels yet")
                entry.skip = entry.skip or problem
                continue
            entry.reasons.append(f"no {python} wheels yet")
            entry.pythons.append(python)


def _touch_variants(
    trigger: Trigger, facts: Mapping[str, PackageFacts], touched: dict[str, _Touch]
) -> None:
    for variant in trigger.add_variants:
        for name, fact in facts.items():
            gpu = sorted(fact.variants - {CPU})
            if variant in fact.variants or not gpu:
                continue  # already built, or a CPU-only package
            entry = touched.setdefault(name, _Touch())
            entry.reasons.append(f"builds {', '.join(gpu)} but not {variant}")
            entry.variants.append(variant)
    for variant in trigger.drop_variants:
        for name, fact in facts.items():
            if variant not in fact.variants:
                continue
            entry = touched.setdefault(name, _Touch())
            entry.reasons.append(f"builds {variant}, which is dropped")
            entry.drops.append(variant)


def _touch_pins(
    trigger: Trigger,
    facts: Mapping[str, PackageFacts],
    graph: DependencyGraph,
    touched: dict[str, _Touch],
) -> None:
    roots: set[str] = set()
    for pin in trigger.pins:
        if pin.name in facts:
            entry = touched.setdefault(pin.name, _Touch())
            entry.reasons.append(f"pinned to {pin.text}")
            entry.by_pin = True
            roots.add(pin.name)
            continue
        for name, fact in facts.items():
            version = fact.build_dependencies.get(pin.name)
            if version is None or pin.allows(version):
                continue
            entry = touched.setdefault(name, _Touch())
            entry.reasons.append(
                f"built against {pin.name} {version}; the pin asks {pin.specifier}"
            )
            entry.by_pin = True
            roots.add(name)
    for name in sorted(graph.with_dependents(roots) - roots):
        deps = sorted(graph.dependencies(name) & graph.with_dependents(roots))
        entry = touched.setdefault(name, _Touch())
        entry.reasons.append(f"builds against {', '.join(deps)}")
        entry.by_pin = True


def _options(
    fact: PackageFacts, entry: _Touch, trigger: Trigger, date: dt.date
) -> tuple[BuildOptions, float]:
    """The rebuild's options and the share of the base build's machine time it costs."""
    base = BuildOptions.model_validate(dict(fact.options))
    if entry.by_pin:
        pythons = base.python + tuple(
            p for p in entry.pythons if base.python and p not in base.python
        )
        variants = tuple(v for v in base.variants if v not in entry.drops) + tuple(
            v for v in entry.variants if base.variants and v not in base.variants
        )
        torch = next((p.specifier for p in trigger.pins if p.name == "torch"), None)
        options = BuildOptions(
            variants=variants,
            python=pythons,
            channel=base.channel,
            profile=base.profile,
            date=date,
            constraints=tuple(p.text for p in trigger.pins),
            torch=torch if "torch" in fact.build_dependencies else None,
            rebuild=True,
        )
        return options, 1.0
    share = 1.0
    pythons, variants = base.python, base.variants
    if entry.pythons:
        pythons = tuple(entry.pythons)
        share *= len(entry.pythons) / max(1, len(fact.pythons))
    if entry.variants:
        variants = tuple(entry.variants)
        share *= len(entry.variants) / max(1, len(fact.variants))
    options = BuildOptions(
        variants=variants,
        python=pythons,
        channel=base.channel,
        profile=base.profile,
        date=base.date,
    )
    return options, share


def plan_campaign(
    trigger: Trigger,
    facts: Mapping[str, PackageFacts],
    *,
    date: dt.date,
    only: Iterable[str] = (),
) -> CampaignPlan:
    """The packages ``trigger`` touches, with their dependents, skips and rebuild options, in
    dependency order. ``only`` narrows the campaign to those packages (a pinned farm package
    and its dependents stay in: they must move together)."""
    graph = build_graph(facts)
    wanted = {str(canonicalize_name(n)) for n in only}
    unknown = sorted(wanted - set(facts))
    if unknown:
        raise FarmRequestError(
            f"no published package named {', '.join(unknown)}",
            hint=f"the farm's published packages: {', '.join(sorted(facts)) or 'none'}",
        )
    touched: dict[str, _Touch] = {}
    _touch_python(trigger, facts, touched)
    _touch_variants(trigger, facts, touched)
    _touch_pins(trigger, facts, graph, touched)
    if wanted:
        touched = {n: t for n, t in touched.items() if n in wanted or t.by_pin}
    order = graph.order(touched)
    planned: dict[str, PlannedPackage] = {}
    for position, name in enumerate(order):
        fact, entry = facts[name], touched[name]
        depends_on = tuple(sorted(graph.dependencies(name) & set(touched)))
        skip = entry.skip
        skipped_deps = [d for d in depends_on if planned[d].state is CampaignPackageState.SKIPPED]
        if skip is None and skipped_deps:
            skip = f"builds against {', '.join(skipped_deps)}, which is skipped"
        options, share = _options(fact, entry, trigger, date)
        builds = entry.by_pin or bool(entry.pythons or entry.variants)
        extra: dict[str, Any] = {} if entry.by_pin else {PARTIAL: True}
        if entry.drops:
            keep = sorted((fact.variants | set(entry.variants)) - set(entry.drops))
            if not keep and skip is None:
                skip = f"dropping {', '.join(entry.drops)} would leave {name} no variant to build"
            extra |= {DROP: list(entry.drops), KEEP: keep}
            if not builds:
                extra[NO_BUILD] = True
                share = 0.0
        planned[name] = PlannedPackage(
            name=name,
            position=position,
            state=CampaignPackageState.SKIPPED if skip else CampaignPackageState.PENDING,
            reason="; ".join(dict.fromkeys(entry.reasons)),
            depends_on=depends_on,
            message=skip,
            base_build_id=fact.build_id,
            build_options=options.model_dump(mode="json") | extra,
            estimate_seconds=0.0 if skip else fact.seconds * share,
        )
    return CampaignPlan(trigger=trigger, packages=tuple(planned.values()), graph=graph)
