"""Smoke test for an installed hello-c wheel: run it outside the source tree.

python tests/smoke_test.py
"""

import math
import random
import sys

import hello_c


def fletcher32_reference(data: bytes) -> int:
    """Fletcher-32 over little-endian 16-bit words, an odd last byte zero-padded."""
    if len(data) % 2:
        data += b"\0"
    sum1 = sum2 = 0
    for i in range(0, len(data), 2):
        sum1 = (sum1 + (data[i] | data[i + 1] << 8)) % 65535
        sum2 = (sum2 + sum1) % 65535
    return sum2 << 16 | sum1


def same_mod_65535(a: int, b: int) -> bool:
    """Ones' complement sums: 0 and 0xffff are the same value."""
    return all((a >> s & 0xFFFF) % 65535 == (b >> s & 0xFFFF) % 65535 for s in (0, 16))


def main() -> int:
    # Published Fletcher-32 check values.
    assert hello_c.fletcher32(b"abcde") == 0xF04FC729
    assert hello_c.fletcher32(b"abcdef") == 0x56502D2A
    assert hello_c.fletcher32(b"abcdefgh") == 0xEBE19591
    rng = random.Random(20261120)
    for size in (0, 1, 2, 717, 718, 719, 4096, 100_001):
        data = rng.randbytes(size)
        assert same_mod_65535(hello_c.fletcher32(data), fletcher32_reference(data)), size
    assert hello_c.fletcher32(memoryview(b"abcde")) == hello_c.fletcher32(bytearray(b"abcde"))

    text = "  the quick\tbrown\n fox   jumps över  "
    assert hello_c.count_words(text) == len(text.split()) == 6
    assert hello_c.count_words("") == 0

    assert hello_c.norm([3.0, 4.0]) == 5.0
    big = [1e300, 1e300]
    assert math.isclose(hello_c.norm(big), math.hypot(*big))  # no overflow to inf
    values = [rng.uniform(-1, 1) for _ in range(1000)]
    assert math.isclose(hello_c.norm(values), math.hypot(*values), rel_tol=1e-12)

    assert hello_c.greet("wheelyard") == "Hello, wheelyard!"
    assert hello_c.greet() == "Hello, world!"

    print(f"hello-c {hello_c.__version__} ({hello_c._hello.__file__}): ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
