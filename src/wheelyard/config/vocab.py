"""Vocabularies shared by every layer: platforms, channels, accelerator kinds, consolidation."""

from __future__ import annotations

from enum import StrEnum


class Platform(StrEnum):
    """A build target: operating system and CPU architecture."""

    LINUX_X86_64 = "linux-x86_64"
    LINUX_AARCH64 = "linux-aarch64"
    MACOS_ARM64 = "macos-arm64"
    WINDOWS_AMD64 = "windows-amd64"
    WINDOWS_ARM64 = "windows-arm64"


NATIVE_PLATFORM = "native"
"""Recipe value that stands for the platform of the machine running wheelyard."""


class Channel(StrEnum):
    """Release channel: decides versions and which index tree receives the wheels."""

    NIGHTLY = "nightly"
    TEST = "test"
    RELEASE = "release"


class AcceleratorKind(StrEnum):
    CPU = "cpu"
    CUDA = "cuda"
    ROCM = "rocm"
    XPU = "xpu"

    @property
    def is_gpu(self) -> bool:
        return self is not AcceleratorKind.CPU


class PythonMode(StrEnum):
    """How the Python selection turns into wheels."""

    PER_INTERPRETER = "per-interpreter"
    """One wheel per interpreter (cp312, cp313, ...)."""
    ABI3 = "abi3"
    """One stable-ABI wheel built with the lowest interpreter, tested on every selected one."""
    PY3 = "py3"
    """One Python-independent wheel (native libraries loaded with ctypes) per platform x variant."""


class ConsolidationKind(StrEnum):
    PER_VARIANT = "per-variant"
    PER_PYTHON = "per-python"
    GROUPS = "groups"
