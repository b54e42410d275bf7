"""Platform honesty: does the wheel deliver what its tags promise?

- A pure wheel (``*-none-any``) holds no native code; a platform wheel holds some (an optional
  extension that silently fell back to pure Python is a finding, not a success).
- A ``manylinux``/``musllinux`` tag must be allowed by auditwheel's analysis; when it is not,
  the findings name the symbols (``pthread_create@GLIBC_2.34``), libraries or instruction sets
  that break it, and the lowest tag the wheel really satisfies.
- An ``abi3`` wheel must pass abi3audit (stable-ABI symbols only, none newer than its tag).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wheelyard import proc
from wheelyard.catalog.libraries import provided_by
from wheelyard.errors import ProcessError
from wheelyard.verify.report import Check, CheckResult, Finding, failed, passed, skipped
from wheelyard.wheel.elf import ElfInfo, split_version
from wheelyard.wheel.inspect import ArchiveReport

if TYPE_CHECKING:
    from auditwheel.policy import Policy, WheelPolicies  # type: ignore[import-untyped]
    from auditwheel.wheel_abi import WheelAbIInfo  # type: ignore[import-untyped]

POLICY_NAME = re.compile(r"^(?P<family>manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)_")
LINUX_PREFIXES = ("manylinux", "musllinux", "linux_")


class _Collect(logging.Handler):
    """Keeps auditwheel's warnings for the report instead of letting them reach stderr."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass(frozen=True, kw_only=True)
class _Analysis:
    info: WheelAbIInfo | None
    warnings: tuple[str, ...]
    error: str | None = None


