"""`wheelyard verify`: exit codes, the JSON report, --strict, --skip, bad input."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_verify_support import make_wheel, rewrite_zip

from wheelyard.verify.report import (
    REPORT_SCHEMA,
    Check,
    CheckResult,
    Finding,
    Outcome,
    WheelReport,
)

GOOD = {"demo/__init__.py": b"X = 1\n"}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\n\n'
        '[tool.wheelyard]\nsmoke-test = "smoke.py"\noptional-modules = ["demo.optional"]\n'
    )
    (root / "smoke.py").write_text("import demo\nassert demo.X == 1\n")
    return root


def verify(cli: Callable[..., Any], *args: str) -> Any:
    return cli("verify", "--python", sys.executable, *args)


def test_good_wheel_passes_with_exit_0_and_writes_the_report(
    cli: Callable[..., Any], tmp_path: Path, project: Path
) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, {**GOOD, "demo/optional.py": b"import not_installed\n"})
    report_path = tmp_path / "out" / "report.json"
    result = verify(cli, str(wheels), "--project", str(project), "--json", str(report_path))
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    assert report["schema"] == REPORT_SCHEMA
    assert report["ok"] is True
    assert report["summary"] == {"passed": 1, "failed": 0, "incomplete": 0}
    [wheel] = report["wheels"]
    assert wheel["wheel"] == "demo-1.0-py3-none-any.whl"
    assert [c["check"] for c in wheel["checks"]] == [
        "structure",
        "platform",
        "install",
        "imports",
        "smoke",
    ]
    imports = wheel["checks"][3]
    assert imports["notes"] == ["not imported: demo.optional"]  # the recipe's optional-modules
    assert "passed demo-1.0-py3-none-any.whl" in " ".join(result.stdout.split())


def test_failing_wheel_exits_1_and_names_the_finding(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    good = make_wheel(tmp_path, GOOD)
    (tmp_path / "bad").mkdir()
    bad = rewrite_zip(good, tmp_path / "bad" / good.name, replace={"demo/__init__.py": b"X = 2\n"})
    result = verify(cli, str(bad), "--json", "-")
    assert result.exit_code == 1
    report = json.loads(result.stdout)  # stdout is pure JSON with --json -
    [structure] = [c for c in report["wheels"][0]["checks"] if c["check"] == "structure"]
    assert [f["code"] for f in structure["findings"]] == ["record-hash-mismatch"]
    assert "1 of 1 wheel(s) failed verification: demo-1.0-py3-none-any.whl" in result.stderr


def test_strict_turns_skips_into_failure(cli: Callable[..., Any], tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, GOOD)
    relaxed = verify(cli, str(wheel))
    assert relaxed.exit_code == 0
    assert "incomplete" in relaxed.stdout
    strict = verify(cli, str(wheel), "--strict")
    assert strict.exit_code == 1
    assert "were not fully verified (--strict)" in strict.stderr


def test_skip_leaves_checks_out(cli: Callable[..., Any], tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, GOOD)
    result = verify(cli, str(wheel), "--skip", "smoke", "--skip", "imports", "--json", "-")
    checks = [c["check"] for c in json.loads(result.stdout)["wheels"][0]["checks"]]
    assert checks == ["structure", "platform", "install"]
    assert result.exit_code == 0


def test_no_wheel_is_bad_input(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = verify(cli, str(tmp_path))
    assert result.exit_code == 2
    assert f"no wheel found in {tmp_path}" in result.stderr
    missing = verify(cli, str(tmp_path / "nope.whl"))
    assert missing.exit_code == 2
    assert "no such file or folder" in missing.stderr


def test_a_bad_interpreter_is_bad_input(cli: Callable[..., Any], tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, GOOD)
    result = cli("verify", str(wheel), "--python", "/bin/false")
    assert result.exit_code == 2
    assert "/bin/false is not a working Python interpreter" in result.stderr


def test_a_wheel_verdict_names_the_first_finding_of_the_first_failure() -> None:
    report = WheelReport(
        path=Path("demo-1.0-cp312-cp312-linux_x86_64.whl"),
        checks=(
            CheckResult(check=Check.STRUCTURE, outcome=Outcome.PASS, message="ok"),
            CheckResult(
                check=Check.IMPORTS,
                outcome=Outcome.FAIL,
                message="1 of 2 modules failed to import",
                python="3.12",
                findings=(Finding(code="undeclared-dependency", message="demo.x imports yaml"),),
            ),
            CheckResult(check=Check.SMOKE, outcome=Outcome.SKIPPED, message="no smoke test"),
        ),
    )
    assert report.verdict().dump() == {
        "status": "failed",
        "failed": ["imports[3.12]"],
        "skipped": ["smoke"],
        "message": "imports[3.12]: demo.x imports yaml",
    }
