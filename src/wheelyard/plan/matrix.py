"""Expand recipe x catalog into jobs: platform x variant x Python group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from wheelyard.catalog.model import Catalog
from wheelyard.config.load import LoadedRecipe
from wheelyard.config.model import ABI3
from wheelyard.config.suggest import did_you_mean
from wheelyard.config.vocab import NATIVE_PLATFORM, AcceleratorKind, Channel, Platform, PythonMode
from wheelyard.errors import ConfigError, PlanError, Problem
from wheelyard.plan.consolidate import describe, split_pythons
from wheelyard.plan.pythons import PythonSelection, select_pythons
from wheelyard.version import variant_environment


@dataclass(frozen=True, kw_only=True)
class Job:
    """One unit a runner executes."""

    id: str
    platform: Platform
    os: str
    arch: str
    variant: str
    kind: AcceleratorKind
    python_mode: PythonMode
    pythons: tuple[str, ...]
    """Interpreters that build a wheel in this job."""
    test_pythons: tuple[str, ...]
    """Interpreters the job's wheels are tested on."""
    build_selector: str
    """cibuildwheel ``build`` selector for exactly this job's wheels."""
    image: str | None
    build_runner: str
    test_runner: str
    test_in_build: bool
    """Tests (import + smoke) run inside the build job, on the build runner."""
    gpu_test: bool
    """A separate smoke-test job runs on ``test_runner`` (a GPU label)."""
    environment: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["platform"] = str(self.platform)
        data["kind"] = str(self.kind)
        data["python_mode"] = str(self.python_mode)
        data["pythons"] = list(self.pythons)
        data["test_pythons"] = list(self.test_pythons)
        data["environment"] = dict(self.environment)
        return data


@dataclass(frozen=True, kw_only=True)
class Skipped:
    """A combination the recipe asked for that the plan leaves out, and why."""

    platform: str
    variant: str
    python: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    package: str
    channel: Channel | None
    """None: no channel chosen, the package's own version is built (its channel follows from
    it when the build knows it)."""
    profile: str | None
    consolidation: str
    jobs: tuple[Job, ...]
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def wheel_count(self) -> int:
        return sum(len(job.pythons) for job in self.jobs)

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "channel": str(self.channel) if self.channel is not None else None,
            "profile": self.profile,
            "consolidation": self.consolidation,
            "jobs": [job.to_json() for job in self.jobs],
            "skipped": [asdict(s) for s in self.skipped],
            "notes": list(self.notes),
        }


def _resolve_platforms(loaded: LoadedRecipe, host: Platform | None) -> list[Platform]:
    platforms: list[Platform] = []
    for name in loaded.recipe.platform_names:
        if name == NATIVE_PLATFORM:
            if host is None:
                raise ConfigError(
                    [
                        Problem(
                            source=loaded.source_of("platforms"),
                            key="platforms",
                            message="'native' asked for, but this host is no build platform",
                            hint="name the platforms explicitly",
                        )
                    ],
                    hint="native means the machine wheelyard runs on",
                )
            resolved = host
        else:
            resolved = Platform(name)
        if resolved not in platforms:
            platforms.append(resolved)
    return platforms


def check_variants(
    loaded: LoadedRecipe, catalog: Catalog, variants: list[str], channel: Channel | None
) -> None:
    problems: list[Problem] = []
    for name in variants:
        if name not in catalog.variants:
            hint = did_you_mean(name, catalog.variants) or (
                f"known variants: {', '.join(catalog.variants)}; "
                "add new ones under [tool.wheelyard.catalog.variants]"
            )
            problems.append(
                Problem(
                    source=loaded.source_of("variants"),
                    key="variants",
                    message=f"unknown variant {name!r}",
                    hint=hint,
                )
            )
        elif channel is not None and not catalog.offered_on(name, channel):
            offered = ", ".join(str(c) for c in catalog.variant(name).channels)
            problems.append(
                Problem(
                    source=loaded.source_of("variants"),
                    key="variants",
                    message=f"variant {name!r} is not offered on the {channel} channel "
                    f"(offered on: {offered})",
                    hint=f"drop {name!r} from variants or choose channel = one of {offered}",
                )
            )
    if problems:
        raise ConfigError(
            problems, hint="`wheelyard catalog` lists the variants, their channels and platforms"
        )


