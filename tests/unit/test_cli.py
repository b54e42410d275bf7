"""The CLI: exit codes, machine formats, errors without tracebacks, --debug with one."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]


def test_plan_table_counts(cli: Cli, projects: Path) -> None:
    result = cli("plan", str(projects / "matrix-4x6"))
    assert result.exit_code == 0
    assert "matrix-demo: 4 jobs, 24 wheels (per-variant)" in result.stdout
    # The resolved configuration is echoed with its sources (on stderr).
    assert "variants      cpu, cu126, cu128, cu130" in result.stderr
    assert "[tool.wheelyard]" in result.stderr


def test_plan_json(cli: Cli, projects: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = cli("plan", str(projects / "matrix-4x6"), "-f", "json", "-o", str(out))
    data = json.loads(result.stdout)
    assert [job["id"] for job in data["jobs"]] == [
        "linux-x86_64-cpu",
        "linux-x86_64-cu126",
        "linux-x86_64-cu128",
        "linux-x86_64-cu130",
    ]
    assert json.loads(out.read_text())["jobs"] == data["jobs"]
    assert result.stderr == ""  # machine formats keep stderr quiet


def test_plan_github_and_variant_filter(cli: Cli, projects: Path) -> None:
    result = cli("plan", str(projects / "matrix-4x6"), "-f", "github", "-v", "cu128", "-v", "cpu")
    include = json.loads(result.stdout)["include"]
    assert [e["variant"] for e in include] == ["cpu", "cu128"]


def test_plan_cost_three_columns(cli: Cli, projects: Path, tmp_path: Path) -> None:
    timings = tmp_path / "t.json"
    timings.write_text('{"parameters": {"native_core_s": 30, "binding_s": 5}}')
    result = cli("plan", str(projects / "matrix-4x6"), "--cost", "--timings", str(timings))
    assert result.exit_code == 0
    for column in ("fan-out", "consolidated", "consolidated+split", "GPU-minutes"):
        assert column in result.stdout
    assert f"parameters ({timings})" in result.stdout
    data = json.loads(cli("plan", str(projects / "matrix-4x6"), "--cost", "-f", "json").stdout)
    assert set(data["cost"]["scenarios"]) == {"fan-out", "consolidated", "consolidated+split"}


@pytest.mark.parametrize(
    ("project", "fragment"),
    [
        ("unknown-keys", "varients: unknown key (did you mean 'variants'?)"),
        ("bad-toml", "TOML syntax error"),
        ("cu118-nightly", "not offered on the nightly channel"),
        ("requires-py", "conflicts with requires-python"),
        ("does-not-exist", "no pyproject.toml found"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(
    cli: Cli, projects: Path, project: str, fragment: str
) -> None:
    result = cli("plan", str(projects / project))
    assert result.exit_code == 2
    assert fragment in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert "hint:" in result.stderr


def test_empty_matrix_exit_code(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.wheelyard]\npython = ["cp399"]\n')
    result = cli("plan", str(tmp_path))
    assert result.exit_code == 2
    assert "the build matrix is empty: cp399 is not available on linux-x86_64" in result.stderr


def test_debug_shows_the_traceback(projects: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wheelyard", "--debug", "plan", str(projects / "unknown-keys")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    assert "ConfigError" in proc.stderr


def test_usage_error_exit_code(cli: Cli) -> None:
    result = cli("plan", "--format", "yaml")
    assert result.exit_code == 2


def test_config_show_json_names_sources(cli: Cli, projects: Path) -> None:
    data = json.loads(
        cli("config", "show", str(projects / "profiles"), "-p", "pr", "--json").stdout
    )
    assert data["recipe"]["python"] == ["cp312"]
    assert data["sources"]["python"].endswith("[tool.wheelyard] (profile)")
    assert data["sources"]["channel"] == "built-in default"


def test_version_flag(cli: Cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("wheelyard ")


def test_plan_of_a_multi_package_repository_plans_each_package(cli: Any) -> None:
    root = Path(__file__).parents[2] / "examples" / "multi-package"
    result = cli("plan", str(root), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [p["package"] for p in data["packages"]] == ["yardstream", "yardstream-s3"]
    github = json.loads(cli("plan", str(root), "--format", "github").stdout)
    assert [(e["package"], e["package_dir"]) for e in github["include"]] == [
        ("yardstream", "core"),
        ("yardstream-s3", "plugin-s3"),
    ]


def test_a_listed_package_without_pyproject_is_a_clear_error(cli: Any, tmp_path: Any) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.wheelyard]\npackages = ["core", "missing"]\n')
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "pyproject.toml").write_text('[project]\nname = "core"\nversion = "1"\n')
    result = cli("plan", str(tmp_path))
    assert result.exit_code == 1
    assert "packages: missing has no pyproject.toml" in result.stderr


def test_build_of_an_unknown_job_is_refused_before_anything_runs(cli: Any) -> None:
    root = Path(__file__).parents[2] / "examples" / "hello-c"
    result = cli("build", str(root), "--job", "linux-x86_64-cu999", "--output", "/nonexistent")
    assert result.exit_code == 2
    assert "--job linux-x86_64-cu999: no such job in the plan" in result.stderr
    assert "planned jobs: linux-x86_64-cpu" in result.stderr


def test_a_build_where_no_job_can_run_here_exits_3_not_1(cli: Cli, tmp_path: Path) -> None:
    """Every planned job needs another runner (macOS): nothing failed, nothing was built."""
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1.0"\n[tool.wheelyard]\nplatforms = ["macos-arm64"]\n'
    )
    result = cli("build", str(project), "--output", str(tmp_path / "out"))
    assert result.exit_code == 3
    assert "no job ran on this machine, so no wheel was built" in result.stderr
    record = json.loads((tmp_path / "out" / "build-record.json").read_text())
    assert [job["status"] for job in record["jobs"]] == ["skipped"]
