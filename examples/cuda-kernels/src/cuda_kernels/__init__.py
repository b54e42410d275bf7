"""cuda_kernels: saxpy, sum and matmul as CUDA kernels, with a CPU implementation.

The wheel for a CUDA variant (cu126, cu128, cu130) holds the kernels and the CPU fallback; the
cpu variant holds the CPU implementation only. ``device=None`` picks the GPU when this build has
CUDA and a device is present, else the CPU. Inputs are float32 buffers (``array('f')``, numpy
``float32``) or sequences of numbers; results are ``array('f')``.
"""

from __future__ import annotations

from array import array
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from cuda_kernels import _ext

try:
    __version__ = version("cuda-kernels")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

Device = Literal["cpu", "cuda"]
_DEVICE_CODES = {"cpu": 0, "cuda": 1}


def backend() -> str:
    """``"cuda"`` when this build holds CUDA kernels, ``"cpu"`` for the cpu variant."""
    return str(_ext.backend())


def device_count() -> int:
    """Usable CUDA devices: 0 without a GPU, without a driver, or in the cpu variant."""
    return int(_ext.device_count())


def runtime_version() -> int:
    """CUDA runtime version this build was compiled with (13000 = 13.0), 0 for cpu."""
    return int(_ext.runtime_version())


def driver_version() -> int:
    """Newest CUDA version the installed driver supports, 0 without a driver."""
    return int(_ext.driver_version())


def device_name(index: int = 0) -> str:
    return str(_ext.device_name(index))


def default_device() -> Device:
    """Where operations run when no device is given."""
    return "cuda" if backend() == "cuda" and device_count() > 0 else "cpu"


def _device(device: Device | None) -> int:
    name = default_device() if device is None else device
    if name not in _DEVICE_CODES:
        raise ValueError(f"device must be 'cpu' or 'cuda', not {name!r}")
    return _DEVICE_CODES[name]


def _floats(values: Any) -> Any:
    """``values`` itself when it is a contiguous float32 buffer, else a float32 copy."""
    try:
        view = memoryview(values)
    except TypeError:  # a plain sequence of numbers
        return array("f", values)
    if view.format.lstrip("@=<") == "f" and view.c_contiguous:
        return values
    if view.ndim != 1:
        raise TypeError("pass a float32 buffer, or a one-dimensional buffer of numbers")
    return array("f", view.tolist())


def _zeros(count: int) -> array[float]:
    return array("f", bytes(4 * count))


def saxpy(a: float, x: Any, y: Any, *, device: Device | None = None) -> array[float]:
    """``a * x + y``, elementwise."""
    xs, ys = _floats(x), _floats(y)
    out = _zeros(memoryview(xs).nbytes // 4)
    _ext.saxpy(a, xs, ys, out, _device(device))
    return out


def sum(x: Any, *, device: Device | None = None) -> float:
    """The sum of ``x``, accumulated in double precision."""
    return float(_ext.sum(_floats(x), _device(device)))


def matmul(a: Any, b: Any, m: int, k: int, n: int, *, device: Device | None = None) -> array[float]:
    """Row-major (m x k) @ (k x n)."""
    out = _zeros(m * n)
    _ext.matmul(_floats(a), _floats(b), out, m, k, n, _device(device))
    return out


__all__ = [
    "__version__",
    "backend",
    "default_device",
    "device_count",
    "device_name",
    "driver_version",
    "matmul",
    "runtime_version",
    "saxpy",
    "sum",
]
