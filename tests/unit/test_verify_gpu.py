"""The GPU smoke stage without a GPU: detection is injected (override file, fake NVML, fake
nvidia-smi), and the GPU view agrees with ``wheelyard detect``'s facts."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_verify_support import make_wheel

from wheelyard.catalog import load_catalog
from wheelyard.host.detect import NvidiaSmiDetector, NvmlDetector, Roots, detect
from wheelyard.host.gpu import Gpu, GpuInventory, detect_gpus, gpu_inventory
from wheelyard.verify.gpu import check_gpu, gpu_requirement_findings
from wheelyard.verify.report import Outcome

H100 = Gpu(index=0, name="NVIDIA H100 80GB HBM3", compute_capability="9.0")


def inventory(
    driver: str = "580.82.07", cuda: str = "13.0", gpus: tuple[Gpu, ...] = (H100,)
) -> GpuInventory:
    return GpuInventory(vendor="nvidia", source="test", driver=driver, cuda=cuda, gpus=gpus)


def override(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(data))
    return path


def test_override_file_describes_the_machine(tmp_path: Path) -> None:
    found = detect_gpus(
        override=override(
            tmp_path,
            {
                "nvidia": {
                    "driver_version": "580.82.07",
                    "cuda_driver_version": "13.0",
                    "gpus": [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}],
                },
                "x86_64": {"level": 3},
            },
        )
    )
    assert (found.driver, found.cuda, found.gpus) == ("580.82.07", "13.0", (H100,))
    none = detect_gpus(override=override(tmp_path, {"nvidia": None}))
    assert not none.present
    assert none.reason == f"{tmp_path / 'machine.json'} lists no GPU"


def test_without_a_driver_both_real_detectors_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    fake = types.ModuleType("pynvml")

    class NVMLError(Exception):
        pass

    def no_library() -> None:
        raise NVMLError("NVML Shared Library Not Found")

    fake.NVMLError = NVMLError  # type: ignore[attr-defined]
    fake.nvmlInit = no_library  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    found = detect_gpus()
    assert not found.present
    assert found.reason == (
        "no NVIDIA driver found (NVML: NVML Shared Library Not Found; nvidia-smi is not on PATH)"
    )


def test_nvml_path_reads_driver_cuda_and_each_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real NVML code path, against a stand-in for nvidia-ml-py."""
    calls: list[str] = []
    fake = types.ModuleType("pynvml")

    def record(name: str, value: Any) -> Callable[..., Any]:
        def call(*_: Any) -> Any:
            calls.append(name)
            return value

        return call

    fake.NVMLError = RuntimeError  # type: ignore[attr-defined]
    fake.nvmlInit = record("init", None)  # type: ignore[attr-defined]
    fake.nvmlShutdown = record("shutdown", None)  # type: ignore[attr-defined]
    fake.nvmlSystemGetDriverVersion = record("driver", "580.82.07")  # type: ignore[attr-defined]
    fake.nvmlSystemGetCudaDriverVersion_v2 = record("cuda", 13000)  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCount = record("count", 2)  # type: ignore[attr-defined]
    fake.nvmlDeviceGetHandleByIndex = record("handle", object())  # type: ignore[attr-defined]
    fake.nvmlDeviceGetName = record("name", b"NVIDIA H100 80GB HBM3")  # type: ignore[attr-defined]
    fake.nvmlDeviceGetCudaComputeCapability = record("cc", (9, 0))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    found = detect_gpus(detectors=[NvmlDetector()])
    assert (found.source, found.driver, found.cuda) == ("nvml", "580.82.07", "13.0")
    assert [g.name for g in found.gpus] == ["NVIDIA H100 80GB HBM3"] * 2
    assert calls[0] == "init" and calls[-1] == "shutdown"


def fake_smi(folder: Path, *rows: str) -> Path:
    """An ``nvidia-smi`` that prints its banner without arguments, else ``rows``."""
    folder.mkdir(parents=True, exist_ok=True)
    smi = folder / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "" ]; then echo "| NVIDIA-SMI 580.82.07  Driver Version: 580.82.07  CUDA Version: 13.0 |"; exit 0; fi\n'
        + "".join(f'echo "{row}"\n' for row in rows)
    )
    smi.chmod(0o755)
    return smi


