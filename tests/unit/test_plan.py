"""Matrix expansion, consolidation and the runner split."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.vocab import Platform, PythonMode
from wheelyard.errors import ConfigError, PlanError
from wheelyard.plan import make_plan
from wheelyard.plan.consolidate import split_pythons
from wheelyard.plan.github import github_matrix
from wheelyard.plan.pythons import select_pythons

SIX = ("cp310", "cp311", "cp312", "cp313", "cp314", "cp315")


def plan_for(path: Path, *, environ: dict[str, str] | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    loaded = load_recipe(path, environ=environ or {}, **kwargs)  # type: ignore[arg-type]
    catalog = load_catalog(loaded.recipe.catalog, extension_source=loaded.source_of)
    return make_plan(loaded, catalog, host=Platform.LINUX_X86_64), catalog


@pytest.mark.parametrize(
    ("consolidation", "jobs", "chunk_sizes"),
    [
        ("per-variant", 4, {6}),
        ("per-python", 24, {1}),
        ("groups=2", 8, {3}),
        ("groups=4", 16, {1, 2}),
    ],
)
def test_job_counts(projects: Path, consolidation: str, jobs: int, chunk_sizes: set[int]) -> None:
    plan, _ = plan_for(projects / "matrix-4x6", environ={"WHEELYARD_CONSOLIDATION": consolidation})
    assert len(plan.jobs) == jobs
    assert plan.wheel_count == 24
    assert {len(job.pythons) for job in plan.jobs} == chunk_sizes
    for variant in ("cpu", "cu126", "cu128", "cu130"):
        built = [p for job in plan.jobs if job.variant == variant for p in job.pythons]
        assert tuple(built) == SIX


def test_per_variant_jobs_and_runner_split(projects: Path) -> None:
    plan, _ = plan_for(projects / "matrix-4x6")
    by_variant = {job.variant: job for job in plan.jobs}
    cpu, cu128 = by_variant["cpu"], by_variant["cu128"]
    assert cpu.id == "linux-x86_64-cpu"
    assert cpu.pythons == SIX
    assert cpu.build_selector.split() == [f"{p}-manylinux_x86_64" for p in SIX]
    assert (cpu.test_in_build, cpu.gpu_test) == (True, False)
    assert cpu.build_runner == cpu.test_runner == "linux-x86_64-cpu"
    assert (cu128.test_in_build, cu128.gpu_test) == (False, True)
    assert cu128.build_runner == "linux-x86_64-cpu"
    assert cu128.test_runner == "linux-x86_64-cuda"
    assert cu128.image == "docker.io/pytorch/manylinux2_28-builder:cuda12.8"
    assert cu128.environment["TORCH_CUDA_ARCH_LIST"] == "7.0;7.5;8.0;8.6;9.0;10.0;12.0"
    assert cu128.environment["GPU_ARCH_VERSION"] == "12.8"


def test_github_matrix_is_strings_only(projects: Path) -> None:
    plan, catalog = plan_for(projects / "matrix-4x6")
    matrix = github_matrix(plan, catalog)
    assert list(matrix) == ["include"]
    assert len(matrix["include"]) == 4
    for entry in matrix["include"]:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in entry.items())
    cu130 = next(e for e in matrix["include"] if e["variant"] == "cu130")
    assert cu130["build_runner"] == "ubuntu-24.04"
    assert cu130["validation_runner"] == "linux-x86_64-cuda"
    assert cu130["gpu_test"] == "true"
    assert cu130["pythons"] == " ".join(SIX)


def test_needs_gpu_test_false_keeps_tests_in_the_build(projects: Path) -> None:
    plan, _ = plan_for(projects / "matrix-4x6", environ={"WHEELYARD_NEEDS_GPU_TEST": "false"})
    assert all(job.test_in_build and not job.gpu_test for job in plan.jobs)


def test_unknown_variant_suggests(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.wheelyard]\nvariants = ["cu182"]\n')
    with pytest.raises(ConfigError) as info:
        plan_for(tmp_path)
    [problem] = info.value.problems
    assert problem.key == "variants"
    assert problem.message == "unknown variant 'cu182'"
    assert problem.hint == "did you mean 'cu128'?"


def test_variant_not_on_channel(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_for(projects / "cu118-nightly")
    [problem] = info.value.problems
    assert problem.message == (
        "variant 'cu118' is not offered on the nightly channel (offered on: release)"
    )
    plan, _ = plan_for(projects / "cu118-nightly", environ={"WHEELYARD_CHANNEL": "release"})
    assert [job.variant for job in plan.jobs] == ["cpu", "cu118"]


def test_empty_matrix(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.wheelyard]\nvariants = ["rocm7.0"]\nplatforms = ["macos-arm64"]\n'
    )
    with pytest.raises(PlanError) as info:
        plan_for(tmp_path)
    assert info.value.message == (
        "the build matrix is empty: rocm7.0 is not built for macos-arm64 (offered on: linux-x86_64)"
    )


def test_unsupported_combinations_are_skipped_with_reason(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.wheelyard]\nvariants = ["cpu", "cu128"]\nplatforms = ["linux-x86_64", "macos-arm64"]\n'
        'python = ["cp312"]\n'
    )
    plan, _ = plan_for(tmp_path)
    assert [job.id for job in plan.jobs] == [
        "linux-x86_64-cpu",
        "linux-x86_64-cu128",
        "macos-arm64-cpu",
    ]
    assert [s.reason for s in plan.skipped] == [
        "cu128 is not built for macos-arm64 (offered on: linux-x86_64, linux-aarch64, windows-amd64)"
    ]
    mac = plan.jobs[2]
    assert mac.image is None
    assert mac.build_selector == "cp312-macosx_arm64"


def test_requires_python_conflict(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_for(projects / "requires-py")
    assert info.value.problems[0].message == (
        "cp311 conflicts with requires-python '>=3.12' in [project]"
    )


def test_abi3_builds_once_and_tests_everywhere(projects: Path) -> None:
    plan, _ = plan_for(projects / "abi3")
    assert [job.pythons for job in plan.jobs] == [("cp311",), ("cp311",)]
    assert plan.jobs[0].python_mode is PythonMode.ABI3
    assert plan.jobs[0].test_pythons == ("cp311", "cp312", "cp313", "cp314", "cp315")


def test_abi3_and_free_threaded_conflict(projects: Path) -> None:
    with pytest.raises(ConfigError) as info:
        plan_for(projects / "abi3", environ={"WHEELYARD_FREE_THREADED": "true"})
    assert info.value.problems[0].key == "free-threaded"


def test_profile_native_platform(projects: Path) -> None:
    plan, _ = plan_for(projects / "profiles", profile="pr")
    assert [(job.platform, job.variant, job.pythons) for job in plan.jobs] == [
        (Platform.LINUX_X86_64, "cpu", ("cp312",)),
        (Platform.LINUX_X86_64, "cu128", ("cp312",)),
    ]
    full, _ = plan_for(projects / "profiles")
    assert len(full.jobs) == 4  # two platforms x two variants


def test_select_pythons_ranges_and_free_threaded() -> None:
    available = ("cp39", "cp310", "cp311", "cp312", "cp313", "cp314", "cp314t")
    sel = select_pythons([">=3.12"], available=available, free_threaded=False, requires_python=None)
    assert sel.build == ("cp312", "cp313", "cp314")
    sel = select_pythons([">=3.12"], available=available, free_threaded=True, requires_python=None)
    assert sel.build == ("cp312", "cp313", "cp314", "cp314t")
    sel = select_pythons(
        ["cp314t", "cp399"], available=available, free_threaded=False, requires_python=None
    )
    assert (sel.build, sel.unavailable) == (("cp314t",), ("cp399",))
    sel = select_pythons(
        ["py3"], available=available, free_threaded=False, requires_python=">=3.11"
    )
    assert (sel.mode, sel.build, sel.test) == (
        PythonMode.PY3,
        ("cp314",),
        ("cp311", "cp312", "cp313", "cp314"),
    )


def test_split_pythons_groups_are_even_and_ordered() -> None:
    from wheelyard.config.model import Groups

    items = ("a", "b", "c", "d", "e")
    assert split_pythons(items, Groups(groups=2)) == [("a", "b", "c"), ("d", "e")]
    assert split_pythons(items, Groups(groups=9)) == [(i,) for i in items]
    assert split_pythons(items, "per-variant") == [items]
    assert split_pythons((), "per-python") == []
