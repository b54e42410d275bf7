"""The farm's database on a real PostgreSQL server (a throwaway cluster on loopback).

SQLite is the default; PostgreSQL is chosen by URL. Migrations must reach the head revision and
match the models there too, and records must round-trip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from farm_rows import new_build
from wheelyard.farm.builds import records
from wheelyard.farm.db.engine import alembic_config, open_database
from wheelyard.farm.db.models import Base

pytestmark = pytest.mark.integration


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        pytest.fail("PostgreSQL is not installed (scripts/setup.sh installs Debian's postgresql)")
    return found[-1].parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    if os.environ.get("FARM_TEST_POSTGRES_URL"):
        yield os.environ["FARM_TEST_POSTGRES_URL"]
        return
    bindir = _pg_bin()
    # Not under pytest's temp folder: that one is private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="wheelyard-postgres-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(root, user="postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(
        [*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    ctl = [*as_postgres, str(bindir / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*ctl, "-o", options, "-w", "-l", str(root / "log"), "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*ctl, "-m", "fast", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_migrations_reach_head_and_match_the_models(postgres_url: str) -> None:
    database = open_database(postgres_url)
    try:
        assert database.engine.dialect.name == "postgresql"
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert database.current_revision() == head
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        with database.session() as session:
            build = new_build(
                session,
                "Hello_C",
                source_kind="git",
                source="https://example.org/hello.git",
                ref="main",
                options={"python": ["cp312"]},
            )
            build_id = build.id
        with database.session() as session:
            assert records.totals(session).builds == 1
            stored = records.get_build(session, build_id)
            assert (stored.package.name, stored.ref) == ("hello-c", "main")
    finally:
        database.close()
