"""Which GPUs this machine has: NVML (nvidia-ml-py), else ``nvidia-smi``, or an override file.

Detectors share one Protocol; :func:`detect_gpus` tries them in order and keeps the first that
answers. The override file (the CLI takes it from ``WHEELYARD_DETECT_FILE``, the same file
``wheelyard detect`` reads) lets tests and dry runs describe a machine::

    {"nvidia": {"driver_version": "580.82.07", "cuda_driver_version": "13.0",
                "gpus": [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}]}}

``{}`` (or ``"nvidia": null``) describes a machine without an NVIDIA GPU; other sections of that
file (``amd``, ``intel``, ``x86_64``) are not used here.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wheelyard import proc
from wheelyard.errors import ProcessError, VerifyError

NVIDIA = "nvidia"


@dataclass(frozen=True, kw_only=True)
class Gpu:
    index: int
    name: str
    compute_capability: str
    """``9.0``."""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "compute_capability": self.compute_capability,
        }


@dataclass(frozen=True, kw_only=True)
class GpuInventory:
    vendor: str
    source: str
    """``nvml``, ``nvidia-smi`` or ``override <file>``."""
    driver: str | None = None
    cuda: str | None = None
    """Highest CUDA version the driver supports (``13.0``)."""
    gpus: tuple[Gpu, ...] = ()
    reason: str | None = None
    """Why no GPU was found, when none was."""

    @property
    def present(self) -> bool:
        return bool(self.gpus)

    def to_json(self) -> dict[str, Any]:
        return {
            "vendor": self.vendor,
            "source": self.source,
            "driver": self.driver,
            "cuda": self.cuda,
            "gpus": [gpu.to_json() for gpu in self.gpus],
            "reason": self.reason,
        }


class GpuDetector(Protocol):
    name: str

    def detect(self) -> GpuInventory | None:
        """The machine's GPUs, or None when this detector cannot tell (try the next one)."""


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass
class NvmlDetector:
    """NVIDIA's management library through nvidia-ml-py (``pynvml``)."""

    name: str = "nvml"
    problems: list[str] = field(default_factory=list)

    def detect(self) -> GpuInventory | None:
        try:
            import pynvml  # type: ignore[import-untyped]
        except ImportError as exc:
            self.problems.append(f"nvidia-ml-py is not installed ({exc})")
            return None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self.problems.append(f"NVML: {exc}")
            return None
        try:
            driver = _text(pynvml.nvmlSystemGetDriverVersion())
            try:
                cuda_int = int(pynvml.nvmlSystemGetCudaDriverVersion_v2())
                cuda: str | None = f"{cuda_int // 1000}.{cuda_int % 1000 // 10}"
            except pynvml.NVMLError:
                cuda = None
            gpus = []
            for index in range(int(pynvml.nvmlDeviceGetCount())):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                gpus.append(
                    Gpu(
                        index=index,
                        name=_text(pynvml.nvmlDeviceGetName(handle)),
                        compute_capability=f"{major}.{minor}",
                    )
                )
        except pynvml.NVMLError as exc:
            self.problems.append(f"NVML: {exc}")
            return None
        finally:
            pynvml.nvmlShutdown()
        return GpuInventory(
            vendor=NVIDIA,
            source=self.name,
            driver=driver,
            cuda=cuda,
            gpus=tuple(gpus),
            reason=None if gpus else "NVML reports no NVIDIA GPU",
        )


@dataclass
class NvidiaSmiDetector:
    """``nvidia-smi --query-gpu``, for machines where NVML cannot be loaded in-process."""

    executable: str = "nvidia-smi"
    name: str = "nvidia-smi"
    problems: list[str] = field(default_factory=list)

    def detect(self) -> GpuInventory | None:
        found = shutil.which(self.executable)
        if found is None:
            self.problems.append(f"{self.executable} is not on PATH")
            return None
        try:
            query = proc.run(
                [
                    found,
                    "--query-gpu=index,name,driver_version,compute_cap",
                    "--format=csv,noheader",
                ],
                timeout=60,
            )
            banner = proc.run([found], timeout=60, check=False)
        except ProcessError as exc:
            self.problems.append(f"{self.executable}: {exc.message}: {exc.output_tail}")
            return None
        gpus = []
        driver = None
        for line in query.output.splitlines():
            fields = [f.strip() for f in line.split(",")]
            if len(fields) != 4 or not fields[0].isdigit():
                continue
            gpus.append(Gpu(index=int(fields[0]), name=fields[1], compute_capability=fields[3]))
            driver = fields[2]
        cuda_match = re.search(r"CUDA Version:\s*([0-9.]+)", banner.output)
        return GpuInventory(
            vendor=NVIDIA,
            source=self.name,
            driver=driver,
            cuda=cuda_match.group(1) if cuda_match else None,
            gpus=tuple(gpus),
            reason=None if gpus else "nvidia-smi lists no GPU",
        )


@dataclass
class OverrideDetector:
    """A JSON description of the machine (see the module docstring)."""

    path: Path
    name: str = "override"

    def detect(self) -> GpuInventory:
        source = f"override {self.path}"
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VerifyError(
                f"GPU detection override {self.path} cannot be read: {exc}",
                hint='write JSON like {"nvidia": {"driver_version": "580.82.07", '
                '"cuda_driver_version": "13.0", "gpus": [{"name": "NVIDIA H100", '
                '"compute_capability": "9.0"}]}}',
            ) from exc
        if not isinstance(data, dict):
            raise VerifyError(f"GPU detection override {self.path}: expected a JSON object")
        nvidia = data.get(NVIDIA)
        if not nvidia:
            return GpuInventory(vendor=NVIDIA, source=source, reason=f"{self.path} lists no GPU")
        try:
            gpus = tuple(
                Gpu(
                    index=index,
                    name=str(gpu["name"]),
                    compute_capability=str(gpu["compute_capability"]),
                )
                for index, gpu in enumerate(nvidia.get("gpus", []))
            )
            driver = nvidia.get("driver_version")
            cuda = nvidia.get("cuda_driver_version")
        except (KeyError, TypeError, AttributeError) as exc:
            raise VerifyError(
                f"GPU detection override {self.path}: every GPU needs 'name' and "
                f"'compute_capability' ({exc!r} is missing or wrong)"
            ) from exc
        return GpuInventory(
            vendor=NVIDIA,
            source=source,
            driver=None if driver is None else str(driver),
            cuda=None if cuda is None else str(cuda),
            gpus=gpus,
            reason=None if gpus else f"{self.path} lists no GPU",
        )


def default_detectors() -> list[GpuDetector]:
    return [NvmlDetector(), NvidiaSmiDetector()]


def detect_gpus(
    *, override: Path | None = None, detectors: Sequence[GpuDetector] | None = None
) -> GpuInventory:
    """The NVIDIA GPUs here: from ``override`` when given, else the first detector that answers."""
    if override is not None:
        return OverrideDetector(override).detect()
    tried: list[str] = []
    for detector in detectors if detectors is not None else default_detectors():
        inventory = detector.detect()
        if inventory is not None:
            return inventory
        tried.extend(getattr(detector, "problems", []) or [f"{detector.name}: no answer"])
    return GpuInventory(
        vendor=NVIDIA,
        source="none",
        reason="no NVIDIA driver found (" + "; ".join(tried) + ")",
    )
