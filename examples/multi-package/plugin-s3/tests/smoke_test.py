"""Smoke test for an installed yardstream-s3 wheel (with its yardstream dependency).

python tests/smoke_test.py
"""

import base64
import random
import sys

import yardstream
import yardstream_s3


def crc32c_reference(data: bytes, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def b64(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def main() -> int:
    # Discovery: the core finds the plugin through its entry point.
    assert "s3" in yardstream.available_backends(), yardstream.available_backends()
    s3 = yardstream.get_backend("s3")
    assert isinstance(s3, yardstream_s3.S3Backend)

    assert s3.parse("s3://my-bucket/a/b/c.txt") == yardstream_s3.Location("my-bucket", "a/b/c.txt")
    for bad in ("s3://Bad_Bucket/key", "s3://bucket-only", "s3://192.168.1.1/key", "http://b/k"):
        try:
            s3.parse(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was accepted")

    mib = 1024 * 1024
    parts = s3.plan_upload(20 * mib + 1, part_size=8 * mib)
    assert [(p.number, p.offset, p.length) for p in parts] == [
        (1, 0, 8 * mib),
        (2, 8 * mib, 8 * mib),
        (3, 16 * mib, 4 * mib + 1),
    ]
    assert s3.plan_upload(10, part_size=1)[0].length == 10  # raised to the 5 MiB minimum
    huge = s3.plan_upload(100_000 * mib)
    assert len(huge) <= yardstream_s3.MAX_PARTS and sum(p.length for p in huge) == 100_000 * mib
    assert [(p.number, p.length) for p in s3.plan_upload(0)] == [(1, 0)]

    # Checksums, computed in C through yardstream's C API, against a pure-Python CRC-32C.
    data = random.Random(7).randbytes(3500)
    assert s3.checksum(b"123456789") == "4waSgw=="
    part_crcs = [crc32c_reference(data[i : i + 1000]) for i in range(0, len(data), 1000)]
    assert s3.part_checksums(data, 1000) == [b64(c) for c in part_crcs]
    composite = crc32c_reference(b"".join(c.to_bytes(4, "big") for c in part_crcs))
    assert s3.multipart_checksum(data, 1000) == f"{b64(composite)}-4"
    single = crc32c_reference(crc32c_reference(data).to_bytes(4, "big"))
    assert s3.multipart_checksum(data, len(data)) == f"{b64(single)}-1"

    print(
        f"yardstream-s3 {yardstream_s3.__version__} on yardstream {yardstream.__version__}: ok "
        f"(backends: {', '.join(yardstream.available_backends())})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
