"""CUDA device code inside a wheel's ELF files: which GPU architectures it really carries.

nvcc embeds device code in the ``.nv_fatbin`` section as one or more fat binaries (magic
``0xBA55ED50``). Each holds entries with a small header: kind (1 = PTX, 2 = cubin/ELF), header
size, payload size and the target architecture (``90`` for sm_90 / compute_90). Only headers
are read, so compressed payloads need no decompression. Read with pyelftools; no cuobjdump.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from wheelyard.errors import WheelError

FATBIN_MAGIC = 0xBA55ED50
FATBIN_SECTION = ".nv_fatbin"
_FATBIN_HEADER = struct.Struct("<IHHQ")  # magic, version, header size, size of the entries
_ENTRY_HEADER = struct.Struct("<HHIQ")  # kind, version, header size, payload size
_ARCH_OFFSET = 28
_KINDS = {1: "ptx", 2: "cubin"}


@dataclass(frozen=True, order=True)
class DeviceCode:
    arch: int
    """``90`` for sm_90; ``100`` for sm_100."""
    kind: str
    """``cubin`` (runs on that architecture) or ``ptx`` (JIT-compiled by the driver)."""

    def __str__(self) -> str:
        return f"{'sm' if self.kind == 'cubin' else 'compute'}_{self.arch}"


def parse_fatbin(data: bytes) -> tuple[DeviceCode, ...]:
    """Every entry of every fat binary in ``data`` (a ``.nv_fatbin`` section)."""
    found: set[DeviceCode] = set()
    pos = 0
    while pos + _FATBIN_HEADER.size <= len(data):
        magic, _, header_size, size = _FATBIN_HEADER.unpack_from(data, pos)
        if magic != FATBIN_MAGIC:
            pos += 8  # fat binaries are 8-byte aligned in the section
            continue
        offset, end = pos + header_size, pos + header_size + size
        if end > len(data) or header_size < _FATBIN_HEADER.size:
            raise WheelError(f"truncated fat binary at offset {pos} of {FATBIN_SECTION}")
        while offset + _ENTRY_HEADER.size <= end:
            kind, _, entry_header, payload = _ENTRY_HEADER.unpack_from(data, offset)
            if entry_header < _ARCH_OFFSET + 4 or offset + entry_header + payload > end:
                raise WheelError(f"malformed fat binary entry at offset {offset}")
            (arch,) = struct.unpack_from("<I", data, offset + _ARCH_OFFSET)
            if kind in _KINDS:
                found.add(DeviceCode(arch=arch, kind=_KINDS[kind]))
            offset += entry_header + payload
        pos = end
    return tuple(sorted(found))


def elf_device_code(elf_bytes: bytes) -> tuple[DeviceCode, ...]:
    """Device code of one ELF file; empty when it has none (or is not ELF)."""
    try:
        elf = ELFFile(io.BytesIO(elf_bytes))
        section = elf.get_section_by_name(FATBIN_SECTION)
    except ELFError:
        return ()
    if section is None:
        return ()
    return parse_fatbin(section.data())


def arch_numbers(arch_list: str) -> tuple[int, ...]:
    """``"7.5;8.0;9.0"`` (TORCH_CUDA_ARCH_LIST style, ``+PTX`` ignored) -> ``(75, 80, 90)``."""
    numbers = []
    for raw in arch_list.replace(",", ";").replace(" ", ";").split(";"):
        item = raw.strip().removesuffix("+PTX")
        if item:
            major, _, minor = item.partition(".")
            numbers.append(int(major) * 10 + int(minor or 0))
    return tuple(numbers)


def missing_cubins(found: Iterable[DeviceCode], arch_list: str) -> tuple[int, ...]:
    """Architectures of ``arch_list`` with no cubin in ``found``."""
    have = {code.arch for code in found if code.kind == "cubin"}
    return tuple(arch for arch in arch_numbers(arch_list) if arch not in have)
