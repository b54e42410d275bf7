"""The verification gate: every check on every wheel, one report.

``verify_wheels(paths, options=...)`` is what ``wheelyard verify`` runs and what a build calls
on its output; a wheel whose report is not ``ok`` must not be published. Bad wheels never raise:
a truncated file, a zip bomb or a module that segfaults on import are findings in the report.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from wheelyard.catalog.libraries import loader_modules
from wheelyard.config.load import LoadedRecipe
from wheelyard.errors import VerifyError, WheelError
from wheelyard.record import BuildRecord, wheel_project
from wheelyard.verify.imports import import_all, wheel_modules
from wheelyard.verify.install import forget, install
from wheelyard.verify.interpreters import host_platforms, select_targets
from wheelyard.verify.options import VerifyOptions, with_recipe, with_torch
from wheelyard.verify.platform_tag import check_platform
from wheelyard.verify.report import (
    Check,
    CheckResult,
    Finding,
    VerifyReport,
    WheelReport,
    failed,
    passed,
    skipped,
)
from wheelyard.verify.smoke import run_smoke_test
from wheelyard.wheel.archive import Wheel
from wheelyard.wheel.elf import ElfInfo, read_elf
from wheelyard.wheel.inspect import ArchiveReport, inspect_archive

Progress = Callable[[WheelReport], None]


def find_wheels(paths: Iterable[Path]) -> list[Path]:
    """Wheel files among ``paths`` (folders are searched recursively), in order, once each."""
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_dir():
            for wheel in sorted(path.rglob("*.whl")):
                found.setdefault(wheel, None)
        elif path.is_file():
            found.setdefault(path, None)
        else:
            raise VerifyError(f"{path}: no such file or folder")
    if not found:
        raise VerifyError(
            f"no wheel found in {', '.join(str(p) for p in paths)}",
            hint="pass .whl files or folders holding them",
        )
    return list(found)


def structure_result(archive: ArchiveReport, seconds: float) -> CheckResult:
    findings = tuple(Finding(code=p.code, message=p.message, path=p.path) for p in archive.problems)
    if findings:
        fatal = " (not safe to read further)" if archive.fatal else ""
        return failed(
            Check.STRUCTURE,
            f"{len(findings)} structural problem{'s' if len(findings) != 1 else ''}{fatal}",
            findings,
            notes=archive.notes,
            seconds=seconds,
        )
    assert archive.name is not None and archive.metadata is not None
    metadata = archive.metadata.metadata
    assert metadata is not None
    tags = ", ".join(sorted(str(t) for t in archive.name.tags))
    return passed(
        Check.STRUCTURE,
        f"{len(archive.files)} files, RECORD matches every hash and size, WHEEL tags = file "
        f"name tags ({tags}), METADATA {metadata.metadata_version}: {metadata.name} "
        f"{metadata.version}",
        notes=archive.notes,
        seconds=seconds,
    )


def read_elves(path: Path, archive: ArchiveReport, max_member_bytes: int) -> dict[str, ElfInfo]:
    """Every ELF file of the wheel, parsed (malformed ones left out: auditwheel reports them)."""
    elves: dict[str, ElfInfo] = {}
    if not archive.elf_files:
        return elves
    with Wheel(path, max_member_bytes=max_member_bytes) as wheel:
        for member in archive.elf_files:
            try:
                elves[member] = read_elf(wheel.read(member), where=member)
            except WheelError:
                continue
    return elves


def _skip_all(checks: Iterable[Check], reason: str, python: str | None = None) -> list[CheckResult]:
    return [skipped(check, reason, python=python) for check in checks]


def _per_interpreter(
    path: Path,
    archive: ArchiveReport,
    elves: Mapping[str, ElfInfo],
    options: VerifyOptions,
) -> list[CheckResult]:
    wanted = [c for c in (Check.INSTALL, Check.IMPORTS, Check.SMOKE) if c in options.checks]
    if not wanted:
        return []
    assert archive.name is not None
    metadata = archive.metadata.metadata if archive.metadata else None
    requires_python: SpecifierSet | None = metadata.requires_python if metadata else None
    platforms = options.platforms if options.platforms is not None else host_platforms()
    targets = select_targets(archive.name.tags, requires_python, options.interpreters, platforms)
    if not targets.interpreters:
        return _skip_all(wanted, targets.reason or "no interpreter")
    requires = (metadata.requires_dist or ()) if metadata is not None else ()
    first = loader_modules(
        (str(r) for r in requires),
        (lib for elf in elves.values() for lib in elf.needed),
    )
    modules, left_out = wheel_modules(
        archive.files,
        exports={member: elf.exported for member, elf in elves.items()},
        optional=options.optional_modules,
    )
    results: list[CheckResult] = []
    for interpreter in targets.interpreters:
        label = interpreter.label
        if Check.INSTALL not in options.checks:
            results.extend(_skip_all(wanted, "the install check was not asked for", label))
            continue
        with tempfile.TemporaryDirectory(prefix="wheelyard-verify-", dir=options.work_dir) as tmp:
            root = Path(tmp)
            install_result, environment = install(path, interpreter, root / "venv", options)
            results.append(install_result)
            if environment is None:
                results.extend(
                    _skip_all(
                        [c for c in wanted if c is not Check.INSTALL],
                        "the wheel did not install",
                        label,
                    )
                )
                continue
            if Check.IMPORTS in options.checks:
                run_dir = root / "imports"
                run_dir.mkdir()
                results.append(
                    import_all(
                        environment,
                        modules,
                        left_out=left_out,
                        run_dir=run_dir,
                        timeout=options.import_timeout,
                        metadata=metadata,
                        strict=options.strict,
                        index_url=options.index_url,
                        first=first,
                    )
                )
            if Check.SMOKE in options.checks:
                if options.smoke_test is None:
                    results.append(
                        skipped(
                            Check.SMOKE,
                            "no smoke test: the recipe has no smoke-test (or no project was given)",
                            python=label,
                        )
                    )
                else:
                    results.append(
                        run_smoke_test(
                            options.smoke_test,
                            environment,
                            wheel=path.resolve(),
                            run_dir=root / "smoke",
                            timeout=options.smoke_timeout,
                            extra_env=options.smoke_environment,
                        )
                    )
    if Check.INSTALL in options.checks and targets.interpreters:
        forget(archive.name.name, options=options)
    return results


def verify_wheel(path: Path, *, options: VerifyOptions) -> WheelReport:
    """Every asked-for check on the wheel at ``path``."""
    started = time.monotonic()
    archive = inspect_archive(path, limits=options.limits)
    results: list[CheckResult] = []
    if Check.STRUCTURE in options.checks:
        results.append(structure_result(archive, time.monotonic() - started))
    later = [c for c in Check if c in options.checks and c is not Check.STRUCTURE]
    if archive.fatal:
        reason = "the archive is not safe to read: " + "; ".join(
            p.message for p in archive.problems if p.fatal
        )
        results.extend(_skip_all(later, reason))
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    elves = read_elves(path, archive, options.limits.max_member_bytes)
    if Check.PLATFORM in options.checks:
        results.append(check_platform(path, archive, elves))
    results.extend(_per_interpreter(path, archive, elves, options))
    return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)


def verify_wheels(
    paths: Sequence[Path],
    *,
    options: VerifyOptions,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify every wheel in ``paths`` (files, or folders searched recursively).

    Raises :class:`VerifyError` only when no wheel is found; every problem of a wheel is a
    finding in its :class:`WheelReport`. ``progress`` is called after each wheel.
    """
    started = time.monotonic()
    reports: list[WheelReport] = []
    for wheel in find_wheels(paths):
        report = verify_wheel(wheel, options=options)
        reports.append(report)
        if progress is not None:
            progress(report)
    return VerifyReport(wheels=tuple(reports), seconds=time.monotonic() - started)


