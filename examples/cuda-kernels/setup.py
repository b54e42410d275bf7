"""Build cuda_kernels: link the kernel library that tools/build_native.sh compiled.

`bash tools/build_native.sh` (wheelyard's native-build step, run once per build job) compiles
the kernels for the job's variant into $CUDA_KERNELS_PREFIX/$VARIANT/lib/libcudakernels.a. Each
Python's build compiles only the binding and links that library, plus cudart_static for CUDA
builds, so the wheel needs no libcudart.so (libcuda.so.1 is loaded at run time only). When the
library is missing, stale, or was built for another variant or architecture list, this script
runs build_native.sh itself, so a plain `pip install .` works (CPU unless VARIANT says cuNNN).

Environment (the same as build_native.sh reads):
    BUILD_VERSION         version of the wheel (default: version.txt)
    VARIANT, GPU_ARCH_TYPE, TORCH_CUDA_ARCH_LIST, CUDA_HOME
    CUDA_KERNELS_PREFIX   where build_native.sh puts its output (default: build/native); when
                          set, the library must already be there and match (no rebuild here)
"""

import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
SOURCES = sorted(p for p in (HERE / "csrc").rglob("*") if p.suffix in {".h", ".cpp", ".cu"})


def package_version() -> str:
    """BUILD_VERSION when the build farm sets it (nightlies), else the base version."""
    return os.environ.get("BUILD_VERSION") or (HERE / "version.txt").read_text().strip()


def requested_backend() -> str:
    kind = os.environ.get("GPU_ARCH_TYPE")
    if kind:
        return kind
    variant = os.environ.get("VARIANT", "cpu")
    return "cuda" if variant.startswith("cu") and variant[2:].isdigit() else "cpu"


def read_stamp(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines() if path.is_file() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def mismatch(stamp: dict[str, str], library: Path, backend: str) -> str | None:
    """Why the prebuilt library cannot be used, or None when it matches this build."""
    if not library.is_file() or not stamp:
        return f"{library} does not exist"
    if stamp.get("BACKEND") != backend:
        return f"it was built for {stamp.get('BACKEND')}, this build wants {backend}"
    wanted_arch = os.environ.get("TORCH_CUDA_ARCH_LIST", "7.5;8.0;8.6;9.0")
    if backend == "cuda" and stamp.get("TORCH_CUDA_ARCH_LIST") != wanted_arch:
        return f"it was built for {stamp.get('TORCH_CUDA_ARCH_LIST')}, not {wanted_arch}"
    built = library.stat().st_mtime
    newer = [s for s in SOURCES if s.stat().st_mtime > built]
    if newer:
        return f"{newer[0].relative_to(HERE)} changed since it was built"
    return None


def kernel_library(backend: str) -> tuple[Path, dict[str, str]]:
    """The library to link (built now if needed) and what it was built for."""
    explicit = os.environ.get("CUDA_KERNELS_PREFIX")
    prefix = Path(explicit or "build/native")
    prefix = prefix if prefix.is_absolute() else HERE / prefix
    directory = prefix / os.environ.get("VARIANT", backend)
    library = directory / "lib" / "libcudakernels.a"
    problem = mismatch(read_stamp(directory / "build.env"), library, backend)
    if problem is None:
        print(f"cuda-kernels: linking prebuilt {library}", file=sys.stderr)
        return library, read_stamp(directory / "build.env")
    if explicit:
        sys.exit(
            f"cuda-kernels: cannot use {library}: {problem}; run `bash tools/build_native.sh` "
            "with this build's VARIANT and TORCH_CUDA_ARCH_LIST, or unset CUDA_KERNELS_PREFIX"
        )
    print(f"cuda-kernels: building the kernel library ({problem})", file=sys.stderr)
    subprocess.run(["bash", str(HERE / "tools/build_native.sh")], check=True, cwd=HERE)
    return library, read_stamp(directory / "build.env")


def cuda_library_dirs(cuda_home: str) -> list[str]:
    """Where libcudart_static.a lives in the toolkit (lib64, or the targets/ layout)."""
    candidates = [Path(cuda_home) / "lib64", Path(cuda_home) / "lib"]
    candidates += sorted((Path(cuda_home) / "targets").glob("*/lib"))
    found = [str(d) for d in candidates if (d / "libcudart_static.a").is_file()]
    if not found:
        sys.exit(f"cuda-kernels: no libcudart_static.a under {cuda_home}")
    return found


def extension() -> Extension:
    backend = requested_backend()
    library, stamp = kernel_library(backend)
    libraries: list[str] = []
    library_dirs: list[str] = []
    if backend == "cuda":
        library_dirs = cuda_library_dirs(stamp["CUDA_HOME"])
        libraries = ["cudart_static", "dl", "rt", "pthread"]
    return Extension(
        "cuda_kernels._ext",
        sources=["src/cuda_kernels/_ext.cpp"],
        include_dirs=["csrc/include"],
        extra_objects=[str(library)],
        libraries=libraries,
        library_dirs=library_dirs,
        depends=[str(library)],
        extra_compile_args=["-std=c++17", "-fvisibility=hidden"],
        # Keep the static libraries' symbols (cudart's included) out of the module's exports.
        extra_link_args=["-Wl,--exclude-libs,ALL"],
        language="c++",
    )


setup(
    version=package_version(),
    ext_modules=[extension()],
    # One setuptools build tree per variant: an extension built for another variant must never
    # be picked up as up to date.
    options={"build": {"build_base": f"build/py-{os.environ.get('VARIANT', requested_backend())}"}},
)
