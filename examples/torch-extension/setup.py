"""Build torch_extension._C with torch.utils.cpp_extension.

The C++ operator (csrc/ops.cpp) is always built; for a CUDA variant (VARIANT=cuNNN, or
GPU_ARCH_TYPE=cuda, as wheelyard sets them) the CUDA kernel (csrc/ops_cuda.cu) is built too, for
TORCH_CUDA_ARCH_LIST. The wheel requires the torch minor release it was compiled against.
"""

import os
from pathlib import Path

import torch
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension, CUDAExtension


def wants_cuda() -> bool:
    kind = os.environ.get("GPU_ARCH_TYPE")
    if kind:
        return kind == "cuda"
    variant = os.environ.get("VARIANT", "cpu")
    return variant.startswith("cu") and variant[2:].isdigit()


def torch_requirement() -> str:
    major, minor = (int(p) for p in torch.__version__.split("+")[0].split(".")[:2])
    return f"torch>={major}.{minor},<{major}.{minor + 1}"


if wants_cuda():
    extension = CUDAExtension(
        "torch_extension._C",
        ["csrc/ops.cpp", "csrc/ops_cuda.cu"],
        define_macros=[("WITH_CUDA", "1")],
        extra_compile_args={"cxx": ["-O2"], "nvcc": ["-O2"]},
    )
else:
    extension = CppExtension("torch_extension._C", ["csrc/ops.cpp"], extra_compile_args=["-O2"])

setup(
    version=os.environ.get("BUILD_VERSION")
    or (Path(__file__).resolve().parent / "version.txt").read_text().strip(),
    install_requires=[torch_requirement()],
    ext_modules=[extension],
    cmdclass={"build_ext": BuildExtension.with_options(use_ninja=False)},
)
