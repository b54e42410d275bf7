"""Which NVIDIA GPUs this machine has: the GPU view of :mod:`wheelyard.host.detect`'s facts.

The detectors are the same as ``wheelyard detect``'s (NVML, else ``nvidia-smi``), and so is the
override file (the CLI takes it from ``WHEELYARD_DETECT_FILE``); only its ``nvidia`` section
is used here::

    {"nvidia": {"driver_version": "580.82.07", "cuda_driver_version": "13.0",
                "gpus": [{"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}]}}

``{}`` (or ``"nvidia": null``) describes a machine without an NVIDIA GPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wheelyard.host.detect import DETECTORS, Detector, detect
from wheelyard.host.facts import OVERRIDE, PlatformFacts, load_override

NVIDIA = "nvidia"
NO_GPU_FROM = {"nvml": "NVML reports no NVIDIA GPU", "nvidia-smi": "nvidia-smi lists no GPU"}
"""The reason given when a detector answers with no GPU."""


@dataclass(frozen=True, kw_only=True)
class Gpu:
    index: int
    """Position in the driver's enumeration (NVML and ``nvidia-smi`` order)."""
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
    """``nvml``, ``nvidia-smi``, ``override <file>``, or ``none``."""
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


def gpu_inventory(facts: PlatformFacts) -> GpuInventory:
    """The NVIDIA part of ``facts``."""
    found = facts.sources.get(NVIDIA)
    if found is None:
        return GpuInventory(
            vendor=NVIDIA,
            source="none",
            reason="no NVIDIA driver found (" + "; ".join(facts.notes) + ")",
        )
    if found.startswith(OVERRIDE):
        path = found.removeprefix(OVERRIDE)
        source, no_gpu = f"override {path}", f"{path} lists no GPU"
    else:
        source, no_gpu = found, NO_GPU_FROM.get(found, f"{found} lists no GPU")
    gpus = tuple(
        Gpu(index=index, name=gpu.name, compute_capability=gpu.compute_capability)
        for index, gpu in enumerate(facts.nvidia_gpus)
    )
    return GpuInventory(
        vendor=NVIDIA,
        source=source,
        driver=facts.nvidia_driver,
        cuda=facts.cuda_driver_version,
        gpus=gpus,
        reason=None if gpus else no_gpu,
    )


def detect_gpus(
    *, override: Path | None = None, detectors: Sequence[Detector] | None = None
) -> GpuInventory:
    """The NVIDIA GPUs here: from ``override`` when given, else the first detector that answers
    (:data:`~wheelyard.host.detect.DETECTORS`' ``nvidia`` chain unless ``detectors`` is given).

    An unreadable or invalid override file raises :class:`~wheelyard.errors.DetectError`.
    """
    if override is not None:
        return gpu_inventory(load_override(override, what="GPU detection override"))
    chain = DETECTORS[NVIDIA] if detectors is None else tuple(detectors)
    return gpu_inventory(detect(detectors={NVIDIA: chain}))
