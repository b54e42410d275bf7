"""Fixture wheels for the verify, ELF and diff tests, crafted by the tests themselves.

No tests here: helpers that write one small wheel per failure mode (``write_wheel`` for
well-formed archives, ``zipfile`` directly for broken ones) and compile tiny C extensions with
the host gcc against this interpreter's headers.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import warnings
import zipfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import pytest

from wheelyard.verify.interpreters import Interpreter, query_interpreter
from wheelyard.verify.options import VerifyOptions
from wheelyard.wheel.archive import write_wheel

PY = f"cp{sys.version_info[0]}{sys.version_info[1]}"
"""This interpreter's tag (``cp311``): compiled fixtures target it."""
EXT_SUFFIX = str(sysconfig.get_config_var("EXT_SUFFIX"))

MODULE_C = """
#include <Python.h>
{prelude}
static struct PyModuleDef def = {{PyModuleDef_HEAD_INIT, "{name}", NULL, -1, NULL}};
PyMODINIT_FUNC PyInit_{name}(void) {{
    {body}
    return PyModule_Create(&def);
}}
"""

PTHREAD_PRELUDE = """
#include <pthread.h>
static void *run(void *arg) { return arg; }
int demo_start(void) { pthread_t t; return pthread_create(&t, NULL, run, NULL); }
"""


def metadata_text(name: str = "demo", version: str = "1.0", extra: str = "") -> bytes:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{extra}".encode()


def wheel_text(tags: list[str], purelib: bool) -> bytes:
    lines = ["Wheel-Version: 1.0", "Generator: wheelyard-tests", f"Root-Is-Purelib: {purelib}"]
    lines += [f"Tag: {tag}" for tag in tags]
    return ("\n".join(lines) + "\n").encode()


def make_wheel(
    directory: Path,
    files: Mapping[str, bytes],
    *,
    name: str = "demo",
    version: str = "1.0",
    tag: str = "py3-none-any",
    wheel_tags: list[str] | None = None,
    metadata_extra: str = "",
    metadata: bytes | None = None,
    modes: Mapping[str, int] | None = None,
) -> Path:
    """A well-formed wheel (fresh RECORD) holding ``files`` plus its .dist-info."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    members = dict(files)
    members[f"{dist_info}/METADATA"] = (
        metadata if metadata is not None else metadata_text(name, version, metadata_extra)
    )
    if wheel_tags is None:
        interpreter, abi, platform = tag.split("-")
        wheel_tags = [f"{interpreter}-{abi}-{p}" for p in platform.split(".")]
    members[f"{dist_info}/WHEEL"] = wheel_text(wheel_tags, purelib=tag.endswith("-any"))
    path = directory / f"{name.replace('-', '_')}-{version}-{tag}.whl"
    return write_wheel(path, members.items(), dist_info=dist_info, modes=modes)


def rewrite_zip(
    source: Path,
    target: Path,
    *,
    replace: Mapping[str, bytes] | None = None,
    add: list[tuple[str, bytes]] | None = None,
    drop: set[str] | None = None,
) -> Path:
    """Copy a wheel's members, changing some without fixing RECORD (zipfile directly)."""
    with (
        zipfile.ZipFile(source) as src,
        zipfile.ZipFile(target, "w") as out,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # duplicate names are the point of some fixtures
        for info in src.infolist():
            if drop and info.filename in drop:
                continue
            data = (replace or {}).get(info.filename, src.read(info))
            out.writestr(info.filename, data)
        for name, data in add or []:
            out.writestr(zipfile.ZipInfo(name), data)
    return target


def need_gcc() -> str:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    return gcc


def compile_extension(
    work: Path,
    name: str,
    *,
    body: str = "",
    prelude: str = "",
    flags: tuple[str, ...] = (),
) -> bytes:
    """A CPython extension module ``name`` for this interpreter, compiled by the host gcc."""
    gcc = need_gcc()
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"{name}.c"
    source.write_text(MODULE_C.format(name=name, body=body, prelude=prelude))
    output = work / f"{name}{EXT_SUFFIX}"
    include = sysconfig.get_paths()["include"]
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-O1", f"-I{include}", str(source), "-o", str(output), *flags],
        check=True,
        capture_output=True,
    )
    return output.read_bytes()


@cache
def this_interpreter() -> Interpreter:
    return query_interpreter(Path(sys.executable))


def options_here(tmp: Path, **overrides: object) -> VerifyOptions:
    """Verify options with this interpreter, throw-away folders and a private uv cache."""
    environ = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp),
        "UV_CACHE_DIR": str(tmp / "uv-cache"),
    }
    defaults: dict[str, object] = {
        "interpreters": (this_interpreter(),),
        "environ": environ,
        "work_dir": tmp,
    }
    defaults.update(overrides)
    return VerifyOptions(**defaults)  # type: ignore[arg-type]