def _analyze(path: Path, exclude: frozenset[str] = frozenset()) -> _Analysis:
    """auditwheel's analysis of ``path`` (its API, the same as ``auditwheel show``)."""
    # Imported here, not at module level: CLI start-up should not pay for auditwheel.
    from auditwheel.error import (  # type: ignore[import-untyped]
        AuditwheelError,
        WheelToolsError,
    )
    from auditwheel.wheel_abi import (
        analyze_wheel_abi,
        get_wheel_elfdata,
    )
    from auditwheel.wheeltools import (  # type: ignore[import-untyped]
        get_wheel_architecture,
        get_wheel_libc,
    )

    logger = logging.getLogger("auditwheel")
    handler = _Collect()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    get_wheel_elfdata.cache_clear()  # keyed by path: a rewritten wheel must be read again
    try:
        try:
            arch = get_wheel_architecture(path.name)
        except WheelToolsError:
            arch = None  # auditwheel then takes the architecture of the ELF files
        try:
            libc = get_wheel_libc(path.name)
        except WheelToolsError:
            libc = None  # linux_* tags name no libc: auditwheel detects it
        info = analyze_wheel_abi(
            libc, arch, path.resolve(), exclude, disable_isa_ext_check=False, allow_graft=False
        )
        return _Analysis(info=info, warnings=tuple(handler.messages))
    except (AuditwheelError, RuntimeError, ValueError, OSError, LookupError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        return _Analysis(
            info=None, warnings=tuple(handler.messages), error=" ".join(message.split())
        )
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _glibc(name: str) -> tuple[str, int, int] | None:
    match = POLICY_NAME.match(name)
    if match is None:
        return None
    return match["family"], int(match["major"]), int(match["minor"])


def _known_policy(policies: WheelPolicies, claimed: str) -> Policy | None:
    """auditwheel's policy for ``claimed`` (legacy aliases too), None when it has none.

    auditwheel knows only the glibc versions some distribution shipped (no manylinux_2_32 or
    2_33, nothing newer than its release): such tags are judged by their glibc version.
    """
    try:
        return policies.get_policy_by_name(claimed)
    except LookupError:
        return None


def _glibc_versions_above(
    claimed: tuple[str, int, int], versioned: Mapping[str, set[str]]
) -> set[str]:
    return {
        version
        for versions in versioned.values()
        for version in versions
        if (parsed := split_version(version)) is not None
        and parsed[0] == "GLIBC"
        and parsed[1][:2] > claimed[1:]
    }


def _satisfies(analysis: WheelAbIInfo, claimed: str) -> bool:
    overall = analysis.overall_policy
    known = _known_policy(analysis.policies, claimed)
    if known is not None:
        return bool(overall.priority >= known.priority)
    have, want = _glibc(overall.name), _glibc(claimed)
    if have is None or want is None or have[0] != want[0]:
        return False
    if want[0] == "musllinux":
        return have[1:] <= want[1:]
    return not _glibc_versions_above(want, analysis.versioned_symbols)


def _offending_versions(
    policy: Policy | None, claimed: str, versioned: Mapping[str, set[str]]
) -> set[str]:
    """Needed symbol versions the claimed tag does not allow."""
    if policy is None:
        want = _glibc(claimed)
        return _glibc_versions_above(want, versioned) if want is not None else set()
    bad: set[str] = set()
    for versions in versioned.values():
        for version in versions:
            prefix, _, number = version.partition("_")
            allowed = policy.symbol_versions.get(prefix)  # version numbers, no prefix
            if allowed is not None and number not in allowed:
                bad.add(version)
    return bad


def _tag_findings(
    claimed: str, analysis: WheelAbIInfo, elves: Mapping[str, ElfInfo]
) -> list[Finding]:
    overall = analysis.overall_policy
    known = _known_policy(analysis.policies, claimed)
    policy = known or analysis.policies.highest
    lowest = f"the lowest tag it satisfies is {overall.name}"
    if overall.priority == 0:
        lowest = f"auditwheel says it satisfies no manylinux/musllinux tag ({overall.name})"
    findings: list[Finding] = []
    bad_versions = _offending_versions(known, claimed, analysis.versioned_symbols)
    if bad_versions:
        needs = [
            f"{need} in {path}"
            for path, elf in sorted(elves.items())
            for need in elf.symbols_needing(bad_versions)
        ]
        what = ", ".join(needs) if needs else ", ".join(sorted(bad_versions))
        findings.append(
            Finding(
                code="symbol-version-too-new",
                message=f"claims {claimed}, but needs {what}, newer than {claimed} allows; "
                f"{lowest}",
                details="versions needed: "
                + "; ".join(
                    f"{lib}: {', '.join(sorted(v))}"
                    for lib, v in sorted(analysis.versioned_symbols.items())
                ),
            )
        )
    reference = analysis.external_refs.get(policy.name)
    if reference is not None:
        libs = sorted(reference.libs)
        if libs:
            findings.append(
                Finding(
                    code="library-not-allowed",
                    message=f"claims {claimed}, but needs {', '.join(libs)} from the system, "
                    f"which {claimed} does not allow (bundle them with auditwheel repair); "
                    f"{lowest}",
                )
            )
        for lib, symbols in sorted(reference.blacklist.items()):
            findings.append(
                Finding(
                    code="symbol-not-allowed",
                    message=f"claims {claimed}, but uses {', '.join(sorted(symbols))} from "
                    f"{lib}, which {claimed} forbids; {lowest}",
                )
            )
    if analysis.machine_policy.priority < policy.priority:
        findings.append(
            Finding(
                code="isa-extension",
                message=f"claims {claimed}, but its code needs instruction-set extensions "
                f"beyond the {analysis.policies.architecture.value} baseline; {lowest}",
            )
        )
    if not findings:
        findings.append(
            Finding(
                code="tag-not-satisfied",
                message=f"claims {claimed}, but {lowest}",
            )
        )
    return findings


def _auditwheel_result(
    path: Path,
    platforms: Sequence[str],
    elves: Mapping[str, ElfInfo],
    provided: Mapping[str, str],
) -> tuple[list[Finding], list[str], dict[str, Any]]:
    analysis = _analyze(path, frozenset(provided))
    notes = [f"auditwheel: {w}" for w in analysis.warnings]
    external = _provided_needs(elves, provided)
    if external:
        notes.append(
            "external by dependency: "
            + ", ".join(f"{lib} ({dist})" for lib, dist in sorted(external.items()))
            + " - the wheel requires the distribution that provides them"
        )
    if analysis.info is None:
        if all(claimed.startswith("linux_") for claimed in platforms):
            notes.append(f"auditwheel cannot analyse the wheel: {analysis.error}")
            return [], notes, {}
        finding = Finding(
            code="auditwheel-failed",
            message=f"auditwheel cannot analyse the wheel: {analysis.error}",
        )
        return [finding], notes, {}
    info = analysis.info
    facts: dict[str, Any] = {
        "provided_by_dependencies": dict(sorted(external.items())),
        "auditwheel_tag": info.overall_policy.name,
        "symbol_versions": {k: sorted(v) for k, v in sorted(info.versioned_symbols.items())},
    }
    findings: list[Finding] = []
    for claimed in platforms:
        if claimed.startswith("linux_"):
            notes.append(
                f"{claimed} promises nothing beyond the build machine; auditwheel says the "
                f"wheel could be tagged {info.overall_policy.name}"
            )
            continue
        if not _satisfies(info, claimed):
            findings.extend(_tag_findings(claimed, info, elves))
    return findings, notes, facts


def _abi3audit(path: Path, timeout: float) -> tuple[list[Finding], dict[str, Any]]:
    """Run abi3audit (its CLI's JSON report) on an abi3 wheel."""
    with tempfile.TemporaryDirectory(prefix="wheelyard-abi3-") as tmp:
        report = Path(tmp) / "abi3.json"
        try:
            result = proc.run(
                [sys.executable, "-m", "abi3audit", "--report", "-o", str(report), str(path)],
                timeout=timeout,
                check=False,
                env={**os.environ, "NO_COLOR": "1"},
            )
        except ProcessError as exc:
            return [
                Finding(code="abi3audit-failed", message=exc.message, details=exc.output_tail)
            ], {}
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return [
                Finding(
                    code="abi3audit-failed",
                    message=f"abi3audit exited with status {result.returncode} and no report",
                    details=result.tail or None,
                )
            ], {}
    findings: list[Finding] = []
    objects = data.get("specs", {}).get(str(path), {}).get("wheel", [])
    for entry in objects:
        name, result_data = entry.get("name", "?"), entry.get("result", {})
        non_abi3 = sorted(result_data.get("non_abi3_symbols", []))
        if non_abi3:
            findings.append(
                Finding(
                    code="abi3-violation",
                    message=f"{name} is tagged abi3 but uses symbols outside the stable ABI: "
                    f"{', '.join(non_abi3)}",
                    path=name,
                )
            )
        if not result_data.get("is_abi3_baseline_compatible", True):
            future = result_data.get("future_abi3_objects", {})
            listed = ", ".join(f"{sym} (added in {ver})" for sym, ver in sorted(future.items()))
            findings.append(
                Finding(
                    code="abi3-too-new",
                    message=f"{name} is tagged for the Python {result_data.get('baseline')} "
                    f"stable ABI but uses the {result_data.get('computed')} one: {listed}",
                    path=name,
                )
            )
    return findings, {"abi3audit": objects}


def _provided_needs(elves: Mapping[str, ElfInfo], provided: Mapping[str, str]) -> dict[str, str]:
    """The needed libraries a required distribution provides -> that distribution."""
    found: dict[str, str] = {}
    for elf in elves.values():
        for lib in elf.needed:
            dist = next((d for pattern, d in provided.items() if fnmatch(lib, pattern)), None)
            if dist is not None:
                found[lib] = dist
    return found


def check_platform(
    path: Path,
    archive: ArchiveReport,
    elves: Mapping[str, ElfInfo],
    *,
    timeout: float = 300.0,
) -> CheckResult:
    """The platform-honesty check of one wheel whose archive is safe to read.

    Libraries a required distribution provides at run time (torch's ``libc10.so`` for a wheel
    that requires torch: ``catalog.libraries``) are external by design, as repair left them."""
    metadata = archive.metadata.metadata if archive.metadata is not None else None
    requires = metadata.requires_dist or () if metadata is not None else ()
    provided = provided_by(str(r) for r in requires)
    started = time.monotonic()
    assert archive.name is not None
    tags = archive.name.tags
    platforms = sorted({tag.platform for tag in tags})
    findings: list[Finding] = []
    notes: list[str] = []
    facts: dict[str, Any] = {"binaries": list(archive.binaries)}
    done: list[str] = []
    if archive.name.is_pure:
        if archive.binaries:
            findings.append(
                Finding(
                    code="binary-in-pure-wheel",
                    message=f"tagged {', '.join(sorted(str(t) for t in tags))} (pure Python) "
                    f"but holds native code: {', '.join(archive.binaries)}",
                    path=archive.binaries[0],
                )
            )
        else:
            done.append("pure wheel without native code")
    elif not archive.binaries:
        findings.append(
            Finding(
                code="no-binary",
                message=f"tagged {', '.join(sorted(str(t) for t in tags))} but holds no native "
                "code: did an optional extension fail to compile and fall back to pure Python?",
            )
        )
    else:
        done.append(f"{len(archive.binaries)} native file(s)")
        linux = [p for p in platforms if p.startswith(LINUX_PREFIXES)]
        if linux:
            found, more_notes, more_facts = _auditwheel_result(path, linux, elves, provided)
            findings.extend(found)
            notes.extend(more_notes)
            facts.update(more_facts)
            promised = [p for p in linux if not p.startswith("linux_")]
            if not found and promised:
                done.append(
                    f"auditwheel allows {', '.join(promised)} "
                    f"(lowest satisfied: {more_facts.get('auditwheel_tag')})"
                )
        other = [p for p in platforms if not p.startswith(LINUX_PREFIXES)]
        if other and not linux:
            return skipped(
                Check.PLATFORM,
                f"auditwheel checks Linux wheels only; {', '.join(other)} is not checked",
                notes=tuple(notes),
                seconds=time.monotonic() - started,
                facts=facts,
            )
        if any(tag.abi == "abi3" for tag in tags):
            found, more_facts = _abi3audit(path, timeout)
            findings.extend(found)
            facts.update(more_facts)
            if not found:
                done.append("abi3audit finds only stable-ABI symbols")
    seconds = time.monotonic() - started
    if findings:
        return failed(
            Check.PLATFORM,
            f"the wheel does not deliver what its tags promise ({len(findings)} finding"
            f"{'s' if len(findings) != 1 else ''})",
            tuple(findings),
            notes=tuple(notes),
            seconds=seconds,
            facts=facts,
        )
    return passed(Check.PLATFORM, "; ".join(done), notes=tuple(notes), seconds=seconds, facts=facts)
