"""The GPU smoke stage: on a GPU runner, check the GPU suits the wheel's variant, then run the
smoke test in a clean environment.

A variant's needs come from the catalog: the vendor (its kind), the lowest driver
(``min-driver``), the CUDA version (``toolkit``) and the GPU architectures compiled
(``arch-list``). A wheel's variant is ``--variant``, else its local version (``+cu130``), else
the name of the wheelhouse folder it sits in (``wheelhouse/cu130/``).
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

from wheelyard.catalog import Catalog
from wheelyard.config.accelerator import VariantEntry
from wheelyard.config.vocab import AcceleratorKind
from wheelyard.host.gpu import GpuInventory
from wheelyard.verify.gate import find_wheels, structure_result
from wheelyard.verify.install import install
from wheelyard.verify.interpreters import host_platforms, select_targets
from wheelyard.verify.options import VerifyOptions
from wheelyard.verify.report import (
    Check,
    CheckResult,
    Finding,
    Outcome,
    VerifyReport,
    WheelReport,
    failed,
    passed,
    skipped,
)
from wheelyard.verify.smoke import run_smoke_test
from wheelyard.wheel.archive import WheelName
from wheelyard.wheel.inspect import inspect_archive

NO_GPU = "no-gpu"
"""``facts["skip"]`` of a GPU check skipped because the machine has no suitable GPU."""


@dataclass(frozen=True, kw_only=True)
class GpuSmokeOptions:
    verify: VerifyOptions
    catalog: Catalog
    inventory: GpuInventory
    variant: str | None = None
    """Force this variant for every wheel (else: local version, then folder name)."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def wheel_variant(
    path: Path, name: WheelName | None, catalog: Catalog, forced: str | None
) -> str | None:
    if forced is not None:
        return forced
    if name is not None and name.version.local and name.version.local in catalog.variants:
        return name.version.local
    if path.parent.name in catalog.variants:
        return path.parent.name
    return None


def _arch_entries(arch_list: str | None) -> list[tuple[tuple[int, ...], bool]]:
    """``7.5;8.0;9.0+PTX`` -> [((7, 5), False), ((8, 0), False), ((9, 0), True)]."""
    entries = []
    for raw in re.split(r"[;,\s]+", arch_list or ""):
        if not raw:
            continue
        ptx = raw.upper().endswith("+PTX")
        entries.append((_version_tuple(raw.upper().removesuffix("+PTX")), ptx))
    return entries


def gpu_requirement_findings(
    variant: str, entry: VariantEntry, inventory: GpuInventory
) -> list[Finding]:
    """What keeps the GPUs in ``inventory`` from running ``variant``'s wheels (empty: nothing)."""
    findings: list[Finding] = []
    if entry.min_driver and inventory.driver:
        if _version_tuple(inventory.driver) < _version_tuple(entry.min_driver):
            findings.append(
                Finding(
                    code="gpu-driver-too-old",
                    message=f"driver {inventory.driver} is older than {entry.min_driver}, which "
                    f"CUDA {entry.toolkit} ({variant}) needs",
                )
            )
    elif entry.min_driver:
        findings.append(
            Finding(code="gpu-driver-unknown", message="the driver version could not be read")
        )
    if (
        entry.toolkit
        and inventory.cuda
        and _version_tuple(inventory.cuda) < _version_tuple(entry.toolkit)[:2]
    ):
        findings.append(
            Finding(
                code="gpu-cuda-too-old",
                message=f"the driver supports CUDA {inventory.cuda}; {variant} is built with "
                f"CUDA {entry.toolkit}",
            )
        )
    arches = _arch_entries(entry.arch_list)
    if arches:
        for gpu in inventory.gpus:
            have = _version_tuple(gpu.compute_capability)
            runs = any(have == arch or (ptx and have >= arch) for arch, ptx in arches)
            if not runs:
                findings.append(
                    Finding(
                        code="gpu-arch-not-built",
                        message=f"GPU {gpu.index} ({gpu.name}) has compute capability "
                        f"{gpu.compute_capability}; {variant} is compiled for "
                        f"{entry.arch_list} only",
                    )
                )
    return findings


