"""The platform wheelyard itself runs on (what ``platforms = ["native"]`` means)."""

from __future__ import annotations

import platform as _platform

from wheelyard.config.vocab import Platform

_HOSTS: dict[tuple[str, str], Platform] = {
    ("linux", "x86_64"): Platform.LINUX_X86_64,
    ("linux", "amd64"): Platform.LINUX_X86_64,
    ("linux", "aarch64"): Platform.LINUX_AARCH64,
    ("linux", "arm64"): Platform.LINUX_AARCH64,
    ("darwin", "arm64"): Platform.MACOS_ARM64,
    ("windows", "amd64"): Platform.WINDOWS_AMD64,
    ("windows", "x86_64"): Platform.WINDOWS_AMD64,
    ("windows", "arm64"): Platform.WINDOWS_ARM64,
}


def host_platform(system: str | None = None, machine: str | None = None) -> Platform | None:
    """The host's Platform, or None on a host wheelyard cannot build for."""
    key = ((system or _platform.system()).lower(), (machine or _platform.machine()).lower())
    return _HOSTS.get(key)
