"""Storage backends, discovered through the ``yardstream.backends`` entry point group.

A backend is a class with a ``scheme`` attribute and ``parse(url)`` / ``checksum(data)``
methods. yardstream registers its own ``file`` backend the same way as plugins register theirs
(``yardstream-s3`` adds ``s3``), so discovery has one code path.
"""

from __future__ import annotations

import base64
import os
import tempfile
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from yardstream._core import crc32c

ENTRY_POINT_GROUP = "yardstream.backends"
EXTRAS = {"s3": "yardstream[s3]"}


class Backend(Protocol):
    scheme: str

    def parse(self, url: str) -> Any: ...

    def checksum(self, data: bytes) -> str: ...


class BackendNotFoundError(LookupError):
    """No installed package provides the requested backend."""


def available_backends() -> list[str]:
    """Names of every installed backend."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def get_backend(name: str) -> Backend:
    """An instance of the backend registered under ``name``."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            backend: Backend = ep.load()()
            return backend
    hint = f"install it with `pip install {EXTRAS[name]}`" if name in EXTRAS else "no plugin has it"
    known = ", ".join(available_backends()) or "none"
    raise BackendNotFoundError(f"no yardstream backend {name!r} ({hint}); installed: {known}")


def crc32c_base64(data: bytes) -> str:
    """The CRC-32C of ``data`` as HTTP checksum headers carry it (big-endian, base64)."""
    return base64.b64encode(crc32c(data).to_bytes(4, "big")).decode("ascii")


class FileBackend:
    """Local files addressed as ``file:///path``, written atomically."""

    scheme = "file"

    def parse(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.scheme != self.scheme or parts.netloc not in ("", "localhost"):
            raise ValueError(f"not a local file URL: {url!r}")
        return Path(unquote(parts.path))

    def checksum(self, data: bytes) -> str:
        return crc32c_base64(data)

    def write(self, url: str, data: bytes) -> str:
        """Write ``data`` to a temporary file, then rename it into place; return its checksum."""
        target = self.parse(url)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(data)
            Path(temporary).replace(target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return self.checksum(data)

    def read(self, url: str) -> bytes:
        return self.parse(url).read_bytes()
