"""yardstream: checksummed, content-defined chunking of byte streams, with storage plugins.

Backends come from installed packages through entry points: ``file`` is built in,
``pip install yardstream[s3]`` adds ``s3`` (the yardstream-s3 package).
"""

from importlib.metadata import PackageNotFoundError, version

from yardstream._core import CAPI_VERSION, chunk_boundaries, crc32c
from yardstream.backends import (
    Backend,
    BackendNotFoundError,
    FileBackend,
    available_backends,
    crc32c_base64,
    get_backend,
)

try:
    __version__ = version("yardstream")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"


def chunks(
    data: bytes, min_size: int = 2048, avg_size: int = 8192, max_size: int = 65536
) -> list[bytes]:
    """``data`` split at content-defined boundaries (an insertion moves few of them)."""
    view = memoryview(data)
    start, pieces = 0, []
    for end in chunk_boundaries(data, min_size, avg_size, max_size):
        pieces.append(bytes(view[start:end]))
        start = end
    return pieces


__all__ = [
    "CAPI_VERSION",
    "Backend",
    "BackendNotFoundError",
    "FileBackend",
    "__version__",
    "available_backends",
    "chunk_boundaries",
    "chunks",
    "crc32c",
    "crc32c_base64",
    "get_backend",
]
