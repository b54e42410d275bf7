"""Results of verification: per wheel, per check, each pass / fail / skipped with a reason.

A check that fails carries one :class:`Finding` per problem (a stable ``code`` and a precise
message); a check that is skipped says why. ``to_json`` gives the machine-readable report the
CLI writes with ``--json`` and the build records per wheel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from wheelyard.record import Verification, VerificationStatus

REPORT_SCHEMA = "wheelyard.verify/1"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"


class Check(StrEnum):
    """The checks, in the order they run."""

    STRUCTURE = "structure"
    PLATFORM = "platform"
    INSTALL = "install"
    IMPORTS = "imports"
    SMOKE = "smoke"
    GPU = "gpu"


WheelStatus = VerificationStatus
"""A wheel's status is the verdict its build record keeps."""


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem a check found."""

    code: str
    """Stable, kebab-case: ``record-hash-mismatch``, ``glibc-too-new``, ``import-crashed`` ..."""
    message: str
    path: str | None = None
    """The file in the wheel or the module it is about."""
    details: str | None = None
    """Longer evidence: a traceback, the tail of a tool's output."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.path is not None:
            data["path"] = self.path
        if self.details is not None:
            data["details"] = self.details
        return data


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    check: Check
    outcome: Outcome
    message: str
    """What passed, the summary of what failed, or why the check was skipped."""
    python: str | None = None
    """The interpreter (``3.12``) for install, imports and smoke; None for the others."""
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    """Observations that do not fail the check."""
    seconds: float = 0.0
    facts: Mapping[str, Any] = field(default_factory=dict)
    """What the check measured (auditwheel's tag, GPU name and driver ...), for the report."""

    @property
    def label(self) -> str:
        return f"{self.check}[{self.python}]" if self.python else str(self.check)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "check": str(self.check),
            "outcome": str(self.outcome),
            "message": self.message,
        }
        if self.python is not None:
            data["python"] = self.python
        data["findings"] = [f.to_json() for f in self.findings]
        if self.notes:
            data["notes"] = list(self.notes)
        if self.facts:
            data["facts"] = dict(self.facts)
        data["seconds"] = round(self.seconds, 3)
        return data


def passed(check: Check, message: str, **kwargs: Any) -> CheckResult:
    return CheckResult(check=check, outcome=Outcome.PASS, message=message, **kwargs)


def failed(check: Check, message: str, findings: tuple[Finding, ...], **kwargs: Any) -> CheckResult:
    return CheckResult(
        check=check, outcome=Outcome.FAIL, message=message, findings=findings, **kwargs
    )


def skipped(check: Check, reason: str, **kwargs: Any) -> CheckResult:
    return CheckResult(check=check, outcome=Outcome.SKIPPED, message=reason, **kwargs)


@dataclass(frozen=True, kw_only=True)
class WheelReport:
    path: Path
    checks: tuple[CheckResult, ...]
    seconds: float = 0.0

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def status(self) -> WheelStatus:
        outcomes = {c.outcome for c in self.checks}
        if Outcome.FAIL in outcomes:
            return WheelStatus.FAILED
        if Outcome.SKIPPED in outcomes:
            return WheelStatus.INCOMPLETE
        return WheelStatus.PASSED

    @property
    def ok(self) -> bool:
        """No check failed (skipped checks allowed): eligible for publishing."""
        return self.status is not WheelStatus.FAILED

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.outcome is Outcome.FAIL)

    def verdict(self) -> Verification:
        """The short form a build record keeps per wheel (publishing skips ``failed`` ones):
        status, failed and skipped check labels, and the first finding of the first failure."""
        message = None
        if self.failures:
            first = self.failures[0]
            detail = first.findings[0].message if first.findings else first.message
            message = f"{first.label}: {detail}"
        return Verification(
            status=self.status,
            failed=tuple(c.label for c in self.failures),
            skipped=tuple(c.label for c in self.checks if c.outcome is Outcome.SKIPPED),
            message=message,
        )

    def result(self, check: Check, python: str | None = None) -> CheckResult | None:
        for result in self.checks:
            if result.check is check and (python is None or result.python == python):
                return result
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "wheel": self.filename,
            "path": str(self.path),
            "status": str(self.status),
            "seconds": round(self.seconds, 3),
            "checks": [c.to_json() for c in self.checks],
        }


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    wheels: tuple[WheelReport, ...]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(w.ok for w in self.wheels)

    @property
    def complete(self) -> bool:
        return all(w.status is WheelStatus.PASSED for w in self.wheels)

    def by_status(self, status: WheelStatus) -> tuple[WheelReport, ...]:
        return tuple(w for w in self.wheels if w.status is status)

    def to_json(self) -> dict[str, Any]:
        counts = {str(s): len(self.by_status(s)) for s in WheelStatus}
        return {
            "schema": REPORT_SCHEMA,
            "ok": self.ok,
            "summary": counts,
            "seconds": round(self.seconds, 3),
            "wheels": [w.to_json() for w in self.wheels],
        }
