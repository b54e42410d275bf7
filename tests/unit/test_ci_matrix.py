"""The workflow's matrices at run time, `--explain`, and the shell the generated jobs run."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wheelyard.ci import GeneratorOptions, generator
from wheelyard.ci.github_matrix import (
    GITHUB_MATRIX_LIMIT,
    derive_matrices,
    setup_python_versions,
    wheel_prefix,
)
from wheelyard.ci.yaml_text import load_yaml
from wheelyard.config import load_recipe
from wheelyard.errors import CiError

Cli = Callable[..., Any]

REPO = Path(__file__).parents[2]
CUDA_KERNELS = REPO / "examples" / "cuda-kernels"
MULTI = REPO / "examples" / "multi-package"


def run_time_matrices(cli: Cli, tmp_path: Path, project: Path) -> dict[str, Any]:
    """What the plan job computes: `wheelyard plan --format github`, then `ci github-matrix`."""
    planned = cli("plan", str(project), "--format", "github")
    assert planned.exit_code == 0, planned.stderr
    matrix_file = tmp_path / "plan-matrix.json"
    matrix_file.write_text(planned.stdout, encoding="utf-8")
    derived = cli("ci", "github-matrix", str(matrix_file))
    assert derived.exit_code == 0, derived.stderr
    outputs = dict(line.split("=", 1) for line in derived.stdout.splitlines())
    assert set(outputs) == {"matrix", "smoke-matrix", "build-count", "smoke-count"}
    return {
        "build": json.loads(outputs["matrix"])["include"],
        "smoke": json.loads(outputs["smoke-matrix"])["include"],
        "build-count": int(outputs["build-count"]),
        "smoke-count": int(outputs["smoke-count"]),
    }


# --- consolidation decides the job count at run time -------------------------------------------


@pytest.mark.parametrize(
    ("consolidation", "builds", "smokes"),
    [(None, 4, 3), ("per-python", 24, 18), ("groups=2", 8, 6)],
)
def test_consolidation_changes_the_jobs_without_regenerating(
    cli: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    consolidation: str | None,
    builds: int,
    smokes: int,
) -> None:
    # The one workflow file, generated once, whatever the recipe says.
    text = generator("github").generate(GeneratorOptions(wheelyard_version="0.1.0"))[0].text
    jobs = load_yaml(text)["jobs"]
    assert jobs["build"]["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert jobs["smoke"]["strategy"]["matrix"] == (
        "${{ fromJSON(needs.plan.outputs.smoke-matrix) }}"
    )
    if consolidation is not None:
        monkeypatch.setenv("WHEELYARD_CONSOLIDATION", consolidation)
    got = run_time_matrices(cli, tmp_path, CUDA_KERNELS)
    assert (got["build-count"], got["smoke-count"]) == (builds, smokes)
    assert (len(got["build"]), len(got["smoke"])) == (builds, smokes)
    per_variant = builds // 4
    for variant in ("cpu", "cu126", "cu128", "cu130"):
        assert sum(e["variant"] == variant for e in got["build"]) == per_variant
    assert {e["variant"] for e in got["smoke"]} == {"cu126", "cu128", "cu130"}
    assert {e["validation_runner"] for e in got["smoke"]} == {"linux-x86_64-cuda"}
    assert {e["build_runner"] for e in got["build"]} == {"ubuntu-24.04"}
    # Every wheel is built exactly once, whatever the grouping.
    assert sum(int(e["wheels"]) for e in got["build"]) == 24


def test_default_plan_one_build_job_per_variant_smoke_only_for_gpu(
    cli: Cli, tmp_path: Path
) -> None:
    got = run_time_matrices(cli, tmp_path, CUDA_KERNELS)
    assert [e["id"] for e in got["build"]] == [
        "linux-x86_64-cpu",
        "linux-x86_64-cu126",
        "linux-x86_64-cu128",
        "linux-x86_64-cu130",
    ]
    assert [e["id"] for e in got["smoke"]] == [
        "linux-x86_64-cu126",
        "linux-x86_64-cu128",
        "linux-x86_64-cu130",
    ]
    smoke = got["smoke"][0]
    assert smoke["python_versions"] == "3.10\n3.11\n3.12\n3.13\n3.14\n3.15"
    assert (smoke["package_dirs"], smoke["wheel_prefixes"]) == (".", "")
    assert all(isinstance(v, str) for e in got["build"] + got["smoke"] for v in e.values())


def test_multi_package_builds_each_job_id_once(cli: Cli, tmp_path: Path) -> None:
    got = run_time_matrices(cli, tmp_path, MULTI)
    assert got["build-count"] == 1 and got["smoke-count"] == 0
    entry = got["build"][0]
    assert entry["id"] == "linux-x86_64-cpu"
    assert entry["packages"] == "yardstream yardstream-s3"
    assert entry["wheels"] == "12"
    assert "package" not in entry and "package_dir" not in entry


def test_multi_package_smoke_tests_each_gpu_package() -> None:
    def entry(package: str, directory: str, gpu: bool) -> dict[str, str]:
        return {
            "id": "linux-x86_64-cu130",
            "variant": "cu130",
            "pythons": "cp312 cp313",
            "test_pythons": "cp312 cp313",
            "build_runner": "ubuntu-24.04",
            "validation_runner": "gpu",
            "gpu_test": "true" if gpu else "false",
            "package": package,
            "package_dir": directory,
        }

    matrices = derive_matrices(
        {"include": [entry("My.Core", "core", True), entry("plug-in", "plugin", True)]}
    )
    (smoke,) = matrices.smoke
    assert smoke["package_dirs"] == "core plugin"
    assert smoke["wheel_prefixes"] == "my_core- plug_in-"
    only_core = derive_matrices(
        {"include": [entry("My.Core", "core", True), entry("plug-in", "plugin", False)]}
    )
    assert only_core.smoke[0]["package_dirs"] == "core"


def test_helpers() -> None:
    assert setup_python_versions(["cp310", "cp314t", "cp310", "abi3"]) == "3.10\n3.14t"
    assert wheel_prefix("Cuda.Kernels__x") == "cuda_kernels_x-"


# --- bad plan matrices --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "not a plan matrix"),
        ('{"include": []}', "has no job"),
        ('{"include": [{"id": "x", "variant": 1}]}', "missing pythons"),
        ('{"include": [{"id": "x", "variant": 1}]}', "not strings: variant"),
    ],
)
def test_bad_plan_matrix_is_bad_input(cli: Cli, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    result = cli("ci", "github-matrix", str(path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_matrix_past_github_limit() -> None:
    entry = {
        "variant": "cpu",
        "pythons": "cp312",
        "test_pythons": "cp312",
        "build_runner": "r",
        "validation_runner": "r",
        "gpu_test": "false",
    }
    include = [{**entry, "id": f"j{i}"} for i in range(GITHUB_MATRIX_LIMIT + 1)]
    with pytest.raises(CiError, match="at most 256"):
        derive_matrices({"include": include})
    assert len(derive_matrices({"include": include[:-1]}).build) == GITHUB_MATRIX_LIMIT


# --- --explain ----------------------------------------------------------------------------------


def test_explain_json_for_cuda_kernels(cli: Cli, tmp_path: Path) -> None:
    result = cli("ci", "github", str(CUDA_KERNELS), "--explain", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["package"] == "cuda-kernels"
    workflow = data["workflow"]
    assert workflow["counts"] == {"plan": 1, "build": 4, "smoke": 3, "publish": 1}
    jobs = workflow["jobs"]
    builds = [j for j in jobs if j["kind"] == "build"]
    smokes = [j for j in jobs if j["kind"] == "smoke"]
    assert [j["variant"] for j in builds] == ["cpu", "cu126", "cu128", "cu130"]
    assert {j["runs_on"] for j in builds} == {"ubuntu-24.04"}
    assert [j["variant"] for j in smokes] == ["cu126", "cu128", "cu130"]
    assert {j["runs_on"] for j in smokes} == {"linux-x86_64-cuda"}
    assert [j["kind"] for j in (jobs[0], jobs[-1])] == ["plan", "publish"]
    # Explain agrees with what the plan job derives at run time.
    got = run_time_matrices(cli, tmp_path, CUDA_KERNELS)
    assert [j["name"] for j in builds] == [f"build {e['id']}" for e in got["build"]]
    assert [j["name"] for j in smokes] == [f"smoke {e['id']}" for e in got["smoke"]]
    cost = data["cost"]["cuda-kernels"]["scenarios"]
    assert cost["fan-out"]["jobs"] == 24
    assert (cost["consolidated+split"]["build_jobs"], cost["consolidated+split"]["test_jobs"]) == (
        4,
        3,
    )


def test_explain_table_follows_the_recipe(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    result = cli("ci", "github", str(CUDA_KERNELS), "--explain")
    assert result.exit_code == 0, result.stderr
    assert "runs 9 jobs: 1 plan + 4 build + 3 smoke + 1 publish" in result.stdout
    assert "cost: today's fan-out vs wheelyard" in result.stdout
    assert "consolidated+split" in result.stdout
    assert "variants      cpu, cu126, cu128, cu130" in result.stderr
    monkeypatch.setenv("WHEELYARD_CONSOLIDATION", "groups=2")
    result = cli("ci", "github", str(CUDA_KERNELS), "--explain")
    assert "runs 16 jobs: 1 plan + 8 build + 6 smoke + 1 publish" in result.stdout


# --- the shell the jobs run (bash, with a stand-in `wheelyard`) ---------------------------------


def step(job: str, name_start: str) -> dict[str, Any]:
    text = generator("github").generate(GeneratorOptions(wheelyard_version="0.1.0"))[0].text
    document = load_yaml(text)
    return next(s for s in document["jobs"][job]["steps"] if s["name"].startswith(name_start))


def run_step(
    tmp_path: Path, job: str, name_start: str, env: dict[str, str], exit_code: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    """Run a generated step's script in bash; `wheelyard` records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "wheelyard"
    fake.write_text(
        '#!/usr/bin/env bash\nprintf "%s\\0" "$@" >> "$CALLS"; printf "\\n" >> "$CALLS"\n'
        f"exit {exit_code}\n",
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    calls = tmp_path / "calls"
    calls.write_text("", encoding="utf-8")
    the_step = step(job, name_start)
    full_env = {
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
        "CALLS": str(calls),
        "PACKAGE_PATH": "source/.",
        **dict.fromkeys(the_step.get("env", {}), ""),
        **env,
    }
    result = subprocess.run(
        ["bash", "-c", the_step["run"]],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    recorded = [
        [arg for arg in line.split("\0") if arg]
        for line in calls.read_text(encoding="utf-8").splitlines()
        if line
    ]
    return result, recorded


needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@needs_bash
def test_smoke_without_gpu_fails_the_job(tmp_path: Path) -> None:
    (tmp_path / "wheelhouse" / "cu130").mkdir(parents=True)
    (tmp_path / "wheelhouse" / "cu130" / "k-1.0-cp312-cp312-linux_x86_64.whl").write_bytes(b"")
    env = {
        "VARIANT": "cu130",
        "PACKAGE_DIRS": ".",
        "WHEEL_PREFIXES": "",
        "RUNNER_LABEL": "linux-x86_64-cuda",
        "IN_SMOKE_ENV": "CUDA_KERNELS_REQUIRE_GPU=1 A=b",
        "IN_DEPENDENCY_INDEX_URL": "https://pypi.org/simple/",
    }
    result, calls = run_step(tmp_path, "smoke", "GPU smoke test", env, exit_code=3)
    assert result.returncode == 3
    assert "::error::no GPU for cu130 on runner 'linux-x86_64-cuda'" in result.stdout
    assert calls == [
        [
            "smoke",
            "--gpu",
            "wheelhouse/cu130/k-1.0-cp312-cp312-linux_x86_64.whl",
            "--variant",
            "cu130",
            "--project",
            "source/./.",
            "--find-links",
            "wheelhouse/cu130",
            "--sandbox",
            "host",
            "--env",
            "CUDA_KERNELS_REQUIRE_GPU=1",
            "--env",
            "A=b",
            "--index-url",
            "https://pypi.org/simple/",
        ]
    ]
    result, _ = run_step(tmp_path, "smoke", "GPU smoke test", env, exit_code=0)
    assert result.returncode == 0


@needs_bash
def test_publish_dry_run_goes_to_a_local_index(tmp_path: Path) -> None:
    for house in ("wheels-linux-x86_64-cpu", "wheels-linux-x86_64-cu130"):
        (tmp_path / "wheelhouses" / house).mkdir(parents=True)
    env = {
        "DRY_RUN": "true",
        "IN_PUBLISH_TO": "s3://bucket/wheels",
        "IN_S3_ENDPOINT_URL": "https://r2.example",
        "IN_FALLBACK_VARIANT": "cpu",
    }
    result, calls = run_step(tmp_path, "publish", "Publish the", env)
    assert result.returncode == 0, result.stderr
    assert [call[:4] for call in calls] == [
        ["publish", "wheelhouses/wheels-linux-x86_64-cpu/", "--to", "index"],
        ["publish", "wheelhouses/wheels-linux-x86_64-cu130/", "--to", "index"],
    ]
    assert calls[0][4:] == [
        "--project",
        "source/.",
        "--fallback",
        "cpu",
        "--endpoint-url",
        "https://r2.example",
    ]
    env["DRY_RUN"] = "false"
    _, calls = run_step(tmp_path, "publish", "Publish the", env)
    assert {call[3] for call in calls} == {"s3://bucket/wheels"}


@needs_bash
def test_upload_sends_the_fallback_wheelhouses_only(tmp_path: Path) -> None:
    (tmp_path / "wheelhouses" / "wheels-linux-x86_64-cpu" / "cpu").mkdir(parents=True)
    (tmp_path / "wheelhouses" / "wheels-linux-x86_64-cu130" / "cu130").mkdir(parents=True)
    env = {
        "DRY_RUN": "false",
        "IN_PYPI_REPOSITORY_URL": "https://upload.pypi.org/legacy/",
        "IN_FALLBACK_VARIANT": "cpu",
        "TWINE_PASSWORD": "",
    }
    result, calls = run_step(tmp_path, "publish", "Upload the", env)
    assert result.returncode == 1
    assert "the pypi-token secret is empty" in result.stdout
    assert calls == []
    env["TWINE_PASSWORD"] = "pypi-token"
    result, calls = run_step(tmp_path, "publish", "Upload the", env)
    assert result.returncode == 0
    assert calls == [
        [
            "upload",
            "wheelhouses/wheels-linux-x86_64-cpu/",
            "--repository-url",
            "https://upload.pypi.org/legacy/",
            "--fallback",
            "cpu",
            "--skip-existing",
        ]
    ]


@needs_bash
def test_input_overrides_reach_the_recipe_loader(tmp_path: Path) -> None:
    github_env = tmp_path / "github-env"
    github_env.write_text("", encoding="utf-8")
    env = {
        "GITHUB_ENV": str(github_env),
        "IN_VARIANTS": "cpu cu130",
        "IN_BEFORE_BUILD": "echo one\necho two",
        "IN_CHANNEL": "",
    }
    result, _ = run_step(tmp_path, "build", "Apply the inputs", env)
    assert result.returncode == 0, result.stderr
    # Parse $GITHUB_ENV's NAME<<DELIMITER blocks as the runner does.
    values: dict[str, str] = {}
    lines = iter(github_env.read_text(encoding="utf-8").splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        body: list[str] = []
        for value_line in lines:
            if value_line == delimiter:
                break
            body.append(value_line)
        values[name] = "\n".join(body)
    assert values == {
        "WHEELYARD_VARIANTS": "cpu cu130",
        "WHEELYARD_BEFORE_BUILD": "echo one\necho two",
    }
    loaded = load_recipe(CUDA_KERNELS, environ=values)
    assert loaded.recipe.variants == ["cpu", "cu130"]
    assert loaded.recipe.before_build == "echo one\necho two"
