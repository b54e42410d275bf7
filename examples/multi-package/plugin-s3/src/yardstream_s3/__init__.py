"""yardstream-s3: the ``s3`` backend of yardstream (``pip install yardstream[s3]``).

It registers itself in the ``yardstream.backends`` entry point group; yardstream finds it with
``yardstream.get_backend("s3")``. It parses and validates ``s3://bucket/key`` URLs, plans
multipart uploads within S3's limits, and computes the CRC-32C checksums S3 verifies, including
the COMPOSITE checksum of a multipart upload (in C, on top of yardstream's C API).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from yardstream import crc32c_base64

from yardstream_s3._s3 import composite_checksum, part_checksums

try:
    __version__ = version("yardstream-s3")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
BUCKET_NAME = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Location:
    bucket: str
    key: str


@dataclass(frozen=True)
class Part:
    number: int  # 1-based, as S3 numbers parts
    offset: int
    length: int


def _b64(crc: int) -> str:
    return base64.b64encode(crc.to_bytes(4, "big")).decode("ascii")


class S3Backend:
    scheme = "s3"

    def parse(self, url: str) -> Location:
        """``s3://bucket/key`` -> Location, checking S3's bucket naming rules."""
        prefix = f"{self.scheme}://"
        if not url.startswith(prefix):
            raise ValueError(f"not an S3 URL: {url!r}")
        bucket, _, key = url[len(prefix) :].partition("/")
        if not BUCKET_NAME.match(bucket) or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
            raise ValueError(f"invalid S3 bucket name {bucket!r}")
        if not key:
            raise ValueError(f"S3 URL {url!r} names no object key")
        return Location(bucket, key)

    def plan_upload(self, size: int, part_size: int = 8 * MiB) -> list[Part]:
        """Parts of a multipart upload: at least ``part_size`` (raised as needed to stay within
        10,000 parts), never under S3's 5 MiB minimum except for the last part."""
        if size < 0:
            raise ValueError("size must not be negative")
        part_size = max(part_size, MIN_PART_SIZE, -(-size // MAX_PARTS))
        if part_size > MAX_PART_SIZE:
            raise ValueError(f"{size} bytes do not fit in {MAX_PARTS} parts of at most 5 GiB")
        offsets = range(0, size, part_size) if size else range(1)
        return [
            Part(number, offset, min(part_size, size - offset))
            for number, offset in enumerate(offsets, start=1)
        ]

    def checksum(self, data: bytes) -> str:
        """``x-amz-checksum-crc32c`` of a single-part upload."""
        return crc32c_base64(data)

    def part_checksums(self, data: bytes, part_size: int) -> list[str]:
        """``x-amz-checksum-crc32c`` of each part."""
        return [_b64(crc) for crc in part_checksums(data, part_size)]

    def multipart_checksum(self, data: bytes, part_size: int) -> str:
        """The object checksum S3 reports for a COMPOSITE multipart upload: ``<b64>-<parts>``."""
        crc, parts = composite_checksum(data, part_size)
        return f"{_b64(crc)}-{parts}"


__all__ = ["MAX_PARTS", "MIN_PART_SIZE", "Location", "Part", "S3Backend", "__version__"]