def check_gpu(variant: str, entry: VariantEntry, inventory: GpuInventory) -> CheckResult:
    facts = {"variant": variant, **inventory.to_json()}
    if entry.kind is not AcceleratorKind.CUDA:
        return skipped(
            Check.GPU,
            f"no GPU: detecting {entry.kind} GPUs is not implemented (only NVIDIA)",
            facts={**facts, "skip": NO_GPU},
        )
    if not inventory.present:
        return skipped(
            Check.GPU,
            f"no GPU: {inventory.reason or 'none found'}",
            facts={**facts, "skip": NO_GPU},
        )
    findings = gpu_requirement_findings(variant, entry, inventory)
    described = ", ".join(
        f"{gpu.name} (compute capability {gpu.compute_capability})" for gpu in inventory.gpus
    )
    where = f"{described}; driver {inventory.driver} (CUDA {inventory.cuda or '?'})"
    if findings:
        return failed(
            Check.GPU, f"the GPU does not suit {variant}: {where}", tuple(findings), facts=facts
        )
    needs = f"driver >= {entry.min_driver}" if entry.min_driver else "any driver"
    return passed(Check.GPU, f"{where} suits {variant} ({needs})", facts=facts)


def gpu_smoke_wheel(path: Path, options: GpuSmokeOptions) -> WheelReport:
    started = time.monotonic()
    verify = options.verify
    archive = inspect_archive(path, limits=verify.limits)
    variant = wheel_variant(path, archive.name, options.catalog, options.variant)
    results: list[CheckResult] = []
    if archive.fatal or archive.name is None:
        results.append(structure_result(archive, time.monotonic() - started))
        results.append(skipped(Check.GPU, "the archive is not safe to read"))
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    if variant is None:
        results.append(
            skipped(
                Check.GPU,
                "cannot tell the wheel's variant (no +<variant> local version, not in a "
                "<variant>/ folder); pass --variant",
            )
        )
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    entry = options.catalog.variants.get(variant)
    if entry is None:
        known = ", ".join(options.catalog.variants)
        results.append(
            failed(
                Check.GPU,
                f"unknown variant {variant}",
                (
                    Finding(
                        code="unknown-variant", message=f"{variant} is not in the catalog ({known})"
                    ),
                ),
            )
        )
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    if entry.kind is AcceleratorKind.CPU:
        results.append(
            skipped(
                Check.GPU, f"{variant} is not a GPU variant (`wheelyard verify` smoke-tests it)"
            )
        )
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    gpu_result = check_gpu(variant, entry, options.inventory)
    results.append(gpu_result)
    if gpu_result.outcome is not Outcome.PASS:
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    if verify.smoke_test is None:
        results.append(
            failed(
                Check.SMOKE,
                "no smoke test to run on the GPU",
                (
                    Finding(
                        code="no-smoke-test",
                        message="the recipe has no smoke-test (pass --project PATH)",
                    ),
                ),
            )
        )
        return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)
    metadata = archive.metadata.metadata if archive.metadata else None
    requires: SpecifierSet | None = metadata.requires_python if metadata else None
    platforms = verify.platforms if verify.platforms is not None else host_platforms()
    targets = select_targets(archive.name.tags, requires, verify.interpreters, platforms)
    if not targets.interpreters:
        results.append(skipped(Check.SMOKE, targets.reason or "no interpreter"))
    for interpreter in targets.interpreters:
        with tempfile.TemporaryDirectory(prefix="wheelyard-gpu-", dir=verify.work_dir) as tmp:
            install_result, environment = install(path, interpreter, Path(tmp) / "venv", verify)
            results.append(install_result)
            if environment is None:
                results.append(
                    skipped(Check.SMOKE, "the wheel did not install", python=interpreter.label)
                )
                continue
            results.append(
                run_smoke_test(
                    verify.smoke_test,
                    environment,
                    wheel=path.resolve(),
                    run_dir=Path(tmp) / "smoke",
                    timeout=verify.smoke_timeout,
                    extra_env=verify.smoke_environment,
                    facts={"gpu": gpu_result.message},
                )
            )
    return WheelReport(path=path, checks=tuple(results), seconds=time.monotonic() - started)


def gpu_smoke(paths: Sequence[Path], options: GpuSmokeOptions) -> VerifyReport:
    """The GPU smoke stage for every wheel in ``paths`` (files, or folders searched)."""
    started = time.monotonic()
    reports = tuple(gpu_smoke_wheel(path, options) for path in find_wheels(paths))
    return VerifyReport(wheels=reports, seconds=time.monotonic() - started)


def skipped_for_no_gpu(report: WheelReport) -> bool:
    result = report.result(Check.GPU)
    return (
        result is not None
        and result.outcome is Outcome.SKIPPED
        and result.facts.get("skip") == NO_GPU
    )
