"""wheel/elf.py: what real shared objects (compiled here by gcc/g++) need and export."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_verify_support import need_gcc

from wheelyard.errors import WheelError
from wheelyard.wheel.elf import (
    SymbolNeed,
    highest_version,
    is_binary,
    read_elf,
    split_version,
)

PTHREAD_C = """
#include <pthread.h>
static void *run(void *arg) { return arg; }
int demo_start(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }
__attribute__((visibility("hidden"))) int demo_hidden(void) { return 1; }
static int demo_static(void) { return 2; }
int demo_uses_static(void) { return demo_static(); }
"""


def build(
    tmp_path: Path, source: str, *flags: str, name: str = "lib.so", cxx: bool = False
) -> bytes:
    compiler = shutil.which("g++") if cxx else need_gcc()
    if compiler is None:
        pytest.skip("g++ is not installed")
    src = tmp_path / ("src.cpp" if cxx else "src.c")
    src.write_text(source)
    out = tmp_path / name
    subprocess.run([compiler, "-shared", "-fPIC", str(src), "-o", str(out), *flags], check=True)
    return out.read_bytes()


def test_needs_versions_symbols_and_exports(tmp_path: Path) -> None:
    info = read_elf(build(tmp_path, PTHREAD_C))
    assert (info.machine, info.elf_class, info.elf_type) == ("EM_X86_64", 64, "ET_DYN")
    assert info.needed == ("libc.so.6",)
    assert info.version_needs["libc.so.6"] >= {"GLIBC_2.34"}
    assert info.highest("GLIBC") == "GLIBC_2.34"
    assert info.highest("GLIBCXX") is None
    assert SymbolNeed(version="GLIBC_2.34", symbol="pthread_create", library="libc.so.6") in (
        info.symbol_needs
    )
    assert info.symbols_needing({"GLIBC_2.34"}) == (
        SymbolNeed(version="GLIBC_2.34", symbol="pthread_create", library="libc.so.6"),
    )
    assert {"demo_start", "demo_uses_static"} <= info.exported
    assert "demo_hidden" not in info.exported and "demo_static" not in info.exported
    assert ".text" in info.sections and ".note.gnu.build-id" not in info.sections


def test_runpath_and_rpath(tmp_path: Path) -> None:
    runpath = read_elf(
        build(
            tmp_path,
            "int f(void){return 1;}",
            "-Wl,-rpath,$ORIGIN/lib:/opt/x",
            "-Wl,--enable-new-dtags",
        )
    )
    assert (runpath.runpath, runpath.rpath) == (("$ORIGIN/lib", "/opt/x"), ())
    rpath = read_elf(
        build(
            tmp_path,
            "int f(void){return 1;}",
            "-Wl,-rpath,$ORIGIN",
            "-Wl,--disable-new-dtags",
            name="b.so",
        )
    )
    assert (rpath.rpath, rpath.runpath) == (("$ORIGIN",), ())


def test_cxx_library_needs_glibcxx(tmp_path: Path) -> None:
    source = (
        '#include <string>\nextern "C" int g(const char *s) { return std::string(s).size(); }\n'
    )
    info = read_elf(build(tmp_path, source, cxx=True))
    assert "libstdc++.so.6" in info.needed
    assert (info.highest("GLIBCXX") or "").startswith("GLIBCXX_3.4")


def test_debug_info_does_not_change_loaded_sections(tmp_path: Path) -> None:
    source = "int f(int x) { return x * 3 + 1; }\n"
    plain = read_elf(build(tmp_path, source, "-O1", name="a.so"))
    debug = read_elf(build(tmp_path, source, "-O1", "-g", name="b.so"))
    other = read_elf(build(tmp_path, source, "-O0", name="c.so"))
    assert plain.sections == debug.sections
    assert plain.sections[".text"] != other.sections[".text"]


def test_not_elf_and_malformed_elf_are_wheel_errors(tmp_path: Path) -> None:
    with pytest.raises(WheelError, match=r"x\.so: not an ELF file"):
        read_elf(b"MZ....", where="x.so")
    data = build(tmp_path, "int f(void){return 1;}")
    with pytest.raises(WheelError, match=r"x\.so: malformed ELF file"):
        read_elf(data[:100], where="x.so")


def test_version_helpers_and_binary_detection() -> None:
    assert split_version("GLIBC_2.2.5") == ("GLIBC", (2, 2, 5))
    assert split_version("GLIBC_PRIVATE") is None
    assert highest_version(
        ["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.4", "GLIBCXX_3.4.30"], "GLIBC"
    ) == ("GLIBC_2.34")
    assert is_binary("a/_x.so", b"\x7fELF....")
    assert is_binary("a/_x.so", b"\xcf\xfa\xed\xfe....")
    assert is_binary("a/_x.pyd", b"MZ\x90\x00")
    assert not is_binary("a/readme.txt", b"MZ is a text")
