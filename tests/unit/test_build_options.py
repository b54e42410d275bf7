"""cibuildwheel options: composed with the package's own table, never silently overridden."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from wheelyard.builder.engine import ContainerInfo
from wheelyard.builder.job import JOB_LABEL, compiler_cache_deltas, reap_exited_containers
from wheelyard.builder.options import (
    ccache_stats_command,
    compose,
    package_option,
    repair_command,
)
from wheelyard.builder.progress import EventKind, LogFollower
from wheelyard.catalog import load_catalog
from wheelyard.config import load_recipe
from wheelyard.config.vocab import Platform
from wheelyard.plan import make_plan


def jobs_for(path: Path):  # type: ignore[no-untyped-def]
    loaded = load_recipe(path, environ={})
    plan = make_plan(loaded, load_catalog(), host=Platform.LINUX_X86_64)
    return loaded, {job.variant: job for job in plan.jobs}


def test_composes_with_the_packages_own_options(projects: Path) -> None:
    loaded, jobs = jobs_for(projects / "cibw-own-options")
    options = compose(
        jobs["cpu"],
        loaded,
        build_env={"BUILD_VERSION": "1.0.0.dev1", "VARIANT": "cpu"},
        pythons=["cp311", "cp312"],
        image="localhost/img:cpu",
        container_engine="podman",
    )
    env = options.env
    assert env["CIBW_BUILD"] == "cp311-manylinux_x86_64 cp312-manylinux_x86_64"
    assert env["CIBW_MANYLINUX_X86_64_IMAGE"] == "localhost/img:cpu"
    # before-build: wheelyard's first, then the package's list joined in order.
    assert env["CIBW_BEFORE_BUILD"] == "echo wheelyard-before && echo pkg-one && echo pkg-two"
    # before-all: the package's, then the native core build, once per job.
    assert env["CIBW_BEFORE_ALL"] == (
        "(ccache --zero-stats >/dev/null 2>&1 || true) && yum install -y zlib-devel && "
        "echo 'wheelyard: native-build start' && ( make -C core ) && "
        "echo 'wheelyard: native-build done' && " + ccache_stats_command()
    )
    # environment: ours first, the recipe's, then the package's table (its assignments win).
    assert env["CIBW_ENVIRONMENT"].startswith("BUILD_VERSION=1.0.0.dev1 VARIANT=cpu ")
    assert env["CIBW_ENVIRONMENT"].endswith(' EXTRA="$HOME/x" BUILD_VERSION="9.9.9" ZLIB="1"')
    # test: the smoke test, then the package's own tests, in the CPU job.
    assert env["CIBW_TEST_COMMAND"] == "echo smoke && pytest {project}/tests"
    # the package's repair command (from [tool.cibuildwheel.linux]) is kept: not in env.
    assert "CIBW_REPAIR_WHEEL_COMMAND_LINUX" not in env
    assert options.notes == (
        "skip: the package's skip list still applies",
        "manylinux-x86_64-image: taken over by the cpu builder image localhost/img:cpu",
        "environment: wheelyard's variables first, then the package's (which win)",
        "before-all: the package's before-all, then wheelyard's native-build",
        "before-build: wheelyard's before-build, then the package's",
        "repair-wheel-command: the package's command is kept",
        "test-command: wheelyard's smoke test, then the package's tests",
    )


def test_gpu_job_skips_tests_and_excludes_driver_libraries(projects: Path) -> None:
    loaded, jobs = jobs_for(projects / "matrix-4x6")
    options = compose(
        jobs["cu128"],
        loaded,
        build_env={},
        pythons=["cp312"],
        image="img",
        container_engine="podman; create_args: --runtime runc",
    )
    assert options.env["CIBW_TEST_SKIP"] == "*"
    assert "CIBW_TEST_COMMAND" not in options.env
    repair = options.env["CIBW_REPAIR_WHEEL_COMMAND_LINUX"]
    assert repair.startswith(
        "(auditwheel repair --plat auto --exclude libcuda.so.1 --exclude libnvidia-ml.so.1 "
        "--exclude 'libtorch*.so' --exclude 'libc10*.so'"
    )  # matrix-4x6 builds against torch
    assert options.env["CIBW_BUILD_FRONTEND"] == "build[uv]"
    assert options.notes[-1].startswith("test: skipped in the build job; the cu128 wheels get")


def test_cpu_repair_has_no_gpu_excludes(projects: Path) -> None:
    _, jobs = jobs_for(projects / "no-table")
    assert repair_command(jobs["cpu"], torch=False).startswith(
        "(auditwheel repair --plat auto -w {dest_dir} {wheel} || "
        "auditwheel repair -w {dest_dir} {wheel}) && "
    )


def test_free_threaded_needs_no_enable_group_and_an_old_group_is_dropped_with_a_note(
    projects: Path,
) -> None:
    loaded, jobs = jobs_for(projects / "no-table")
    options = compose(
        jobs["cpu"],
        loaded,
        build_env={},
        pythons=["cp313", "cp314t"],
        image="img",
        container_engine="podman",
    )
    assert "CIBW_ENABLE" not in options.env  # cibuildwheel 4 builds cp314t when selected
    assert options.env["CIBW_BUILD"] == "cp313-manylinux_x86_64 cp314t-manylinux_x86_64"
    # A package written for cibuildwheel 2/3: the removed group goes, the known one stays.
    own = replace(loaded, cibuildwheel={"enable": ["cpython-freethreading", "pypy"]})
    options = compose(
        jobs["cpu"], own, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    # cibuildwheel appends CIBW_ENABLE to the table's groups: the table it reads is rewritten.
    assert "CIBW_ENABLE" not in options.env
    assert options.package_options["enable"] == ["pypy"]
    assert any(n.startswith("enable: cpython-freethreading dropped") for n in options.notes)
    own = replace(
        loaded,
        cibuildwheel={
            "enable": "cpython-freethreading",
            "linux": {"enable": ["cpython-freethreading", "cpython-prerelease"]},
            "overrides": [{"select": "cp313-*", "enable": ["cpython-freethreading"]}],
        },
    )
    options = compose(
        jobs["cpu"], own, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    table = options.package_options
    assert table["enable"] == []
    assert table["linux"]["enable"] == ["cpython-prerelease"]
    assert table["overrides"] == [{"select": "cp313-*", "enable": []}]


def test_cibuildwheels_own_audit_is_off_because_the_gate_audits(projects: Path) -> None:
    loaded, jobs = jobs_for(projects / "no-table")
    own = replace(loaded, cibuildwheel={"audit-command": "abi3audit {abi3_wheel}"})
    options = compose(
        jobs["cpu"], own, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    assert options.env["CIBW_AUDIT_COMMAND"] == ""
    assert "audit-command: replaced by wheelyard's gate (abi3audit on abi3 wheels)" in options.notes


def test_platform_table_wins_over_global() -> None:
    table = {"before-all": "a", "linux": {"before-all": "b"}, "macos": {"before-all": "c"}}
    assert package_option(table, "before-all", "linux") == "b"
    assert package_option(table, "before-all", "windows") == "a"


CIBW_LOG = """
     _ _       _ _   _       _           _
