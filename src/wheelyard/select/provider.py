"""Which variant property values this machine supports, and in which order of preference.

PEP 825 leaves the source of the "ordered lists of compatible features and values" to a later
PEP; wheelyard answers it from the detected facts, for the namespaces it builds:

- ``nvidia :: cuda_version_lower_bound :: X``: X <= the driver's CUDA version, newest first;
- ``nvidia :: sm_arch :: NN_real`` (a GPU of exactly sm_NN) before ``NN_virtual`` (PTX that a
  GPU of sm_NN or newer can JIT), newest first;
- ``amd :: rocm_version :: X`` (X <= installed ROCm), ``amd :: gfx_arch :: gfxNNN``;
- ``intel :: device_ip :: X``; ``x86_64 :: level :: vN`` (N <= the CPU's level, highest first).

A feature wheelyard does not know is never compatible.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from wheelyard.host.facts import PlatformFacts

Rank = tuple[int, ...]

FEATURE_ORDER: dict[str, tuple[str, ...]] = {
    "nvidia": ("cuda_version_lower_bound", "sm_arch"),
    "amd": ("rocm_version", "gfx_arch"),
    "intel": ("device_ip",),
    "x86_64": ("level",),
}
SM_ARCH = re.compile(r"^(\d+)[af]?_(real|virtual)$")


def _version_rank(value: str, limit: str | None) -> Rank | None:
    if limit is None:
        return None
    try:
        wanted, have = Version(value), Version(limit)
    except InvalidVersion:
        return None
    if wanted > have:
        return None
    release = [*wanted.release, 0, 0, 0][:3]
    return tuple(-part for part in release)


class Provider:
    """Ranks property values for one machine: None = incompatible, lower = preferred."""

    def __init__(self, facts: PlatformFacts) -> None:
        self.facts = facts
        self.sms = [int(g.sm) for g in facts.nvidia_gpus]

    def feature_index(self, namespace: str, feature: str) -> int | None:
        order = FEATURE_ORDER.get(namespace, ())
        return order.index(feature) if feature in order else None

    def rank(self, namespace: str, feature: str, value: str) -> Rank | None:
        facts = self.facts
        match (namespace, feature):
            case ("nvidia", "cuda_version_lower_bound"):
                return _version_rank(value, facts.cuda_driver_version)
            case ("nvidia", "sm_arch"):
                found = SM_ARCH.match(value)
                if found is None:
                    return None
                sm = int(found.group(1))
                if found.group(2) == "real":
                    return (0, self.sms.index(sm)) if sm in self.sms else None
                return (1, -sm) if any(have >= sm for have in self.sms) else None
            case ("amd", "rocm_version"):
                return _version_rank(value, facts.rocm_version)
            case ("amd", "gfx_arch"):
                archs = list(facts.gfx_archs)
                return (archs.index(value),) if value in archs else None
            case ("intel", "device_ip"):
                ips = list(facts.intel_device_ips)
                return (ips.index(value),) if value in ips else None
            case ("x86_64", "level"):
                level = facts.x86_64_level
                found = re.fullmatch(r"v?(\d)", value)
                if level is None or found is None or int(found.group(1)) > level:
                    return None
                return (-int(found.group(1)),)
        return None

    def describe(self, namespace: str, feature: str) -> str:
        """What this machine offers for a feature (for explanations)."""
        facts = self.facts
        match (namespace, feature):
            case ("nvidia", "cuda_version_lower_bound"):
                if facts.cuda_driver_version is None:
                    return "no NVIDIA driver"
                return f"the driver supports CUDA {facts.cuda_driver_version}"
            case ("nvidia", "sm_arch"):
                if not self.sms:
                    return "no NVIDIA GPU"
                return "GPU " + ", ".join(f"sm_{sm}" for sm in self.sms)
            case ("amd", "rocm_version"):
                return f"ROCm {facts.rocm_version}" if facts.rocm_version else "no ROCm"
            case ("amd", "gfx_arch"):
                return ", ".join(facts.gfx_archs) or "no AMD GPU"
            case ("intel", "device_ip"):
                return ", ".join(facts.intel_device_ips) or "no Intel GPU"
            case ("x86_64", "level"):
                level = facts.x86_64_level
                return f"x86-64 v{level}" if level else "not an x86-64 CPU"
        return f"wheelyard cannot detect {namespace} :: {feature}"