def test_nvidia_smi_fallback(tmp_path: Path) -> None:
    smi = fake_smi(tmp_path, "0, NVIDIA H100 80GB HBM3, 580.82.07, 9.0")
    found = detect_gpus(detectors=[NvidiaSmiDetector(executable=str(smi))])
    assert (found.driver, found.cuda, found.gpus) == ("580.82.07", "13.0", (H100,))


def test_detect_and_the_gpu_view_come_from_the_same_detection(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One fake nvidia-smi (NVML not installed): ``wheelyard detect`` and the GPU inventory of
    verify and the farm report the same driver, CUDA version and GPUs; so do both for one
    override file, and both give the same notes when nothing answers."""
    fake_smi(
        tmp_path / "bin",
        "0, NVIDIA H100 80GB HBM3, 580.82.07, 9.0",
        "1, NVIDIA A100-SXM4-80GB, 580.82.07, 8.0",
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    facts = detect(roots=Roots(proc=tmp_path, sys=tmp_path, rocm=tmp_path))
    found = detect_gpus()
    assert found == gpu_inventory(facts)
    assert (facts.sources["nvidia"], found.source) == ("nvidia-smi", "nvidia-smi")
    assert (facts.nvidia_driver, facts.cuda_driver_version) == ("580.82.07", "13.0")
    assert (found.driver, found.cuda) == ("580.82.07", "13.0")
    machine = [("NVIDIA H100 80GB HBM3", "9.0"), ("NVIDIA A100-SXM4-80GB", "8.0")]
    assert [(g.name, g.compute_capability) for g in facts.nvidia_gpus] == machine
    assert [(g.index, g.name, g.compute_capability) for g in found.gpus] == [
        (0, *machine[0]),
        (1, *machine[1]),
    ]
    printed = cli("detect", "--json")
    assert printed.exit_code == 0, printed.stderr
    nvidia = json.loads(printed.stdout)["nvidia"]
    assert (nvidia["driver_version"], nvidia["cuda_driver_version"]) == (found.driver, found.cuda)
    assert [(g["name"], g["compute_capability"]) for g in nvidia["gpus"]] == machine

    path = override(
        tmp_path,
        {
            "nvidia": {
                "driver_version": "580.82.07",
                "cuda_driver_version": "13.0",
                "gpus": [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}],
            }
        },
    )
    from_file = detect_gpus(override=path)
    assert from_file == gpu_inventory(detect(override=path))
    assert (from_file.source, from_file.gpus) == (f"override {path}", (H100,))

    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    bare = detect(detectors={"nvidia": (NvmlDetector(), NvidiaSmiDetector())})
    assert "nvidia" not in bare.sources
    assert detect_gpus().reason == "no NVIDIA driver found (" + "; ".join(bare.notes) + ")"


def test_gpu_requirements_come_from_the_catalog() -> None:
    cu130 = load_catalog().variant("cu130")
    assert gpu_requirement_findings("cu130", cu130, inventory()) == []
    old = gpu_requirement_findings("cu130", cu130, inventory(driver="535.104.05", cuda="12.2"))
    assert [(f.code, f.message) for f in old] == [
        (
            "gpu-driver-too-old",
            "driver 535.104.05 is older than 580.65.06, which CUDA 13.0 (cu130) needs",
        ),
        ("gpu-cuda-too-old", "the driver supports CUDA 12.2; cu130 is built with CUDA 13.0"),
    ]
    v100 = Gpu(index=0, name="Tesla V100", compute_capability="7.0")
    arch = gpu_requirement_findings("cu130", cu130, inventory(gpus=(v100,)))
    assert [(f.code, f.message) for f in arch] == [
        (
            "gpu-arch-not-built",
            "GPU 0 (Tesla V100) has compute capability 7.0; cu130 is compiled for "
            "7.5;8.0;8.6;9.0;10.0;11.0;12.0 only",
        )
    ]


def test_check_gpu_reports_name_driver_and_compute_capability() -> None:
    cu130 = load_catalog().variant("cu130")
    result = check_gpu("cu130", cu130, inventory())
    assert result.outcome is Outcome.PASS
    assert result.message == (
        "NVIDIA H100 80GB HBM3 (compute capability 9.0); driver 580.82.07 (CUDA 13.0) suits "
        "cu130 (driver >= 580.65.06)"
    )
    assert result.facts["gpus"] == [H100.to_json()]
    missing = check_gpu(
        "cu130", cu130, GpuInventory(vendor="nvidia", source="t", reason="no driver")
    )
    assert (missing.outcome, missing.message) == (Outcome.SKIPPED, "no GPU: no driver")


@pytest.fixture
def gpu_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1.0"\n\n'
        '[tool.wheelyard]\nvariants = ["cpu", "cu130"]\nsmoke-test = "smoke.py"\n'
    )
    (project / "smoke.py").write_text(
        "import os, demo\nassert os.environ['DEMO_REQUIRE_GPU'] == '1'\nprint('gpu smoke ok')\n"
    )
    return project


def smoke(cli: Callable[..., Any], wheels: Path, project: Path, *extra: str) -> Any:
    return cli(
        "smoke",
        "--gpu",
        str(wheels),
        "--project",
        str(project),
        "--python",
        sys.executable,
        "--env",
        "DEMO_REQUIRE_GPU=1",
        *extra,
    )


def test_smoke_gpu_without_a_gpu_exits_3(
    cli: Callable[..., Any], gpu_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""}, version="1.0+cu130")
    monkeypatch.setenv("WHEELYARD_DETECT_FILE", str(override(tmp_path, {})))
    result = smoke(cli, wheel, gpu_project, "--json", str(tmp_path / "report.json"))
    assert result.exit_code == 3, result.stdout + result.stderr
    out = " ".join(result.stdout.split())
    assert "skipped: no GPU" in out
    report = json.loads((tmp_path / "report.json").read_text())
    [checks] = [w["checks"] for w in report["wheels"]]
    assert [(c["check"], c["outcome"]) for c in checks] == [("gpu", "skipped")]
    assert report["gpu"]["gpus"] == []


def test_smoke_gpu_on_a_suitable_gpu_runs_the_smoke_test(
    cli: Callable[..., Any], gpu_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheelhouse" / "cu130"
    wheels.mkdir(parents=True)
    make_wheel(wheels, {"demo/__init__.py": b""}, version="1.0")  # variant from the folder name
    machine = {
        "nvidia": {
            "driver_version": "580.82.07",
            "cuda_driver_version": "13.0",
            "gpus": [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}],
        }
    }
    monkeypatch.setenv("WHEELYARD_DETECT_FILE", str(override(tmp_path, machine)))
    result = smoke(cli, wheels, gpu_project, "--json", "-")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    [wheel] = report["wheels"]
    assert [(c["check"], c["outcome"]) for c in wheel["checks"]] == [
        ("gpu", "pass"),
        ("install", "pass"),
        ("smoke", "pass"),
    ]
    gpu = wheel["checks"][0]["facts"]
    assert (gpu["driver"], gpu["gpus"][0]["name"], gpu["gpus"][0]["compute_capability"]) == (
        "580.82.07",
        "NVIDIA H100 80GB HBM3",
        "9.0",
    )
    assert "gpu smoke ok" in wheel["checks"][2]["facts"]["output_tail"]


def test_smoke_gpu_with_an_old_driver_fails(
    cli: Callable[..., Any], gpu_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""}, version="1.0+cu130")
    machine = {
        "nvidia": {
            "driver_version": "550.54.15",
            "cuda_driver_version": "12.4",
            "gpus": [{"name": "NVIDIA A100", "compute_capability": "8.0"}],
        }
    }
    monkeypatch.setenv("WHEELYARD_DETECT_FILE", str(override(tmp_path, machine)))
    result = smoke(cli, wheel, gpu_project)
    assert result.exit_code == 1
    out = " ".join(result.stdout.split())
    assert "gpu-driver-too-old: driver 550.54.15 is older than 580.65.06" in out


def test_smoke_gpu_with_only_cpu_wheels_is_bad_input(
    cli: Callable[..., Any], gpu_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""}, version="1.0")
    monkeypatch.setenv("WHEELYARD_DETECT_FILE", str(override(tmp_path, {})))
    result = smoke(cli, wheel, gpu_project, "--variant", "cpu")
    assert result.exit_code == 2
    assert "no GPU-variant wheel among the inputs was smoke-tested" in result.stderr


def test_invalid_override_file_is_bad_input(
    cli: Callable[..., Any], gpu_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = make_wheel(tmp_path, {"demo/__init__.py": b""}, version="1.0+cu130")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    monkeypatch.setenv("WHEELYARD_DETECT_FILE", str(bad))
    result = smoke(cli, wheel, gpu_project)
    assert result.exit_code == 2
    assert "GPU detection override" in result.stderr
