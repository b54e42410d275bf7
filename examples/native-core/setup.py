"""Build native_core: link the prebuilt C++ core when there is one, else compile it in.

`bash tools/build_core.sh` (wheelyard's native-build step, run once per build job) compiles the
Python-independent core into $NATIVE_CORE_PREFIX/lib/libnativecore.a; each Python's build then
compiles only the binding and links that archive. Without a prebuilt core (a plain
`pip install .`), the core's sources are compiled into the extension itself.

Environment:
    BUILD_VERSION       version of the wheel (default: version.txt)
    NATIVE_CORE_PREFIX  where the prebuilt core lives (default: build/native, relative paths are
                        relative to this directory); when set, the library must exist and be
                        newer than the core's sources, or the build fails instead of silently
                        compiling the core again
    VARIANT             accelerator variant recorded in native_core.build_info() (default: cpu)
"""

import os
import re
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
CORE_SOURCES = sorted(p.relative_to(HERE).as_posix() for p in (HERE / "core/src").glob("*.cpp"))
CORE_HEADERS = sorted(
    p.relative_to(HERE).as_posix() for p in (HERE / "core").rglob("*") if p.suffix in {".h", ".hpp"}
)
BINDING = "src/native_core/_native.cpp"
COMPILE_ARGS = ["-std=c++17", "-fvisibility=hidden"]


def package_version() -> str:
    """BUILD_VERSION when the build farm sets it (nightlies), else the base version."""
    return os.environ.get("BUILD_VERSION") or (HERE / "version.txt").read_text().strip()


def prebuilt_core() -> Path | None:
    """The prebuilt core library to link, or None to compile the core from source."""
    explicit = os.environ.get("NATIVE_CORE_PREFIX")
    prefix = Path(explicit or "build/native")
    library = (prefix if prefix.is_absolute() else HERE / prefix) / "lib" / "libnativecore.a"
    if not library.is_file():
        if explicit:
            sys.exit(
                f"native-core: NATIVE_CORE_PREFIX={explicit} but {library} does not exist; "
                "run `bash tools/build_core.sh` first, or unset NATIVE_CORE_PREFIX"
            )
        return None
    built = library.stat().st_mtime
    newer = [s for s in CORE_SOURCES + CORE_HEADERS if (HERE / s).stat().st_mtime > built]
    if newer:
        message = f"native-core: {library} is older than {newer[0]}"
        if explicit:
            sys.exit(f"{message}; run `bash tools/build_core.sh` again")
        print(f"{message}; compiling the core from source", file=sys.stderr)
        return None
    return library


def native_extension(library: Path | None, variant: str) -> Extension:
    linkage = "prebuilt" if library else "source"
    print(f"native-core: {linkage} core" + (f" ({library})" if library else ""), file=sys.stderr)
    return Extension(
        "native_core._native",
        sources=[BINDING] if library else [BINDING, *CORE_SOURCES],
        include_dirs=["core/include"],
        extra_objects=[str(library)] if library else [],
        depends=[str(library), *CORE_HEADERS] if library else CORE_HEADERS,
        define_macros=[
            ("NATIVE_CORE_LINKAGE", f'"{linkage}"'),
            ("NATIVE_CORE_VARIANT", f'"{variant}"'),
        ],
        extra_compile_args=COMPILE_ARGS,
        language="c++",
    )


LIBRARY = prebuilt_core()
VARIANT = os.environ.get("VARIANT", "cpu")
if not re.fullmatch(r"[0-9a-z_.]+", VARIANT):
    VARIANT = "unknown"

setup(
    version=package_version(),
    ext_modules=[native_extension(LIBRARY, VARIANT)],
    # One setuptools build tree per variant and core linkage: an extension built another way
    # must never be picked up as up to date.
    options={"build": {"build_base": f"build/py-{VARIANT}-{'prebuilt' if LIBRARY else 'source'}"}},
)
