"""Open a store from a target string: a directory, ``file://DIR`` or ``s3://bucket/prefix``.

New kinds of store register a factory under their URL scheme; callers only ever see ``Store``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from wheelyard.errors import StoreError
from wheelyard.index.store import FileStore, Store


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    endpoint_url: str | None = None
    """S3-compatible endpoint (R2, MinIO, a local test server); None: AWS or AWS_ENDPOINT_URL."""
    region: str | None = None


StoreFactory = Callable[[str, StoreSettings], Store]


def _file_store(target: str, _settings: StoreSettings) -> Store:
    path = urlsplit(target).path if target.startswith("file://") else target
    return FileStore(Path(path).expanduser().resolve())


def _s3_store(target: str, settings: StoreSettings) -> Store:
    from wheelyard.index.s3 import S3Store  # boto3 is slow to import: only when asked for

    parts = urlsplit(target)
    if not parts.netloc:
        raise StoreError(
            f"{target!r} names no bucket", hint="write s3://BUCKET or s3://BUCKET/PREFIX"
        )
    return S3Store(
        parts.netloc,
        parts.path.strip("/"),
        endpoint_url=settings.endpoint_url,
        region=settings.region,
    )


STORES: dict[str, StoreFactory] = {"file": _file_store, "s3": _s3_store}


def open_store(target: str, settings: StoreSettings | None = None) -> Store:
    settings = settings or StoreSettings()
    scheme = urlsplit(target).scheme if "://" in target else "file"
    factory = STORES.get(scheme)
    if factory is None:
        raise StoreError(
            f"no store for {scheme}:// targets",
            hint=f"publish to a directory or one of: {', '.join(f'{s}://' for s in STORES)}",
        )
    return factory(target, settings)
