"""Smoke test for an installed yardstream-dedup wheel (with its yardstream dependency).

python tests/smoke_test.py
"""

import random
import sys
from importlib.metadata import version

import yardstream
import yardstream_dedup


def main() -> int:
    rng = random.Random(7)
    block = bytes(rng.getrandbits(8) for _ in range(50_000))
    data = block + block  # the second half repeats the first
    prints = yardstream_dedup.fingerprints(data, 256, 1024, 8192)
    # Chunks tile the data, each checksummed with yardstream's CRC-32C.
    assert prints[0][0] == 0 and sum(length for _, length, _ in prints) == len(data)
    for offset, length, crc in prints[:5]:
        assert crc == yardstream.crc32c(data[offset : offset + length])
    ratio = yardstream_dedup.unique_ratio(data, 256, 1024)
    assert 0.45 < ratio < 0.6, ratio
    assert yardstream_dedup.CAPI_VERSION == yardstream.CAPI_VERSION
    print(
        f"yardstream-dedup {version('yardstream-dedup')} built against yardstream "
        f"{yardstream_dedup.BUILT_AGAINST}, running with {yardstream.__version__}: "
        f"{len(prints)} chunks, unique {ratio:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
