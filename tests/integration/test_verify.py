"""The verification gate and `wheelyard diff` on real wheels of examples/hello-c."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

HELLO_C = Path(__file__).parents[2] / "examples" / "hello-c"


def test_example_wheels_pass_every_check(
    cli: Callable[..., Any], hello_c_wheelhouse: Path, tmp_path: Path
) -> None:
    report_path = tmp_path / "verify.json"
    result = cli(
        "verify", str(hello_c_wheelhouse), "--project", str(HELLO_C), "--json", str(report_path)
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(report_path.read_text())
    wheels = report["wheels"]
    assert len(wheels) == len(list((hello_c_wheelhouse / "cpu").glob("*.whl"))) >= 1
    for wheel in wheels:
        # passed, not incomplete: every check ran (each interpreter exists on this host).
        assert wheel["status"] == "passed", json.dumps(wheel, indent=2)
        checks = [c["check"] for c in wheel["checks"]]
        assert checks == ["structure", "platform", "install", "imports", "smoke"]
        imports = wheel["checks"][3]
        assert imports["message"] == "imported all 2 modules: hello_c, hello_c._hello"
        platform = wheel["checks"][1]
        assert platform["facts"]["auditwheel_tag"].startswith("manylinux_")


def _cp312(wheelhouse: Path) -> Path:
    [wheel] = sorted((wheelhouse / "cpu").glob("*-cp312-*.whl"))
    return wheel


def test_two_builds_of_the_same_commit_are_equivalent(
    cli: Callable[..., Any],
    hello_c_wheelhouse: Path,
    build_example: Callable[..., Path],
    tmp_path: Path,
) -> None:
    again = build_example(HELLO_C, tmp_path / "again", environ={"WHEELYARD_PYTHON": "cp312"})
    result = cli("diff", str(_cp312(hello_c_wheelhouse)), str(_cp312(again)), "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["equivalent"] is True
    assert data["reasons"] == []
    [so] = data["elf_unchanged"]
    assert so.startswith("hello_c/_hello.cpython-312-")


def test_one_changed_compiler_flag_is_reported(
    cli: Callable[..., Any],
    hello_c_wheelhouse: Path,
    build_example: Callable[..., Path],
    copy_example: Callable[[Path, Path], Path],
    tmp_path: Path,
) -> None:
    project = copy_example(HELLO_C, tmp_path / "hello-c-O1")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'smoke-test = "tests/smoke_test.py"',
            'smoke-test = "tests/smoke_test.py"\nenvironment = { CFLAGS = "-O1" }',
        )
    )
    changed = build_example(project, tmp_path / "o1", environ={"WHEELYARD_PYTHON": "cp312"})
    result = cli("diff", str(_cp312(hello_c_wheelhouse)), str(_cp312(changed)), "--json")
    assert result.exit_code == 1, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["equivalent"] is False
    [elf] = data["elf"]
    assert elf["path"].startswith("hello_c/_hello.cpython-312-")
    assert ".text" in elf["sections_changed"]
    [so_change] = [f for f in data["files"] if f["path"] == elf["path"]]
    assert so_change["change"] == "changed"
    assert so_change["old_size"] != so_change["new_size"]
    human = cli("diff", str(_cp312(hello_c_wheelhouse)), str(_cp312(changed)))
    assert human.exit_code == 1
    assert "loaded sections that differ" in human.stdout
