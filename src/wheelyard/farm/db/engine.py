"""Opening the farm's database and bringing its schema up to date with Alembic.

SQLite (the default, a file in the farm's data directory) gets WAL mode and a busy timeout so
that the API and the farm's worker can write from several threads; PostgreSQL is used as its
URL says (``postgresql+psycopg://user:pass@host/db``; ``postgresql://`` is taken to mean psycopg 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from wheelyard.errors import FarmDatabaseError
from wheelyard.farm.settings import private

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver wheelyard installs)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed at the end of the block (rolled back on an error)."""
        with self.sessions() as session, session.begin():
            yield session

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (every migration not applied yet)."""
        from alembic import command

        try:
            with self.engine.begin() as connection:
                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except SQLAlchemyError as exc:
            raise FarmDatabaseError(
                f"cannot migrate the farm database {self.url}: {exc}",
                hint="check that the database server is running and the URL is right",
            ) from exc

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def tables(self) -> list[str]:
        return sorted(inspect(self.engine).get_table_names())

    def close(self) -> None:
        self.engine.dispose()


def alembic_config() -> Any:
    """Alembic's configuration, pointing at the migrations shipped in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect to the database at ``url`` and (by default) upgrade its schema."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise FarmDatabaseError(
            f"cannot use the database URL {url!r}: {exc}",
            hint="use sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB",
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    database = Database(engine, sessionmaker(engine, expire_on_commit=False))
    if migrate:
        try:
            database.migrate()
        except FarmDatabaseError:
            engine.dispose()
            raise
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        for suffix in ("", "-wal", "-shm"):  # the database and SQLite's journal files
            file = Path(f"{parsed.database}{suffix}")
            if file.exists():
                private(file, 0o077)
    else:
        try:
            with engine.connect():
                pass
        except OperationalError as exc:
            engine.dispose()
            raise FarmDatabaseError(f"cannot connect to {database.url}: {exc}") from exc
    return database
