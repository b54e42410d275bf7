"""wheel/cuda.py: device code listed from fat binary headers, checked against arch lists."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from wheelyard.errors import WheelError
from wheelyard.wheel.cuda import (
    FATBIN_MAGIC,
    DeviceCode,
    arch_numbers,
    elf_device_code,
    missing_cubins,
    parse_fatbin,
)


def entry(kind: int, arch: int, payload: bytes = b"\0" * 16) -> bytes:
    header = struct.pack("<HHIQ", kind, 0x101, 64, len(payload))
    header += struct.pack("<IIII", 0, 0, 0x10008, arch) + b"\0" * 32
    return header + payload


def fatbin(*entries: bytes) -> bytes:
    body = b"".join(entries)
    return struct.pack("<IHHQ", FATBIN_MAGIC, 1, 16, len(body)) + body


def test_entries_of_every_fat_binary_in_the_section() -> None:
    section = fatbin(entry(2, 75), entry(2, 90)) + b"\0" * 8 + fatbin(entry(1, 90), entry(2, 120))
    found = parse_fatbin(section)
    assert [str(code) for code in found] == ["sm_75", "sm_90", "compute_90", "sm_120"]
    assert missing_cubins(found, "7.5;8.0;9.0;12.0") == (80,)


def test_a_truncated_fat_binary_is_a_wheel_error() -> None:
    with pytest.raises(WheelError, match="truncated"):
        parse_fatbin(fatbin(entry(2, 90))[:-8])


def test_arch_lists_in_torch_style() -> None:
    assert arch_numbers("7.5;8.0;8.6;9.0+PTX;10.0;12.0") == (75, 80, 86, 90, 100, 120)
    assert arch_numbers("") == ()


def test_not_elf_means_no_device_code() -> None:
    assert elf_device_code(b"not an elf file") == ()


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc on the host")
def test_agrees_with_what_nvcc_was_asked_to_embed(tmp_path: Path) -> None:
    source = tmp_path / "k.cu"
    source.write_text("__global__ void add_one(int *x) { x[threadIdx.x] += 1; }\n")
    library = tmp_path / "libk.so"
    gencode = ["arch=compute_75,code=sm_75", "arch=compute_90,code=sm_90"]
    gencode.append("arch=compute_90,code=compute_90")
    flags = [arg for code in gencode for arg in ("-gencode", code)]
    subprocess.run(
        ["nvcc", "-shared", "-Xcompiler", "-fPIC", "-o", str(library), str(source), *flags],
        check=True,
        capture_output=True,
    )
    found = elf_device_code(library.read_bytes())
    assert set(found) == {
        DeviceCode(arch=75, kind="cubin"),
        DeviceCode(arch=90, kind="cubin"),
        DeviceCode(arch=90, kind="ptx"),
    }
