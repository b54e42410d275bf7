"""Smoke test for an installed native-core wheel: every core routine against Python's answer.

    python tests/smoke_test.py

Run it outside the source tree (it imports the installed package). Prints the build info, which
says whether the extension linked the prebuilt core ("prebuilt") or compiled it ("source").
"""

import bisect
import math
import random
import statistics
import sys
import zlib
from array import array
from collections import Counter

import native_core as nc

RNG = random.Random(20261120)
INT_RANGES = {
    "b": (-(2**7), 2**7 - 1),
    "B": (0, 2**8 - 1),
    "h": (-(2**15), 2**15 - 1),
    "H": (0, 2**16 - 1),
    "i": (-(2**31), 2**31 - 1),
    "I": (0, 2**32 - 1),
    "q": (-(2**63), 2**63 - 1),
    "Q": (0, 2**64 - 1),
}


def random_array(typecode: str, n: int, distinct: int | None = None) -> array:
    if typecode in "fd":
        values = [RNG.uniform(-1e6, 1e6) for _ in range(n)]
        if typecode == "f":  # round to float32 so Python compares what the core sees
            values = list(array("f", values))
    else:
        lo, hi = INT_RANGES[typecode]
        if distinct:
            pool = [RNG.randint(lo, hi) for _ in range(distinct)]
            values = [RNG.choice(pool) for _ in range(n)]
        else:
            values = [RNG.randint(lo, hi) for _ in range(n)]
    return array(typecode, values)


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def check_sorting() -> None:
    for typecode in "bBhHiIqQfd":
        data = random_array(typecode, 3000, distinct=50 if typecode in "bBhH" else None)
        for algorithm in nc.ALGORITHMS:
            for reverse in (False, True):
                work = array(typecode, data)
                nc.sort(work, algorithm=algorithm, reverse=reverse)
                assert work.tolist() == sorted(data, reverse=reverse), (typecode, algorithm)
                assert nc.is_sorted(work, descending=reverse)
        order = nc.argsort(data)
        assert order.tolist() == sorted(range(len(data)), key=data.__getitem__), typecode  # stable
        assert nc.top_k(data, 7).tolist() == sorted(data, reverse=True)[:7]
        assert nc.top_k(data, 7, largest=False).tolist() == sorted(data)[:7]
        values, counts = nc.unique(data)
        assert dict(zip(values, counts, strict=True)) == dict(sorted(Counter(data).items()))
        assert nc.count_distinct(data) == len(set(data))

    with_nan = array("d", [3.0, math.nan, -1.0, 2.0, math.nan, 0.0])
    nc.sort(with_nan)
    assert with_nan[:4].tolist() == [-1.0, 0.0, 2.0, 3.0] and all(map(math.isnan, with_nan[4:]))

    keys = array("i", [RNG.randint(0, 20) for _ in range(2000)])
    for algorithm in ("mergesort", "radixsort"):
        k, v = array("i", keys), array("q", range(len(keys)))
        nc.sort_pairs(k, v, algorithm=algorithm)
        expected = sorted(range(len(keys)), key=keys.__getitem__)  # stable
        assert v.tolist() == expected and k.tolist() == sorted(keys), algorithm

    haystack = array("q", sorted(RNG.randint(-100, 100) for _ in range(500)))
    needles = array("q", [RNG.randint(-120, 120) for _ in range(300)])
    assert nc.search_sorted(haystack, needles).tolist() == [
        bisect.bisect_left(haystack, x) for x in needles
    ]
    assert nc.search_sorted(haystack, needles, right=True).tolist() == [
        bisect.bisect_right(haystack, x) for x in needles
    ]


