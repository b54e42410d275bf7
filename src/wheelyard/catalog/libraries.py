"""Shared libraries a wheel's dependency provides at run time.

A wheel built against torch links ``libc10.so`` and ``libtorch_cpu.so`` (and, in GPU builds, the
CUDA or ROCm runtimes torch's own dependencies install); ``import torch`` loads them before the
extension. Such a wheel must never carry copies: repair excludes them, and the gate accepts them
as external when the wheel requires the distribution that provides them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

TORCH_LIBRARIES = ("libtorch*.so", "libc10*.so", "libtorch_python.so", "libshm.so")
TORCH_GPU_RUNTIMES = (
    "libcudart.so*", "libcublas*.so*", "libcublasLt.so*", "libcudnn*.so*", "libnvrtc*.so*",
    "libcusparse*.so*", "libcufft*.so*", "libcurand*.so*", "libcusolver*.so*", "libnccl.so*",
    "libnvJitLink.so*", "libnvToolsExt.so*", "libcupti.so*", "libnvshmem*.so*",
    "libamdhip64.so*", "libhiprtc.so*", "librocblas.so*", "libMIOpen.so*",
)  # fmt: skip

LOADER_MODULES: Mapping[str, str] = {"torch": "torch"}
"""Distribution -> the module whose import loads its libraries into the process: an extension
that needs ``libc10.so`` imports only after ``import torch`` (its users write it that way; the
gate's import check does the same)."""

PROVIDED_LIBRARIES: Mapping[str, tuple[str, ...]] = {
    "torch": (*TORCH_LIBRARIES, *TORCH_GPU_RUNTIMES),
}
"""Distribution -> sonames (fnmatch patterns) it provides to the wheels that require it."""


def provided_by(requirements: Iterable[str]) -> dict[str, str]:
    """Each library pattern the required distributions provide -> the distribution; a
    requirement only an extra asks for provides nothing (it may not be installed)."""
    found: dict[str, str] = {}
    for text in requirements:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is not None and "extra" in str(requirement.marker):
            continue
        name = str(canonicalize_name(requirement.name))
        for pattern in PROVIDED_LIBRARIES.get(name, ()):
            found.setdefault(pattern, name)
    return found


def loader_modules(requirements: Iterable[str], needed: Iterable[str]) -> list[str]:
    """The modules to import before a wheel's own: those of the required distributions that
    provide a library the wheel's ELF files need (``torch`` for a torch extension)."""
    from fnmatch import fnmatch

    provided = provided_by(requirements)
    wanted = {dist for lib in needed for pattern, dist in provided.items() if fnmatch(lib, pattern)}
    return sorted(LOADER_MODULES[d] for d in wanted if d in LOADER_MODULES)
