"""What this machine has (GPUs and their driver, ROCm, CPU level), and the override file that
describes a machine instead of detecting it.

Override file (JSON; ``wheelyard detect --platform-file F`` or ``WHEELYARD_DETECT_FILE``, which
``wheelyard smoke --gpu`` and the farm worker read too)::

    {
      "nvidia": {"cuda_driver_version": "12.9", "driver_version": "575.57.08",
                 "gpus": [{"name": "H100", "compute_capability": "9.0"}]},
      "amd": {"rocm_version": "7.0", "gfx_arch": ["gfx942"]},
      "intel": {"device_ip": ["20.1.0"]},
      "x86_64": {"level": 3}
    }

It replaces detection entirely: a section left out (or ``null``) means the machine has none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wheelyard.errors import DetectError

DETECT_FILE_ENV = "WHEELYARD_DETECT_FILE"
"""The environment variable naming an override file."""
OVERRIDE = "override:"
"""Prefix of :attr:`PlatformFacts.sources` for parts read from an override file."""

VERSION_XY = re.compile(r"^\d+\.\d+$")
COMPUTE_CAPABILITY = re.compile(r"^\d+\.\d+$")
GFX = re.compile(r"^gfx[0-9a-f]+$")


@dataclass(frozen=True, kw_only=True)
class NvidiaGpu:
    """One NVIDIA GPU; its index is its position in :attr:`PlatformFacts.nvidia_gpus`."""

    name: str
    compute_capability: str
    """``major.minor``, e.g. ``9.0`` for an H100 (sm_90)."""

    @property
    def sm(self) -> str:
        major, minor = self.compute_capability.split(".")
        return f"{major}{minor}"


@dataclass(frozen=True, kw_only=True)
class PlatformFacts:
    """The machine's facts, detected or read from an override file."""

    cuda_driver_version: str | None = None
    """Newest CUDA version the NVIDIA driver supports (``12.9``); None: no NVIDIA driver."""
    nvidia_driver: str | None = None
    nvidia_gpus: tuple[NvidiaGpu, ...] = ()
    rocm_version: str | None = None
    gfx_archs: tuple[str, ...] = ()
    intel_device_ips: tuple[str, ...] = ()
    x86_64_level: int | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    """How each part was found: ``nvml``, ``nvidia-smi``, ``sysfs``, ``override:<file>`` ..."""
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "nvidia": None
            if self.cuda_driver_version is None and not self.nvidia_gpus
            else {
                "cuda_driver_version": self.cuda_driver_version,
                "driver_version": self.nvidia_driver,
                "gpus": [asdict(g) for g in self.nvidia_gpus],
            },
            "amd": None
            if self.rocm_version is None and not self.gfx_archs
            else {"rocm_version": self.rocm_version, "gfx_arch": list(self.gfx_archs)},
            "intel": {"device_ip": list(self.intel_device_ips)} if self.intel_device_ips else None,
            "x86_64": {"level": self.x86_64_level} if self.x86_64_level is not None else None,
            "sources": dict(self.sources),
            "notes": list(self.notes),
        }

    def summary(self) -> list[str]:
        lines = []
        if self.cuda_driver_version or self.nvidia_gpus:
            gpus = ", ".join(f"{g.name} (sm_{g.sm})" for g in self.nvidia_gpus) or "no GPU"
            lines.append(
                f"NVIDIA: driver {self.nvidia_driver or '?'} supports CUDA "
                f"{self.cuda_driver_version or '?'}; {gpus}"
            )
        else:
            lines.append("NVIDIA: no driver / GPU found")
        if self.rocm_version or self.gfx_archs:
            lines.append(
                f"AMD: ROCm {self.rocm_version or '?'}; {', '.join(self.gfx_archs) or 'no GPU'}"
            )
        if self.intel_device_ips:
            lines.append(f"Intel GPU device IPs: {', '.join(self.intel_device_ips)}")
        if self.x86_64_level is not None:
            lines.append(f"x86-64 microarchitecture level: v{self.x86_64_level}")
        return lines


def _section(data: Mapping[str, Any], name: str, where: str) -> Mapping[str, Any]:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DetectError(f"{where}: '{name}' must be an object or null")
    return value


def facts_from_json(data: Any, *, source: str, what: str = "platform override") -> PlatformFacts:
    """Validate an override document; every problem is reported at once.

    ``source`` names the document (its path), ``what`` says what it is read as in messages.
    """
    where = f"{what} {source}"
    if not isinstance(data, Mapping):
        raise DetectError(f"{where}: expected a JSON object")
    problems: list[str] = []
    unknown = sorted(set(data) - {"nvidia", "amd", "intel", "x86_64", "sources", "notes"})
    if unknown:
        problems.append(f"unknown section(s) {', '.join(unknown)} (use nvidia, amd, intel, x86_64)")
    nvidia = _section(data, "nvidia", where)
    cuda = nvidia.get("cuda_driver_version")
    if cuda is not None and not VERSION_XY.match(str(cuda)):
        problems.append(f"nvidia.cuda_driver_version {cuda!r} must look like 12.9")
    gpus = []
    for index, gpu in enumerate(nvidia.get("gpus") or []):
        cc = str(gpu.get("compute_capability", "")) if isinstance(gpu, Mapping) else ""
        if not COMPUTE_CAPABILITY.match(cc):
            problems.append(f"nvidia.gpus[{index}].compute_capability {cc!r} must look like 9.0")
            continue
        assert isinstance(gpu, Mapping)
        gpus.append(NvidiaGpu(name=str(gpu.get("name", "GPU")), compute_capability=cc))
    amd = _section(data, "amd", where)
    rocm = amd.get("rocm_version")
    if rocm is not None and not VERSION_XY.match(str(rocm)):
        problems.append(f"amd.rocm_version {rocm!r} must look like 7.0")
    gfx = [str(g) for g in amd.get("gfx_arch") or []]
    problems += [f"amd.gfx_arch {g!r} must look like gfx942" for g in gfx if not GFX.match(g)]
    intel = _section(data, "intel", where)
    ips = tuple(str(ip) for ip in intel.get("device_ip") or [])
    level = _section(data, "x86_64", where).get("level")
    if level is not None and (isinstance(level, bool) or level not in (1, 2, 3, 4)):
        problems.append(f"x86_64.level {level!r} must be 1, 2, 3 or 4")
    if problems:
        raise DetectError(
            f"{where} is invalid:\n  - " + "\n  - ".join(problems),
            hint="see `wheelyard detect --json` for the format",
        )
    tag = f"{OVERRIDE}{source}"
    return PlatformFacts(
        cuda_driver_version=str(cuda) if cuda is not None else None,
        nvidia_driver=str(nvidia["driver_version"]) if nvidia.get("driver_version") else None,
        nvidia_gpus=tuple(gpus),
        rocm_version=str(rocm) if rocm is not None else None,
        gfx_archs=tuple(gfx),
        intel_device_ips=ips,
        x86_64_level=int(level) if level is not None else None,
        sources={"nvidia": tag, "amd": tag, "intel": tag, "x86_64": tag},
    )


def load_override(path: Path, *, what: str = "platform override") -> PlatformFacts:
    """The facts an override file describes; :class:`DetectError` when it is unreadable or
    invalid (``what`` names the file's use in the message)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DetectError(
            f"cannot read {what} {path}: {exc.strerror or exc}",
            hint=f"point {DETECT_FILE_ENV} / --platform-file at a JSON file",
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DetectError(
            f"{what} {path}: not valid JSON ({exc})",
            hint="see `wheelyard detect --json` for the format",
        ) from exc
    return facts_from_json(data, source=str(path), what=what)