def check_hashing() -> None:
    data = bytes(range(256)) * 3 + b"wheelyard"
    # Reference values from the xxhash and mmh3 packages.
    assert nc.xxh64(b"") == 0xEF46DB3751D8E999
    assert nc.xxh64(b"abc") == 0x44BC2CF5AD770999
    assert nc.xxh64(data) == 0x19700B70E50BA16B
    assert nc.xxh64(data, seed=2026) == 0xCA3E2742977AB8FF
    assert nc.murmur3_128(b"hello") == 0x5B1E906A48AE1D19CBD8A7B341BD9B02
    assert nc.murmur3_128(data) == 0xCDF7365B30FD7B0169C669334FA514BA
    assert nc.murmur3_128(data, seed=42) == 0x12F4B36B0EECDC17A5004AAF1C1FDC91
    for size in (0, 1, 7, 8, 9, 100, 4097):
        chunk = RNG.randbytes(size)
        assert nc.crc32(chunk) == zlib.crc32(chunk), size
        assert nc.crc32(chunk, 12345) == zlib.crc32(chunk, 12345), size
        fnv = 0xCBF29CE484222325
        for byte in chunk:
            fnv = ((fnv ^ byte) * 0x100000001B3) % 2**64
        assert nc.fnv1a64(chunk) == fnv, size
    assert nc.crc32(memoryview(data)[10:20]) == zlib.crc32(data[10:20])
    assert nc.count_distinct(array("d", [0.0, -0.0, math.nan, math.nan, 1.0])) == 3


