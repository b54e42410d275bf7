"""Detect what this machine has; the only module that asks NVML or runs ``nvidia-smi``.

- NVIDIA: NVML through the ``nvidia-ml-py`` bindings (driver's CUDA version, each GPU's compute
  capability), falling back to ``nvidia-smi`` when NVML cannot be loaded;
- AMD: ROCm version from ``/opt/rocm/.info/version``, gfx targets from the KFD topology in sysfs;
- x86-64 microarchitecture level (v1-v4) from ``/proc/cpuinfo`` flags.

Each detector sits behind one Protocol; an override file replaces them all (reproducible CI).
:func:`detect` assembles :class:`PlatformFacts`; :mod:`wheelyard.host.gpu` is the GPU view of them.
"""

from __future__ import annotations

import contextlib
import platform
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

from wheelyard import proc
from wheelyard.errors import ProcessError
from wheelyard.host.facts import COMPUTE_CAPABILITY, NvidiaGpu, PlatformFacts, load_override

DETECT_TIMEOUT = 60.0
"""Seconds an external detection command (``nvidia-smi``) may take."""

# x86-64 psABI levels, as /proc/cpuinfo spells the flags (lzcnt is "abm").
X86_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"}),
    frozenset({"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}),
    frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
)


@dataclass(frozen=True, kw_only=True)
class Found:
    """Part of the facts, from one detector."""

    values: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Roots:
    """Where detectors look (tests point these at fixture trees)."""

    proc: Path = Path("/proc")
    sys: Path = Path("/sys")
    rocm: Path = Path("/opt/rocm")


class Detector(Protocol):
    @property
    def part(self) -> str:
        """The part of the facts it finds: ``nvidia``, ``amd`` or ``x86_64``."""

    def detect(self, roots: Roots) -> Found: ...


def cuda_version_from_int(value: int) -> str:
    """NVML's 12090 -> ``12.9``."""
    return f"{value // 1000}.{(value % 1000) // 10}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NvmlDetector:
    part = "nvidia"

    def detect(self, roots: Roots) -> Found:  # noqa: ARG002 - NVML needs no paths
        try:
            import pynvml  # type: ignore[import-untyped]
        except ImportError as exc:
            return Found(notes=(f"nvidia-ml-py is not installed ({exc})",))
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            return Found(notes=(f"NVML: {exc}",))
        try:
            driver = _text(pynvml.nvmlSystemGetDriverVersion())
            try:
                cuda = cuda_version_from_int(int(pynvml.nvmlSystemGetCudaDriverVersion_v2()))
            except pynvml.NVMLError:
                cuda = None
            gpus = []
            for index in range(int(pynvml.nvmlDeviceGetCount())):
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
                gpus.append(
                    NvidiaGpu(
                        name=_text(pynvml.nvmlDeviceGetName(handle)),
                        compute_capability=f"{major}.{minor}",
                    )
                )
        except pynvml.NVMLError as exc:
            return Found(notes=(f"NVML: {exc}",))
        finally:
            with contextlib.suppress(pynvml.NVMLError):
                pynvml.nvmlShutdown()
        return Found(
            values={"cuda_driver_version": cuda, "nvidia_driver": driver, "nvidia_gpus": gpus},
            source="nvml",
        )


CUDA_IN_SMI = re.compile(r"CUDA Version:\s*(\d+\.\d+)")


@dataclass(frozen=True)
class NvidiaSmiDetector:
    """``nvidia-smi --query-gpu``, for machines where NVML cannot be loaded in-process."""

    executable: str = "nvidia-smi"
    part: ClassVar[str] = "nvidia"

    def detect(self, roots: Roots) -> Found:  # noqa: ARG002 - found on PATH
        smi = shutil.which(self.executable)
        if smi is None:
            return Found(notes=(f"{self.executable} is not on PATH",))
        try:
            rows = proc.run(
                [smi, "--query-gpu=index,name,driver_version,compute_cap", "--format=csv,noheader"],
                timeout=DETECT_TIMEOUT,
            ).output
            banner = proc.run([smi], timeout=DETECT_TIMEOUT, check=False).output
        except ProcessError as exc:
            tail = f": {exc.output_tail}" if exc.output_tail else ""
            return Found(notes=(f"{self.executable}: {exc.message}{tail}",))
        gpus, driver = [], None
        for line in rows.splitlines():
            fields = [f.strip() for f in line.split(",")]
            if len(fields) == 4 and fields[0].isdigit() and COMPUTE_CAPABILITY.match(fields[3]):
                gpus.append(NvidiaGpu(name=fields[1], compute_capability=fields[3]))
                driver = fields[2]
        match = CUDA_IN_SMI.search(banner)
        return Found(
            values={
                "cuda_driver_version": match.group(1) if match else None,
                "nvidia_driver": driver,
                "nvidia_gpus": gpus,
            },
            source="nvidia-smi",
        )


def gfx_name(target_version: int) -> str:
    """KFD's ``gfx_target_version`` 90402 -> ``gfx942``, 90010 -> ``gfx90a``."""
    major, rest = divmod(target_version, 10000)
    minor, step = divmod(rest, 100)
    return f"gfx{major}{minor:x}{step:x}"


class RocmDetector:
    part = "amd"

    def detect(self, roots: Roots) -> Found:
        version = None
        info = roots.rocm / ".info" / "version"
        if info.is_file():
            found = re.match(r"^(\d+)\.(\d+)", info.read_text(encoding="utf-8").strip())
            version = f"{found.group(1)}.{found.group(2)}" if found else None
        archs: list[str] = []
        nodes = roots.sys / "class" / "kfd" / "kfd" / "topology" / "nodes"
        for props in sorted(nodes.glob("*/properties")) if nodes.is_dir() else []:
            for line in props.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition(" ")
                if key == "gfx_target_version" and value.strip().isdigit() and int(value):
                    name = gfx_name(int(value))
                    if name not in archs:
                        archs.append(name)
        if version is None and not archs:
            return Found(notes=("no ROCm installation or AMD GPU found",))
        return Found(values={"rocm_version": version, "gfx_archs": archs}, source="sysfs")


def x86_64_level(flags: set[str]) -> int:
    level = 0
    for required in X86_LEVELS:
        if not required <= flags:
            break
        level += 1
    return level


class CpuLevelDetector:
    part = "x86_64"

    def detect(self, roots: Roots) -> Found:
        if platform.machine().lower() not in ("x86_64", "amd64"):
            return Found()
        try:
            text = (roots.proc / "cpuinfo").read_text(encoding="utf-8")
        except OSError as exc:
            return Found(notes=(f"cannot read cpuinfo: {exc.strerror or exc}",))
        for line in text.splitlines():
            if line.startswith("flags"):
                level = x86_64_level(set(line.partition(":")[2].split()))
                return Found(values={"x86_64_level": level or None}, source="cpuinfo")
        return Found(notes=("no CPU flags in cpuinfo",))


DETECTORS: Mapping[str, tuple[Detector, ...]] = {
    "nvidia": (NvmlDetector(), NvidiaSmiDetector()),
    "amd": (RocmDetector(),),
    "x86_64": (CpuLevelDetector(),),
}
"""For each part, detectors tried in order until one finds something."""


def detect(
    *,
    override: Path | None = None,
    roots: Roots | None = None,
    detectors: Mapping[str, Sequence[Detector]] | None = None,
) -> PlatformFacts:
    """The machine's facts, or those of ``override`` (a JSON file) when given.

    ``detectors`` replaces :data:`DETECTORS`: only the parts it names are detected.
    """
    if override is not None:
        return load_override(override)
    roots = roots or Roots()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    notes: list[str] = []
    for part, chain in (DETECTORS if detectors is None else detectors).items():
        for detector in chain:
            found = detector.detect(roots)
            notes.extend(found.notes)
            if found.source is not None:
                values.update({k: v for k, v in found.values.items() if v is not None})
                sources[part] = found.source
                break
    facts = PlatformFacts(sources=sources, notes=tuple(notes))
    if "nvidia_gpus" in values:
        values["nvidia_gpus"] = tuple(values["nvidia_gpus"])
    if "gfx_archs" in values:
        values["gfx_archs"] = tuple(values["gfx_archs"])
    return replace(facts, **values)