def make_plan(
    loaded: LoadedRecipe,
    catalog: Catalog,
    *,
    host: Platform | None,
    only_variants: list[str] | None = None,
    channel: Channel | None = None,
    dated: bool = False,
) -> Plan:
    """The jobs for ``loaded``'s recipe. ``only_variants`` narrows the recipe's variant list;
    ``channel`` (a flag) wins over the recipe's; with neither, a build given a date (``dated``:
    ``--date``) is a nightly, else the package's own version is built (no channel)."""
    recipe = loaded.recipe
    channel = channel or recipe.channel or (Channel.NIGHTLY if dated else None)
    variants = list(recipe.variants)
    if only_variants:
        check_variants(loaded, catalog, only_variants, channel)
        missing = [v for v in only_variants if v not in variants]
        if missing:
            # Building a catalog variant the recipe did not list is allowed, and said.
            variants = [*variants, *missing]
        variants = [v for v in variants if v in only_variants]
    check_variants(loaded, catalog, variants, channel)
    platforms = _resolve_platforms(loaded, host)

    if ABI3 in recipe.python and recipe.free_threaded:
        raise ConfigError(
            [
                Problem(
                    source=loaded.source_of("free-threaded"),
                    key="free-threaded",
                    message="conflicts with python = 'abi3': free-threaded interpreters "
                    "cannot load stable-ABI wheels",
                    hint="drop free-threaded, or build per-interpreter wheels",
                )
            ],
            hint="abi3 wheels are for GIL interpreters",
        )

    jobs: list[Job] = []
    skipped: list[Skipped] = []
    notes: list[str] = []
    outside: set[str] = set()
    for platform in platforms:
        pentry = catalog.platforms[platform]
        selection = select_pythons(
            recipe.python,
            available=pentry.interpreters,
            free_threaded=recipe.free_threaded,
            requires_python=loaded.requires_python,
        )
        outside.update(selection.outside_requires_python)
        for ident in selection.unavailable:
            for variant in variants:
                skipped.append(
                    Skipped(
                        platform=str(platform),
                        variant=variant,
                        python=ident,
                        reason=f"{ident} is not available on {platform}",
                    )
                )
        for variant in variants:
            entry = catalog.variant(variant)
            if platform not in entry.platforms:
                offered = ", ".join(str(p) for p in entry.platforms)
                skipped.append(
                    Skipped(
                        platform=str(platform),
                        variant=variant,
                        python=None,
                        reason=f"{variant} is not built for {platform} (offered on: {offered})",
                    )
                )
                continue
            jobs.extend(_variant_jobs(loaded, catalog, platform, variant, channel, selection))

    if outside:
        raise ConfigError(
            [
                Problem(
                    source=loaded.source_of("python"),
                    key="python",
                    message=f"{', '.join(sorted(outside))} conflicts with requires-python "
                    f"{loaded.requires_python!r} in [project]",
                    hint="remove those interpreters, or widen requires-python",
                )
            ],
            hint="[project] requires-python and [tool.wheelyard] python must agree",
        )
    if not jobs:
        reasons = sorted({s.reason for s in skipped}) or ["no interpreter matches the selection"]
        raise PlanError(
            "the build matrix is empty: " + "; ".join(reasons),
            hint="widen python, platforms or variants (wheelyard plan shows what each selects)",
        )
    if only_variants:
        extra = [v for v in only_variants if v not in recipe.variants]
        if extra:
            notes.append(f"building {', '.join(extra)} although the recipe does not list it")
    return Plan(
        package=loaded.project_name,
        channel=channel,
        profile=loaded.profile,
        consolidation=describe(recipe.consolidation),
        jobs=tuple(jobs),
        skipped=tuple(skipped),
        notes=tuple(notes),
    )


def _variant_jobs(
    loaded: LoadedRecipe,
    catalog: Catalog,
    platform: Platform,
    variant: str,
    channel: Channel | None,
    selection: PythonSelection,
) -> list[Job]:
    recipe = loaded.recipe
    entry = catalog.variant(variant)
    pentry = catalog.platforms[platform]
    gpu = entry.kind.is_gpu
    wants_gpu_test = gpu and (recipe.needs_gpu_test if recipe.needs_gpu_test is not None else True)
    chunks = split_pythons(selection.build, recipe.consolidation)
    env = variant_environment(variant, entry, channel)
    jobs = []
    for index, chunk in enumerate(chunks):
        tests = chunk if selection.mode is PythonMode.PER_INTERPRETER else selection.test
        suffix = ""
        if len(chunks) > 1:
            suffix = f"-{chunk[0]}" if len(chunk) == 1 else f"-g{index + 1}"
        selector = " ".join(f"{ident}-{pentry.cibw_build_suffix}" for ident in chunk)
        jobs.append(
            Job(
                id=f"{platform}-{variant}{suffix}",
                platform=platform,
                os=pentry.os,
                arch=pentry.arch,
                variant=variant,
                kind=entry.kind,
                python_mode=selection.mode,
                pythons=chunk,
                test_pythons=tests,
                build_selector=selector,
                image=catalog.image(variant, platform) if pentry.container else None,
                build_runner=catalog.build_runner(variant, platform),
                test_runner=catalog.test_runner(variant, platform),
                test_in_build=not wants_gpu_test,
                gpu_test=wants_gpu_test,
                environment=env,
            )
        )
    return jobs
