"""Where published files live: the Store protocol and the local file-system store.

Every object appears atomically (temp file + rename here, a single PUT on S3). Files put as
*immutable* (wheels, ``.metadata``) are idempotent by sha256: putting the same bytes again is a
no-op, other bytes under an existing name are refused. Index pages and the state record are
*mutable*: replaced whole, atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from wheelyard.errors import StoreConflictError, StoreError
from wheelyard.proc import process_alive

CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """Store keys are relative POSIX paths without ``..``."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or key.endswith("/"):
        raise StoreError(f"invalid store key {key!r}")
    return key


def conflict(key: str, where: str) -> StoreConflictError:
    return StoreConflictError(
        f"{where}: {key} already exists with other content",
        hint="published files never change: bump the version (or the build date) and publish "
        "again, or remove the old file on purpose",
    )


class Store(Protocol):
    """An artifact store (file system, S3-compatible)."""

    @property
    def url(self) -> str:
        """Where the store is, for messages (``/srv/index``, ``s3://bucket/prefix``)."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        ...

    def sha256(self, key: str) -> str | None:
        """Hex sha256 of the object, or None when there is none."""
        ...

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, immutable: bool = False
    ) -> bool:
        """Store ``data``; False when an immutable object with the same bytes was there."""
        ...

    def put_file(self, key: str, path: Path, *, sha256: str, content_type: str) -> bool:
        """Store a file as an immutable object (idempotent by ``sha256``)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""
        ...


TMP_PREFIX = ".tmp-"
"""A file store's temp files: ``.tmp-<writer pid>@<writer host>-<random>``, renamed into place
when whole."""
HOST_ID = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
"""This machine in temp names: a store on a shared network folder has writers on several."""
OTHER_HOST_STALE = 24 * 3600.0
"""Another machine's temp file older than this is a dead writer's (its pid means nothing here;
no single file takes a day to write)."""


def writer_tag() -> str:
    """``<pid>@<host>``: who writes a temp file or work folder."""
    return f"{os.getpid()}@{HOST_ID}"


def dead_writer(rest: str, path: Path | None = None, *, now: float | None = None) -> bool:
    """Whether a temp name's writer (``<pid>@<host>-...``) is gone. This machine's: its process
    has ended. Another machine's: ``path`` has not changed for a day. A name without a pid is
    gone too."""
    writer, _, _ = rest.partition("-")
    pid, _, host = writer.partition("@")
    if host and host != HOST_ID:
        if path is None:
            return False
        try:
            age = (time.time() if now is None else now) - path.stat().st_mtime
        except OSError:
            return False
        return age > OTHER_HOST_STALE
    return not (pid.isdigit() and process_alive(int(pid)))


class FileStore:
    """A directory on this machine (the default store); servable as a static site."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def url(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {key} in {self.root}: {exc.strerror or exc}") from exc

    def sha256(self, key: str) -> str | None:
        path = self._path(key)
        try:
            return sha256_file(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {key} in {self.root}: {exc.strerror or exc}") from exc

    def _existing_matches(self, key: str, sha256: str) -> bool:
        found = self.sha256(key)
        if found is None:
            return False
        if found != sha256:
            raise conflict(key, str(self.root))
        return True

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,  # noqa: ARG002 - a file system keeps no content type
        immutable: bool = False,
    ) -> bool:
        if immutable and self._existing_matches(key, sha256_bytes(data)):
            return False
        self._atomic(key, lambda fh: fh.write(data))
        return True

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        sha256: str,
        content_type: str,  # noqa: ARG002 - a file system keeps no content type
    ) -> bool:
        if self._existing_matches(key, sha256):
            return False

        def copy(fh: IO[bytes]) -> None:
            with path.open("rb") as src:
                shutil.copyfileobj(src, fh, CHUNK)

        self._atomic(key, copy)
        return True

    def _atomic(self, key: str, write: Callable[[IO[bytes]], object]) -> None:
        target = self._path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                prefix=f"{TMP_PREFIX}{writer_tag()}-", dir=target.parent
            )
        except OSError as exc:
            raise StoreError(f"cannot write {key} in {self.root}: {exc.strerror or exc}") from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                write(fh)
            tmp.chmod(0o644)
            tmp.replace(target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot write {key} in {self.root}: {exc.strerror or exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def sweep(self) -> int:
        """Remove the temp files writers that died (SIGKILL, a lost machine) left in the store;
        a live writer's are kept. Returns how many went."""
        removed = 0
        for path in self.root.rglob(f"{TMP_PREFIX}*") if self.root.is_dir() else ():
            if not dead_writer(path.name.removeprefix(TMP_PREFIX), path):
                continue
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot delete {key} in {self.root}: {exc.strerror or exc}") from exc