def verify_packages(
    wheels: Mapping[str, Sequence[Path]],
    recipes: Iterable[LoadedRecipe],
    *,
    options: VerifyOptions,
    progress: Progress | None = None,
) -> tuple[WheelReport, ...]:
    """The gate of a build of one or more packages: each package's wheels (``wheels``, by
    project name) verified with ``options`` plus its own recipe's smoke test and optional
    modules. Packages without wheels are passed over."""
    reports: list[WheelReport] = []
    for loaded in recipes:
        paths = wheels.get(loaded.project_name) or ()
        if paths:
            package = with_recipe(options, loaded)
            reports += verify_wheels(paths, options=package, progress=progress).wheels
    return tuple(reports)


def foreign_wheel(filename: str, package: str) -> str | None:
    """Why a wheel the build of ``package`` left is not that package's (a build step that wrote
    another project's wheel into the output), or None."""
    name = wheel_project(filename)
    if name is None:
        return f"{filename} is not a wheel file name"
    if name != canonicalize_name(package):
        return f"{filename} is a wheel of {name}, not of {package}, the package that was built"
    return None


def gate_build(
    output: Path,
    recipes: Iterable[LoadedRecipe],
    *,
    options: VerifyOptions,
    progress: Progress | None = None,
) -> tuple[WheelReport, ...]:
    """The gate over a build's output folder, as ``wheelyard build`` and the farm's verify stage
    run it: each package's wheels of the record verified (dependencies also from the build's
    own variant folders: a plugin installs its core), each verdict saved into the record."""
    record = BuildRecord.load(output)
    options = replace(options, find_links=(*options.find_links, *record.variant_dirs(output)))
    by_name = {loaded.project_name: loaded for loaded in recipes}
    reports: list[WheelReport] = []
    for job in record.jobs:  # per job: its wheels get the torch they were built against
        loaded = by_name.get(job.package)
        if loaded is None or not job.wheels:
            continue
        package = with_recipe(with_torch(options, job.torch), loaded)
        own = []
        for wheel in job.wheels:
            if (reason := foreign_wheel(wheel.name, job.package)) is None:
                own.append(wheel)
            else:
                report = WheelReport(
                    path=output / wheel.path,
                    checks=(
                        failed(
                            Check.STRUCTURE,
                            reason,
                            (Finding(code="foreign-wheel", message=reason, path=wheel.name),),
                        ),
                    ),
                )
                reports.append(report)
                if progress is not None:
                    progress(report)
        paths = [output / wheel.path for wheel in own]
        reports += verify_wheels(paths, options=package, progress=progress).wheels
        if job.torch is not None and Check.INSTALL in options.checks:
            # torch and its CUDA dependencies unpack to several GB in uv's cache per version:
            # they are the wheelhouse's to keep, not the cache's (the job's wheels shared them)
            forget(*job.torch.projects(), options=options)
    if reports:
        record.with_verdicts({r.filename: r.verdict() for r in reports}).save(output)
    return tuple(reports)
