"""native_core: sorting, hashing, statistics, linear algebra and compression in C++.

Arrays are anything with the buffer protocol and a numeric item format: ``array.array``,
``memoryview``, numpy arrays. Functions that return arrays return ``array.array`` objects of the
input's item type; matrices are flat, row-major arrays with explicit dimensions.
"""

from __future__ import annotations

from array import array
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NamedTuple

from native_core import _native
from native_core._native import (
    compress,
    correlation,
    count_distinct,
    crc32,
    decompress,
    fnv1a64,
    is_sorted,
    quantile,
    spearman,
    xxh64,
)

try:
    __version__ = version("native-core")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

ALGORITHMS = {"introsort": 0, "mergesort": 1, "radixsort": 2}

# array.array typecodes by (kind, itemsize), to allocate results like a given buffer.
_TYPECODES = {
    (kind, array(code).itemsize): code
    for kind, codes in (("i", "bhilq"), ("u", "BHILQ"), ("f", "fd"))
    for code in codes
}


class Summary(NamedTuple):
    count: int
    sum: float
    mean: float
    variance: float
    min: float
    max: float


def _typecode(data: Any) -> str:
    view = memoryview(data)
    code = view.format.lstrip("@=<")
    kind = "f" if code in "fd" else "i" if code in "bhilqn" else "u"
    return _TYPECODES[kind, view.itemsize]


def _count(data: Any) -> int:
    view = memoryview(data)
    return view.nbytes // view.itemsize


def _empty(typecode: str, count: int) -> array[Any]:
    return array(typecode, bytes(array(typecode).itemsize * count))


def _algorithm(name: str) -> int:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; choose from {sorted(ALGORITHMS)}") from None


def sort(data: Any, *, algorithm: str = "introsort", reverse: bool = False) -> None:
    """Sort a writable array in place (NaNs last; radixsort: IEEE total order)."""
    _native.sort(data, _algorithm(algorithm), reverse)


def argsort(data: Any) -> array[int]:
    """The stable permutation that sorts ``data``."""
    out = _empty("q", _count(data))
    _native.argsort(data, out)
    return out


def sort_pairs(
    keys: Any, values: Any, *, algorithm: str = "mergesort", reverse: bool = False
) -> None:
    """Stable in-place sort of ``keys``, moving ``values`` (32/64-bit numbers) along."""
    _native.sort_pairs(keys, values, _algorithm(algorithm), reverse)


def top_k(data: Any, k: int, *, largest: bool = True) -> array[Any]:
    """The ``k`` largest (or smallest) values, best first."""
    out = _empty(_typecode(data), min(k, _count(data)))
    _native.top_k(data, k, out, largest)
    return out


def unique(data: Any) -> tuple[array[Any], array[int]]:
    """Sorted distinct values and their counts."""
    n = _count(data)
    values, counts = _empty(_typecode(data), n), _empty("q", n)
    distinct = _native.unique(data, values, counts)
    return values[:distinct], counts[:distinct]


def search_sorted(sorted_data: Any, queries: Any, *, right: bool = False) -> array[int]:
    """Insertion points of ``queries`` in the ascending array ``sorted_data`` (bisect)."""
    out = _empty("q", _count(queries))
    _native.search_sorted(sorted_data, queries, out, right)
    return out


def rank(data: Any) -> array[float]:
    """1-based ranks, ties averaged."""
    out = _empty("d", _count(data))
    _native.rank(data, out)
    return out


def murmur3_128(data: Any, seed: int = 0) -> int:
    """MurmurHash3 x64/128 as one integer (the digest's bytes read little-endian)."""
    h1, h2 = _native.murmur3_128(data, seed)
    return h1 | h2 << 64


def summarize(data: Any) -> Summary:
    """Count, sum, mean, sample variance, min and max in one pass."""
    return Summary(*_native.summarize(data))


def histogram(data: Any, bins: int, lo: float, hi: float) -> list[int]:
    """Counts in ``bins`` equal bins over [lo, hi]."""
    counts = _empty("Q", bins)
    _native.histogram(data, lo, hi, counts)
    return counts.tolist()


def matmul(a: Any, b: Any, m: int, k: int, n: int) -> array[float]:
    """(m x k) @ (k x n) for float32 or float64 matrices."""
    out = _empty(_typecode(a), m * n)
    _native.matmul(a, b, out, m, k, n)
    return out


def solve(a: Any, b: Any, n: int) -> array[float]:
    """x with a @ x = b; b holds one or more right-hand sides as columns (n x nrhs)."""
    nrhs = _count(b) // n if n else 0
    out = _empty(_typecode(a), n * nrhs)
    _native.solve(a, b, out, n, nrhs)
    return out


def det(a: Any, n: int) -> float:
    return float(_native.det(a, n))


def inverse(a: Any, n: int) -> array[float]:
    out = _empty(_typecode(a), n * n)
    _native.inverse(a, out, n)
    return out


def cholesky(a: Any, n: int) -> array[float]:
    """Lower-triangular L with a = L @ L.T."""
    out = _empty(_typecode(a), n * n)
    _native.cholesky(a, out, n)
    return out


def eigvalsh(a: Any, n: int) -> array[float]:
    """Eigenvalues of a symmetric matrix, ascending."""
    out = _empty(_typecode(a), n)
    _native.eigvalsh(a, out, n)
    return out


def least_squares(a: Any, b: Any, m: int, n: int) -> array[float]:
    """x minimising |a @ x - b| for an (m x n) matrix of full column rank."""
    out = _empty(_typecode(a), n)
    _native.least_squares(a, b, out, m, n)
    return out


def delta_encode(data: Any) -> bytes:
    """Integers as zigzag varints of their successive differences."""
    return bytes(_native.delta_encode(data))


def delta_decode(data: bytes, count: int, typecode: str = "q") -> array[int]:
    out = _empty(typecode, count)
    _native.delta_decode(data, out)
    return out


def build_info() -> dict[str, Any]:
    """How this extension was built: core linkage (prebuilt/source), variant, compiler."""
    return {"version": __version__, **_native.BUILD_INFO}


__all__ = [
    "ALGORITHMS",
    "Summary",
    "__version__",
    "argsort",
    "build_info",
    "cholesky",
    "compress",
    "correlation",
    "count_distinct",
    "crc32",
    "decompress",
    "delta_decode",
    "delta_encode",
    "det",
    "eigvalsh",
    "fnv1a64",
    "histogram",
    "inverse",
    "is_sorted",
    "least_squares",
    "matmul",
    "murmur3_128",
    "quantile",
    "rank",
    "search_sorted",
    "solve",
    "sort",
    "sort_pairs",
    "spearman",
    "summarize",
    "top_k",
    "unique",
    "xxh64",
]