def check_statistics() -> None:
    for typecode in "iqfd":
        data = random_array(typecode, 2001)
        values = [float(x) for x in data]
        s = nc.summarize(data)
        assert s.count == len(values)
        assert close(s.sum, math.fsum(values), 1e-12)
        assert close(s.mean, statistics.fmean(values), 1e-12)
        assert close(s.variance, statistics.variance(values), 1e-9)
        assert (s.min, s.max) == (min(values), max(values))
        ordered = sorted(values)
        for q in (0.0, 0.1, 0.25, 0.5, 0.9, 1.0):
            position = q * (len(ordered) - 1)
            below = math.floor(position)
            above = min(below + 1, len(ordered) - 1)
            expected = ordered[below] + (position - below) * (ordered[above] - ordered[below])
            assert close(nc.quantile(data, q), expected, 1e-12), (typecode, q)
        bins = nc.histogram(data, 10, -5e5, 5e5)
        width = 1e6 / 10
        expected_bins = [0] * 10
        for x in values:
            if -5e5 <= x <= 5e5:
                expected_bins[min(int((x + 5e5) / width), 9)] += 1
        assert bins == expected_bins, typecode

    x = array("d", [RNG.gauss(0, 1) for _ in range(1000)])
    y = array("d", [2 * a + RNG.gauss(0, 0.5) for a in x])
    assert close(nc.correlation(x, y), statistics.correlation(list(x), list(y)), 1e-9)
    ties = array("d", [3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    assert nc.rank(ties).tolist() == [4.5, 1.5, 6, 1.5, 7.5, 10, 3, 9, 7.5, 4.5]
    other = array("d", [2, 7, 1, 8, 2, 8, 1, 8, 2, 8])
    expected = statistics.correlation(nc.rank(ties).tolist(), nc.rank(other).tolist())
    assert close(nc.spearman(ties, other), expected, 1e-12)


def matmul_reference(a: list, b: list, m: int, k: int, n: int) -> list:
    return [
        math.fsum(a[i * k + p] * b[p * n + j] for p in range(k)) for i in range(m) for j in range(n)
    ]


def check_linear_algebra() -> None:
    m, k, n = 37, 71, 29  # not multiples of the block size
    a = array("d", [RNG.uniform(-1, 1) for _ in range(m * k)])
    b = array("d", [RNG.uniform(-1, 1) for _ in range(k * n)])
    product = nc.matmul(a, b, m, k, n)
    assert all(
        close(x, y, 1e-12) for x, y in zip(product, matmul_reference(a, b, m, k, n), strict=True)
    )
    product32 = nc.matmul(array("f", a), array("f", b), m, k, n)
    assert product32.typecode == "f"
    assert all(close(x, y, 1e-4) for x, y in zip(product32, product, strict=True))

    size = 24
    # A random symmetric positive definite matrix: g g^T + size * I.
    g = [RNG.uniform(-1, 1) for _ in range(size * size)]
    spd = matmul_reference(
        g, [g[j * size + i] for i in range(size) for j in range(size)], size, size, size
    )
    for i in range(size):
        spd[i * size + i] += size
    spd = array("d", spd)
    rhs = array("d", [RNG.uniform(-1, 1) for _ in range(size)])
    x = nc.solve(spd, rhs, size)
    assert all(
        close(r, e, 1e-9) for r, e in zip(matmul_reference(spd, x, size, size, 1), rhs, strict=True)
    )
    inverse = nc.inverse(spd, size)
    identity = matmul_reference(spd, inverse, size, size, size)
    assert all(close(v, 1.0 if i % (size + 1) == 0 else 0.0, 1e-9) for i, v in enumerate(identity))
    lower = nc.cholesky(spd, size)
    upper = [lower[j * size + i] for i in range(size) for j in range(size)]
    assert all(
        close(v, w, 1e-9)
        for v, w in zip(matmul_reference(lower, upper, size, size, size), spd, strict=True)
    )
    eigenvalues = nc.eigvalsh(spd, size)
    assert eigenvalues.tolist() == sorted(eigenvalues) and eigenvalues[0] > 0
    assert close(math.fsum(eigenvalues), math.fsum(spd[i * size + i] for i in range(size)), 1e-9)
    log_det = math.fsum(math.log(v) for v in eigenvalues)
    assert close(log_det, math.log(nc.det(spd, size)), 1e-9)
    assert nc.det(array("d", [1, 2, 3, 4]), 2) == -2.0
    try:
        nc.solve(array("d", [1, 2, 2, 4]), array("d", [1, 1]), 2)
    except ValueError:
        pass
    else:
        raise AssertionError("solving a singular system did not fail")

    # Least squares: noise-free points on y = 3 - 2 t are fitted exactly.
    ts = [i / 10 for i in range(50)]
    design = array("d", [v for t in ts for v in (1.0, t)])
    fit = nc.least_squares(design, array("d", [3 - 2 * t for t in ts]), len(ts), 2)
    assert close(fit[0], 3.0, 1e-9) and close(fit[1], -2.0, 1e-9)


def check_compression() -> None:
    samples = [
        b"",
        b"a",
        b"abcd" * 1000,
        bytes(10_000),
        RNG.randbytes(5000),
        b"".join(RNG.choice([b"wheel", b"yard", b"native", b"core "]) for _ in range(4000)),
    ]
    for data in samples:
        packed = nc.compress(data)
        assert nc.decompress(packed) == data, len(data)
        assert len(packed) <= len(data) + len(data) // 255 + 30
    assert len(nc.compress(bytes(10_000))) < 100
    corrupt = bytearray(nc.compress(b"abcd" * 1000))
    corrupt[-3] ^= 0xFF
    for bad in (b"", b"NCZ1", bytes(corrupt[:-5]), b"XXXX\x00"):
        try:
            nc.decompress(bad)
        except ValueError:
            continue
        raise AssertionError(f"corrupt input {bad[:8]!r} was accepted")

    for typecode, (lo, hi) in INT_RANGES.items():
        data = array(typecode, [lo, hi, 0, lo, hi, *(RNG.randint(lo, hi) for _ in range(500))])
        encoded = nc.delta_encode(data)
        assert nc.delta_decode(encoded, len(data), typecode) == data, typecode
    steady = array("q", range(1_000_000, 1_010_000, 3))
    assert len(nc.delta_encode(steady)) < len(steady) + 10  # one byte per small step


def main() -> int:
    check_sorting()
    check_hashing()
    check_statistics()
    check_linear_algebra()
    check_compression()
    info = nc.build_info()
    print(f"native-core {nc.__version__}: ok ({info})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
