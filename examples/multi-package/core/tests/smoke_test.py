"""Smoke test for an installed yardstream wheel (no plugin needed).

python tests/smoke_test.py
"""

import random
import sys
import tempfile
from pathlib import Path

import yardstream


def crc32c_reference(data: bytes, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def check_crc32c() -> None:
    assert yardstream.crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert yardstream.crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720, B.4
    assert yardstream.crc32c(b"\xff" * 32) == 0x62A8AB43
    rng = random.Random(1)
    data = rng.randbytes(3000)
    assert yardstream.crc32c(data) == crc32c_reference(data)
    assert yardstream.crc32c(data[1000:], yardstream.crc32c(data[:1000])) == yardstream.crc32c(data)
    assert yardstream.crc32c_base64(b"123456789") == "4waSgw=="


def check_chunking() -> None:
    rng = random.Random(20261120)
    data = rng.randbytes(1 << 20)
    ends = yardstream.chunk_boundaries(data, 2048, 8192, 65536)
    assert ends[-1] == len(data) and ends == sorted(set(ends))
    sizes = [b - a for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    assert all(2048 <= s <= 65536 for s in sizes[:-1]), (min(sizes), max(sizes))
    assert 2048 < len(data) / len(ends) < 32768, len(data) / len(ends)  # about min + avg
    assert b"".join(yardstream.chunks(data)) == data
    assert yardstream.chunk_boundaries(data) == ends  # deterministic

    # Content-defined: inserting bytes near the start moves only the boundaries around it.
    edited = data[:5000] + b"inserted" + data[5000:]
    moved = {end - 8 for end in yardstream.chunk_boundaries(edited)}
    kept = len(moved & set(ends)) / len(ends)
    assert kept > 0.95, kept
    assert yardstream.chunk_boundaries(b"") == []
    assert yardstream.chunk_boundaries(b"tiny") == [4]


def check_backends() -> None:
    assert "file" in yardstream.available_backends()
    backend = yardstream.get_backend("file")
    with tempfile.TemporaryDirectory() as tmp:
        url = (Path(tmp) / "object.bin").as_uri()
        payload = bytes(range(256)) * 100
        assert backend.write(url, payload) == yardstream.crc32c_base64(payload)
        assert backend.read(url) == payload
        assert sorted(p.name for p in Path(tmp).iterdir()) == ["object.bin"]  # no temporaries
    try:
        yardstream.get_backend("nope")
    except yardstream.BackendNotFoundError as exc:
        assert "installed: " in str(exc)
    else:
        raise AssertionError("an unknown backend was found")


def main() -> int:
    check_crc32c()
    check_chunking()
    check_backends()
    backends = ", ".join(yardstream.available_backends())
    print(
        f"yardstream {yardstream.__version__}: ok "
        f"(C API v{yardstream.CAPI_VERSION}; backends: {backends})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
