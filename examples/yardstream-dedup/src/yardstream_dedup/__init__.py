"""yardstream-dedup: deduplication fingerprints of byte streams.

The chunk boundaries and checksums come from yardstream's C extension, through its C API
capsule; ``BUILT_AGAINST`` is the yardstream version this wheel was compiled against.
"""

from __future__ import annotations

from yardstream_dedup._dedup import BUILT_AGAINST, CAPI_VERSION, fingerprints


def unique_ratio(data: bytes, min_size: int = 256, avg_size: int = 1024) -> float:
    """The share of ``data``'s bytes in chunks not seen before in it (1.0: no repetition)."""
    seen: set[tuple[int, int]] = set()
    unique = 0
    for _offset, length, crc in fingerprints(data, min_size, avg_size):
        if (length, crc) not in seen:
            seen.add((length, crc))
            unique += length
    return unique / len(data) if data else 1.0


__all__ = ["BUILT_AGAINST", "CAPI_VERSION", "fingerprints", "unique_ratio"]