Starting container image localhost/wheelyard-builder:cpu...
Running before_all...
wheelyard: native-build start
wheelyard: native-build done
wheelyard-ccache direct_cache_hit 0
wheelyard-ccache cache_miss 12
\x1b[1m\x1b[34mBuilding cp311-manylinux_x86_64 wheel\x1b[0m
CPython 3.11 manylinux x86_64
Building wheel...
Repairing wheel...
wheelyard-ccache direct_cache_hit 0
wheelyard-ccache cache_miss 15
Testing wheel...
✓ cp311-manylinux_x86_64 finished in 2.5 seconds
Building cp312-manylinux_x86_64 wheel
Building wheel...
"""


def test_log_follower_times_pythons_and_the_native_core() -> None:
    ticks = iter(float(i) for i in range(100))
    events = []
    follower = LogFollower(on_event=events.append, clock=lambda: next(ticks))
    for line in CIBW_LOG.splitlines():
        follower.feed(line)
    assert follower.native_seconds == 1.0
    cp311 = follower.pythons["cp311"]
    assert cp311.seconds == 7.0
    assert follower.native_cache == {"direct_cache_hit": 0, "cache_miss": 12}
    assert cp311.compiler_cache == {"direct_cache_hit": 0, "cache_miss": 15}
    # Counters are cumulative: cp311's own share is what it added after the native-build.
    assert compiler_cache_deltas(follower) == {"cp311": {"direct_cache_hit": 0, "cache_miss": 3}}
    assert follower.current == "cp312"
    assert follower.failed_step == "Building wheel"
    kinds = [e.kind for e in events if e.kind is not EventKind.STEP]
    assert kinds == [
        EventKind.NATIVE_STARTED,
        EventKind.NATIVE_FINISHED,
        EventKind.PYTHON_STARTED,
        EventKind.PYTHON_FINISHED,
        EventKind.PYTHON_STARTED,
    ]


def test_without_a_compiler_cache_ccache_is_off(projects: Path) -> None:
    loaded = load_recipe(projects / "cibw-own-options")
    job = make_plan(loaded, load_catalog(), host=None).jobs[0]
    on = compose(job, loaded, build_env={}, pythons=["cp312"], image="img", container_engine="p")
    off = compose(
        job,
        loaded,
        build_env={},
        pythons=["cp312"],
        image="img",
        container_engine="p",
        compiler_cache=False,
    )
    assert "/usr/lib/ccache" in on.env["CIBW_ENVIRONMENT"]
    assert "CCACHE_DISABLE=1" in off.env["CIBW_ENVIRONMENT"]
    assert "/usr/lib/ccache" not in off.env["CIBW_ENVIRONMENT"]


def test_reaping_removes_only_exited_build_containers() -> None:
    class Engine:
        def __init__(self) -> None:
            self.removed: list[str] = []

        def containers_with_label(self, label: str) -> list[ContainerInfo]:
            assert label == JOB_LABEL
            return [
                ContainerInfo(id="a", name="live", status="running"),
                ContainerInfo(id="b", name="left", status="exited"),
            ]

        def remove_container(self, container: str) -> None:
            self.removed.append(container)

    engine = Engine()
    assert reap_exited_containers(engine) == ["b"]  # type: ignore[arg-type]
    assert engine.removed == ["b"]


def test_system_packages_are_installed_first_with_the_images_package_manager(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "y"\nversion = "1"\n'
        '[tool.wheelyard]\nsystem-packages = { apt = ["libyaml-dev"], dnf = ["libyaml-devel"] }\n'
        '[tool.cibuildwheel]\nbefore-all = "echo pkg"\n'
    )
    loaded = load_recipe(tmp_path, environ={})
    [job] = make_plan(loaded, load_catalog(), host=None).jobs
    options = compose(
        job, loaded, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    before_all = options.env["CIBW_BEFORE_ALL"]
    assert (
        "if command -v apt-get >/dev/null 2>&1; then apt-get install -y --no-install-recommends "
        "libyaml-dev; elif command -v dnf >/dev/null 2>&1; then dnf install -y libyaml-devel; "
        "else echo 'wheelyard: no package manager here for system-packages (apt: libyaml-dev, "
        "dnf: libyaml-devel)' >&2; exit 1; fi"
    ) in before_all
    assert before_all.index("apt-get install") < before_all.index("echo pkg")
    assert "before-all: the recipe's system-packages first, then the package's" in options.notes


def test_a_recipe_replaces_the_packages_own_cibuildwheel_option(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "y"\nversion = "1"\n'
        '[tool.cibuildwheel]\nbefore-all = "yum install -y libffi-devel"\ntest-command = "t"\n'
        '[tool.cibuildwheel.linux]\nbefore-all = "yum install -y libffi-devel"\n'
        '[[tool.cibuildwheel.overrides]]\nselect = "*-musllinux*"\nbefore-all = "apk add x"\n'
    )
    recipe = tmp_path / "farm.toml"
    recipe.write_text('system-packages = ["libffi-dev"]\ncibuildwheel = { before-all = "" }\n')
    loaded = load_recipe(tmp_path, farm_recipe=recipe, environ={})
    assert loaded.cibuildwheel["before-all"] == ""
    [job] = make_plan(loaded, load_catalog(), host=None).jobs
    options = compose(
        job, loaded, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    assert "libffi-devel" not in options.env["CIBW_BEFORE_ALL"]  # the package's yum step
    assert "apt-get install -y --no-install-recommends libffi-dev" in options.env["CIBW_BEFORE_ALL"]
    assert any(n.startswith("before-all: the recipe's value replaces") for n in options.notes)
    # ... in the platform table and the overrides too: cibuildwheel reads this table.
    assert options.package_options == {
        "before-all": "",
        "test-command": "t",
        "linux": {},
        "overrides": [],
    }


def test_without_a_smoke_test_the_packages_own_tests_and_their_overrides_stay(
    tmp_path: Path,
) -> None:
    """psutil runs its whole suite on one Python and an import test on the others through
    [[overrides]]: an environment variable would replace both with the top-level command."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "y"\nversion = "1"\n'
        '[tool.cibuildwheel]\ntest-command = "make test"\n'
        '[[tool.cibuildwheel.overrides]]\nselect = "cp312-*"\ntest-command = "python -c 1"\n'
    )
    loaded = load_recipe(tmp_path, environ={})
    [job] = make_plan(loaded, load_catalog(), host=None).jobs
    options = compose(
        job, loaded, build_env={}, pythons=["cp312"], image="img", container_engine="podman"
    )
    assert "CIBW_TEST_COMMAND" not in options.env
    assert not any(n.startswith("overrides:") for n in options.notes)


@pytest.mark.parametrize(
    "took", ["2.5 seconds", "a second", "345 milliseconds", "a minute", "3 minutes"]
)
def test_a_python_finished_in_any_humanized_time_counts_as_finished(took: str) -> None:
    """cibuildwheel writes durations with humanize: a fast build finishes "in a second"."""
    follower = LogFollower()
    follower.feed("Building cp312-manylinux_x86_64 wheel")
    follower.feed(f"✓ cp312-manylinux_x86_64 finished in {took}")
    assert follower.pythons["cp312"].seconds is not None
    assert follower.current is None
