"""Checks on wheels and the clean-install gate (``wheelyard verify``, ``wheelyard smoke``).

The build gate calls :func:`verify_wheels`; a wheel whose :class:`WheelReport` is not ``ok``
is not eligible for publishing.
"""

from wheelyard.verify.gate import (
    find_wheels,
    gate_build,
    verify_packages,
    verify_wheel,
    verify_wheels,
)
from wheelyard.verify.interpreters import Interpreter, discover_interpreters, query_interpreter
from wheelyard.verify.options import SmokeTest, VerifyOptions, with_recipe
from wheelyard.verify.report import (
    Check,
    CheckResult,
    Finding,
    Outcome,
    VerifyReport,
    WheelReport,
    WheelStatus,
)

__all__ = [
    "Check",
    "CheckResult",
    "Finding",
    "Interpreter",
    "Outcome",
    "SmokeTest",
    "VerifyOptions",
    "VerifyReport",
    "WheelReport",
    "WheelStatus",
    "discover_interpreters",
    "find_wheels",
    "gate_build",
    "query_interpreter",
    "verify_packages",
    "verify_wheel",
    "verify_wheels",
    "with_recipe",
]
