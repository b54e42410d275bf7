"""Where a farm keeps its state, and how its parts reach each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_TEMPORAL = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
DATABASE_FILE = "farm.db"
TEMPORAL_DB_FILE = "temporal.db"
ADMIN_TOKEN_FILE = "admin.token"
"""The first admin token, written (mode 0600) by the first ``farm up``."""


@dataclass(frozen=True, kw_only=True)
class FarmSettings:
    """The farm's data directory and its services.

    Every path a workflow hands to an activity is relative to ``data_dir``: a worker on another
    machine mounts the same directory (NFS, a shared volume) under its own path.
    """

    data_dir: Path
    database: str | None = None
    """SQLAlchemy URL; default: SQLite ``farm.db`` in ``data_dir``."""
    temporal: str = DEFAULT_TEMPORAL
    namespace: str = DEFAULT_NAMESPACE

    @property
    def database_url(self) -> str:
        if self.database:
            return self.database
        return f"sqlite:///{(self.data_dir / DATABASE_FILE).resolve()}"

    @property
    def index_dir(self) -> Path:
        """The farm's package index (a directory store written by ``publish``)."""
        return self.data_dir / "index"

    @property
    def builds_dir(self) -> Path:
        return self.data_dir / "builds"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    def prepare(self) -> None:
        """Create the data directory, and take away what others on the machine could read:
        no world access to it, the owner's only for the SQLite database."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        private(self.data_dir, 0o007)

    def path(self, relative: str) -> Path:
        """A path a workflow handed over (relative to the data directory), on this machine."""
        return self.data_dir / relative

    @staticmethod
    def build_dir(build_id: int) -> str:
        """The build's folder, relative to the data directory."""
        return f"builds/{build_id}"


def private(path: Path, drop: int) -> None:
    """Clear the permission bits ``drop`` of ``path`` (0o007: no world access)."""
    mode = path.stat().st_mode & 0o7777
    if mode & drop:
        path.chmod(mode & ~drop)
