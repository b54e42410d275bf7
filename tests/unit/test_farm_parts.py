"""The farm's smaller parts: source checks and fetching, recipe loading per job, worker
capabilities and queue checks, the token commands, the embedded Temporal's executable."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wheelyard.builder.image.ensure import ImagePolicy
from wheelyard.catalog import load_catalog
from wheelyard.config.vocab import Channel
from wheelyard.errors import FarmForbiddenError, FarmRequestError, FarmWorkerError, VersionError
from wheelyard.farm.builds import stage_process
from wheelyard.farm.builds.activities import _built_key, bad_input
from wheelyard.farm.builds.source import (
    SourceSpec,
    check_git_url,
    check_ref,
    fetch_source,
    read_marker,
    store_upload,
)
from wheelyard.farm.builds.stage_process import write_spec
from wheelyard.farm.builds.stages import WorkerEnvironment
from wheelyard.farm.builds.submit import check_planned_packages
from wheelyard.farm.db import open_database
from wheelyard.farm.messages import StageInput, StageResult
from wheelyard.farm.runtime.capabilities import (
    Capabilities,
    check_queues,
    queue_problem,
    servable_queues,
)
from wheelyard.farm.runtime.temporal_server import (
    servers_of,
    stop_orphaned_servers,
    temporal_executable,
)
from wheelyard.farm.settings import FarmSettings
from wheelyard.farm.vocab import SourceKind
from wheelyard.host.platform import host_platform
from wheelyard.pipeline import BuildOptions, load_project
from wheelyard.record import Verification, VerificationStatus, WheelInfo
from wheelyard.verify import Interpreter

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"
MULTI = REPO / "examples" / "multi-package"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "ssh://git@host/org/repo",
        "git@github.com:org/repo.git",
        "file:///srv/git/repo",
        "git://host/repo",
    ],
)
def test_git_urls_accepted(url: str) -> None:
    check_git_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "empty"),
        ("https://host/repo name", "spaces"),
        ("-uhelp", "starts with '-'"),
        ("ext::sh -c id", "spaces"),
        ("ext::sh", "remote helper"),
        ("ftp://host/repo", "scheme"),
        ("https:///repo", "no host"),
        ("https://host", "no repository path"),
    ],
)
def test_git_urls_refused(url: str, reason: str) -> None:
    with pytest.raises(FarmRequestError, match=reason):
        check_git_url(url)


@pytest.mark.parametrize("ref", ["main", "v1.2.3", "release/2026.11", "0a1b2c3d"])
def test_refs_accepted(ref: str) -> None:
    check_ref(ref)


@pytest.mark.parametrize("ref", ["-f", "--upload-pack=x", "a..b", "x.lock", "a b", "", "x/"])
def test_refs_refused(ref: str) -> None:
    with pytest.raises(FarmRequestError, match="bad git ref"):
        check_ref(ref)


def test_a_path_source_is_copied_once_without_build_leftovers(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "build" / "lib").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    (project / "build" / "lib" / "junk.so").write_text("x")
    folder = tmp_path / "source"
    spec = SourceSpec(kind=SourceKind.PATH, location=str(project))
    fetched = fetch_source(spec, folder, today=dt.date(2026, 11, 21))
    assert (fetched.project_dir / "pyproject.toml").is_file()
    assert not (fetched.project_dir / "build").exists()
    assert fetched.date == dt.date(2026, 11, 21)  # not a git checkout: the fetch date
    # Fetching again (a retried activity) reads the marker and copies nothing.
    (project / "pyproject.toml").unlink()
    again = fetch_source(spec, folder, today=dt.date(2030, 1, 1))
    assert again == fetched
    assert read_marker(folder) == fetched


def test_a_path_inside_a_checkout_takes_its_commit_date(tmp_path: Path) -> None:
    fetched = fetch_source(
        SourceSpec(kind=SourceKind.PATH, location=str(HELLO_C)),
        tmp_path / "source",
        today=dt.date(1999, 1, 1),
    )
    assert fetched.date != dt.date(1999, 1, 1)


def test_uploads_are_kept_by_content_and_checked(tmp_path: Path) -> None:
    with pytest.raises(FarmRequestError, match="limit"):
        store_upload(b"x" * 11, "p-1.tar.gz", tmp_path, limit=10)
    with pytest.raises(FarmRequestError, match="not an sdist file name"):
        store_upload(b"x", "p-1.whl", tmp_path)
    with pytest.raises(FarmRequestError, match="cannot unpack"):
        store_upload(b"not a tarball", "p-1.tar.gz", tmp_path)


def test_build_options_round_trip_and_become_recipe_overrides() -> None:
    options = BuildOptions(
        variants=("cpu",), python=("cp312",), channel=Channel.TEST, date=dt.date(2026, 11, 20)
    )
    sent = json.loads(json.dumps(options.model_dump(mode="json")))
    assert BuildOptions.model_validate(sent) == options
    assert options.environ() == {"WHEELYARD_PYTHON": '["cp312"]'}


def test_one_farm_job_builds_its_id_for_every_package_of_a_repository() -> None:
    loaded = load_project(
        MULTI, BuildOptions(python=("cp312",)), farm_recipe=None, host=host_platform()
    )
    assert loaded.name == "multi-package"
    assert loaded.job_ids() == ["linux-x86_64-cpu"]
    narrowed = loaded.only("linux-x86_64-cpu")
    assert [u.loaded.project_name for u in narrowed] == ["yardstream", "yardstream-s3"]
    assert all(len(u.plan.jobs) == 1 for u in narrowed)
    with pytest.raises(Exception, match="not in the plan"):
        loaded.only("macos-arm64-cpu")


def test_a_farm_recipe_layers_over_the_package_table(tmp_path: Path) -> None:
    recipe = tmp_path / "farm.toml"
    recipe.write_text('[tool.wheelyard]\npython = ["cp311", "cp312"]\n')
    loaded = load_project(HELLO_C, BuildOptions(), farm_recipe=recipe, host=host_platform())
    assert loaded.units[0].plan.jobs[0].pythons == ("cp311", "cp312")
    narrowed = load_project(
        HELLO_C, BuildOptions(python=("cp312",)), farm_recipe=recipe, host=host_platform()
    )
    assert narrowed.units[0].plan.jobs[0].pythons == ("cp312",)


def _capabilities(**changes: Any) -> Capabilities:
    values: dict[str, Any] = {
        "hostname": "box",
        "platform": "linux-x86_64",
        "arch": "x86_64",
        "cpus": 2,
        "engine": "podman",
        "gpu": {"gpus": [], "reason": "no NVIDIA driver found"},
    }
    values.update(changes)
    return Capabilities(**values)


def test_queues_a_machine_can_serve() -> None:
    catalog = load_catalog()
    cpu_box = _capabilities()
    assert servable_queues(cpu_box, catalog) == ["linux-x86_64-cpu"]
    gpu_box = _capabilities(gpu={"gpus": [{"name": "H100", "compute_capability": "9.0"}]})
    assert servable_queues(gpu_box, catalog) == ["linux-x86_64-cpu", "linux-x86_64-cuda"]
    no_engine = _capabilities(engine=None, engine_problem="no working container engine")
    assert servable_queues(no_engine, catalog) == []
    assert "no working container engine" in (
        queue_problem("linux-x86_64-cpu", no_engine, catalog) or ""
    )
    assert "not implemented" in (queue_problem("linux-x86_64-rocm", gpu_box, catalog) or "")
    assert "macos-arm64 machine" in (queue_problem("macos-arm64-cpu", cpu_box, catalog) or "")
    assert "not a runner label" in (queue_problem("linux-x86_64-tpu", cpu_box, catalog) or "")


def test_a_worker_refuses_a_gpu_queue_without_a_gpu() -> None:
    catalog = load_catalog()
    with pytest.raises(FarmWorkerError, match="linux-x86_64-cuda needs an NVIDIA GPU") as info:
        check_queues(["linux-x86_64-cpu", "linux-x86_64-cuda"], _capabilities(), catalog)
    assert info.value.exit_code == 2
    with pytest.raises(FarmWorkerError, match="no queue"):
        check_queues([], _capabilities(), catalog)


@pytest.mark.parametrize(
    ("name", "variant_file", "key"),
    [
        (
            "cuda_kernels-0.1.0.dev1+cu130-cp312-cp312-manylinux_2_35_x86_64.whl",
            False,
            ("cuda_kernels", ("cp312", "cp312", "manylinux_2_35_x86_64")),
        ),
        (
            "cuda_kernels-0.1.0.dev1-cp312-cp312-manylinux_2_35_x86_64-cu130.whl",
            True,
            ("cuda_kernels", ("cp312", "cp312", "manylinux_2_35_x86_64")),
        ),
    ],
)
def test_index_files_map_back_to_the_built_wheel(
    name: str, variant_file: bool, key: tuple[str, tuple[str, ...]]
) -> None:
    assert _built_key(name, variant_file=variant_file) == key


def test_the_temporal_cli_comes_with_wheelyard() -> None:
    assert temporal_executable().name == "temporal"


def test_a_dev_server_left_on_the_same_file_is_found_and_stopped(tmp_path: Path) -> None:
    """A process whose command line is a dev server's on ``farm/temporal.db`` (a killed farm's
    server, outliving it in its own session); one on another file is left alone."""
    ours, other = tmp_path / "farm" / "temporal.db", tmp_path / "other" / "temporal.db"

    def stand_in(db: Path) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-c", "import time; time.sleep(60)"]
        argv += ["server", "start-dev", "--db-filename", str(db)]
        return subprocess.Popen(argv, start_new_session=True)

    left, unrelated = stand_in(ours), stand_in(other)
    try:
        deadline = time.monotonic() + 10
        while servers_of(ours) != [left.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert servers_of(ours) == [left.pid]
        assert stop_orphaned_servers(ours, grace=5) == [left.pid]
        assert left.wait(timeout=5) == -signal.SIGTERM
        assert servers_of(ours) == []
        assert unrelated.poll() is None
        assert servers_of(other) == [unrelated.pid]
    finally:
        for process in (left, unrelated):
            process.kill()
            process.wait()


def test_token_commands(cli: Callable[..., Any], tmp_path: Path) -> None:
    data = str(tmp_path / "farm")
    open_database(FarmSettings(data_dir=tmp_path / "farm").database_url).close()  # `farm up`'s
    created = cli("farm", "token", "create", "ci", "--package", "Hello_C", "--data", data, "--json")
    assert created.exit_code == 0, created.stderr
    token = json.loads(created.stdout)
    assert token["token"].startswith("wyt_") and token["package"] == "hello-c"
    listed = cli("farm", "token", "list", "--data", data, "--json")
    [row] = json.loads(listed.stdout)
    assert row["prefix"] == token["token"][:10] and token["token"] not in listed.stdout
    assert cli("farm", "token", "revoke", str(token["id"]), "--data", data).exit_code == 0
    [row] = json.loads(cli("farm", "token", "list", "--data", data, "--json").stdout)
    assert row["revoked_at"] is not None
    missing = cli("farm", "token", "revoke", "99", "--data", data)
    assert missing.exit_code == 2
    assert "no token with id 99" in missing.stderr
    neither = cli("farm", "token", "create", "x", "--data", data)
    assert neither.exit_code == 2


def test_submit_to_a_farm_that_is_not_running(cli: Callable[..., Any], tmp_path: Path) -> None:
    result = cli(
        "farm",
        "submit",
        "https://example.org/x.git",
        "--url",
        "http://127.0.0.1:9",
        "--data",
        str(tmp_path),
    )
    assert result.exit_code == 1
    assert "cannot reach the farm" in result.stderr


def test_every_worker_setting_and_the_wheels_reach_the_stage_process_and_back(
    tmp_path: Path,
) -> None:
    """The stage runs in a child process from a spec file: every field of the worker's
    environment must arrive (the farm's torch index, image policy ...), and its wheels come back
    as the build record's entries."""
    env = WorkerEnvironment(
        data_dir=tmp_path / "data",
        engine="podman",
        compiler_cache=tmp_path / "ccache",
        interpreters=(
            Interpreter(version=(3, 12, 1), executable=Path("/usr/bin/python3.12")),
            Interpreter(version=(3, 13, 0), free_threaded=True, executable=Path("/x/3.13t")),
        ),
        index_url="https://pypi.example/simple",
        torch_cache=tmp_path / "torch",
        torch_index=("https://torch.example/whl/{variant}", "/srv/torch"),
        detect_file=tmp_path / "gpu.json",
        image_policy=ImagePolicy.LOCAL,
    )
    stage_input = StageInput(
        build_id=7, job_id="linux-x86_64-cpu", variant="cpu", plan="p.json", output="o", date="d"
    )
    spec = tmp_path / "spec.json"
    write_spec(
        spec,
        stage="build",
        stage_input=stage_input,
        env=env,
        result=tmp_path / "result.json",
        progress=tmp_path / "progress",
    )
    data = json.loads(spec.read_text())
    assert stage_process._ENVIRONMENT.validate_python(data["env"]) == env
    assert stage_process._INPUT.validate_python(data["input"]) == stage_input
    wheel = WheelInfo(
        name="demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        path="cpu/demo-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
        size=10,
        sha256="ab" * 32,
        python="cp312",
        platform_tags=("manylinux_2_28_x86_64",),
        verification=Verification(status=VerificationStatus.PASSED),
    )
    result = StageResult(job_id="linux-x86_64-cpu", status="succeeded", wheels=[wheel])
    sent = json.loads(json.dumps(stage_process._RESULT.dump_python(result, mode="json")))
    back = stage_process._RESULT.validate_python(sent)
    assert back.wheels == [wheel]
    assert back.wheels[0].variant == "cpu"


def test_a_scheduled_run_may_plan_only_the_packages_its_schedule_was_checked_for() -> None:
    loaded = load_project(
        REPO / "examples" / "multi-package", BuildOptions(), farm_recipe=None, host=host_platform()
    )
    names = [unit.loaded.project_name for unit in loaded.units]
    check_planned_packages(loaded, None)  # a submission: checked when it was made
    check_planned_packages(loaded, names)
    with pytest.raises(FarmForbiddenError) as caught:
        check_planned_packages(loaded, names[:1])
    assert names[1] in caught.value.message


def test_a_builds_public_message_names_no_folder_of_the_farm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    error = bad_input(
        VersionError(f"version-file 'x' (farm recipe {data}/builds/3/farm-recipe.toml) is bad"),
        data,
    )
    assert error.message == "version-file 'x' (farm recipe builds/3/farm-recipe.toml) is bad"
    assert error.non_retryable
