"""Smoke test for an installed cuda-kernels wheel.

    python tests/smoke_test.py

Checks every operation on the CPU path against Python, then, when this build has CUDA and a GPU
is present, runs the kernels on the device and checks them too; prints where it ran. With no
GPU (or no driver) a CUDA build must still import, report device_count() == 0 and fall back to
the CPU. Set CUDA_KERNELS_REQUIRE_GPU=1 on GPU runners so that a missing device fails the test.
"""

import math
import os
import random
import sys
from array import array

import cuda_kernels as ck

RNG = random.Random(20261120)


def floats(n: int) -> array:
    return array("f", [RNG.uniform(-1, 1) for _ in range(n)])


def matmul_reference(a: array, b: array, m: int, k: int, n: int) -> list[float]:
    return [
        math.fsum(a[i * k + p] * b[p * n + j] for p in range(k)) for i in range(m) for j in range(n)
    ]


def check(device: str) -> None:
    for n in (0, 1, 1000, 100_003):  # sizes that are not multiples of the block size
        x, y = floats(n), floats(n)
        out = ck.saxpy(2.5, x, y, device=device)
        assert len(out) == n
        assert all(
            math.isclose(o, 2.5 * a + b, rel_tol=1e-6, abs_tol=1e-6)
            for o, a, b in zip(out, x, y, strict=True)
        )
        assert math.isclose(ck.sum(x, device=device), math.fsum(x), rel_tol=1e-9, abs_tol=1e-9)

    assert list(ck.saxpy(2.0, [1, 2, 3], [10, 20, 30], device=device)) == [12.0, 24.0, 36.0]
    assert ck.sum([0.5] * 4097, device=device) == 2048.5

    for m, k, n in ((1, 1, 1), (16, 16, 16), (67, 45, 33), (128, 3, 200)):
        a, b = floats(m * k), floats(k * n)
        product = ck.matmul(a, b, m, k, n, device=device)
        reference = matmul_reference(a, b, m, k, n)
        assert all(
            math.isclose(p, r, rel_tol=1e-4, abs_tol=1e-4)
            for p, r in zip(product, reference, strict=True)
        ), (m, k, n)


def main() -> int:
    backend, devices = ck.backend(), ck.device_count()
    print(
        f"cuda-kernels {ck.__version__}: backend={backend} devices={devices} "
        f"runtime={ck.runtime_version()} driver={ck.driver_version()}"
    )
    check("cpu")
    print("  cpu: saxpy, sum, matmul ok")

    if backend == "cuda" and devices > 0:
        check("cuda")
        print(f"  cuda: saxpy, sum, matmul ok on {ck.device_name(0)}")
        ran_on = "cuda"
    else:
        assert ck.default_device() == "cpu"
        try:
            ck.sum([1.0], device="cuda")
        except RuntimeError as exc:
            print(f"  cuda: not available ({exc})")
        else:
            raise AssertionError("device='cuda' worked without a CUDA device")
        ran_on = "cpu"

    if os.environ.get("CUDA_KERNELS_REQUIRE_GPU") == "1" and ran_on != "cuda":
        print("CUDA_KERNELS_REQUIRE_GPU=1 but the kernels did not run on a GPU", file=sys.stderr)
        return 1
    print(f"ran on: {ran_on}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
