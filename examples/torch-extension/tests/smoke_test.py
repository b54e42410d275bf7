"""Smoke test for an installed torch-extension wheel.

    python tests/smoke_test.py

Runs the compiled operator on the CPU and compares it with the same computation in plain torch;
then, when this build has the CUDA kernel and a GPU is present, on the GPU. Set
TORCH_EXTENSION_REQUIRE_GPU=1 on GPU runners (`wheelyard smoke --gpu --env
TORCH_EXTENSION_REQUIRE_GPU=1`) so that a CUDA build without a usable GPU fails instead of
passing on the CPU alone.
"""

import os
import sys

import torch

import torch_extension


def check(device: str) -> None:
    generator = torch.Generator().manual_seed(20261206)
    for shape in ((0,), (1,), (1000,), (257, 33)):
        x = torch.randn(shape, generator=generator).to(device)
        y = torch.randn(shape, generator=generator).to(device)
        out = torch_extension.scaled_add(x, y, 0.25)
        assert out.device == x.device and out.shape == x.shape, (out.device, out.shape)
        torch.testing.assert_close(out, x + 0.25 * y)
    strided = torch.arange(12.0).reshape(3, 4).t().to(device)  # not contiguous
    torch.testing.assert_close(torch_extension.scaled_add(strided, strided, 2.0), 3 * strided)


def main() -> int:
    cuda_build = torch_extension.has_cuda()
    devices = torch.cuda.device_count() if cuda_build else 0
    print(
        f"torch-extension on torch {torch.__version__} (cuda {torch.version.cuda}): "
        f"cuda kernel={cuda_build} devices={devices}"
    )
    check("cpu")
    print("cpu: scaled_add matches torch")
    required = os.environ.get("TORCH_EXTENSION_REQUIRE_GPU") == "1"
    if cuda_build and devices > 0:
        check("cuda")
        print(f"cuda: scaled_add matches torch on {torch.cuda.get_device_name(0)}")
    elif required:
        print("a GPU was required but none is usable", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
