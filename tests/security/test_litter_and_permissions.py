"""What a killed publish leaves is swept by the next one; the farm's state is not world-readable."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_verify_support import make_wheel

from wheelyard.farm.db import open_database
from wheelyard.farm.settings import FarmSettings
from wheelyard.index.store import HOST_ID, FileStore

FILES = {"demo/__init__.py": b"VALUE = 1\n"}


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_next_publish_sweeps_what_a_killed_one_left(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    index = tmp_path / "index"
    folder = index / "packages" / "demo"
    folder.mkdir(parents=True)
    dead = _dead_pid()
    stale = folder / f".tmp-{dead}-k3j2"
    stale.write_bytes(b"x" * 1000)
    old_format = folder / ".tmp-a8f0q1"
    old_format.write_bytes(b"y")
    live = folder / f".tmp-{os.getpid()}-live"  # a writer that still runs keeps its file
    live.write_bytes(b"z")
    work = Path(tempfile.gettempdir()) / f"wheelyard-publish-{dead}-abc"
    work.mkdir()
    (work / "converted.whl").write_bytes(b"w" * 1000)

    house = tmp_path / "wheelhouse" / "cpu"
    house.mkdir(parents=True)
    make_wheel(house, FILES)
    result = cli("publish", str(house.parent), "--to", str(index))
    assert result.exit_code == 0, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert not stale.exists() and not old_format.exists()
    assert live.exists()
    assert not work.exists()


def test_the_data_directory_and_the_database_are_not_world_readable(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        settings = FarmSettings(data_dir=tmp_path / "data")
        settings.prepare()
        database = open_database(settings.database_url)
        database.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(settings.data_dir.stat().st_mode) & 0o007 == 0
    db_file = settings.data_dir / "farm.db"
    assert stat.S_IMODE(db_file.stat().st_mode) & 0o077 == 0


def test_a_store_on_a_shared_folder_sweeps_another_machine_s_temp_files_only_when_stale(
    tmp_path: Path,
) -> None:
    """Another machine's pids mean nothing here: its temp files go once a day has passed."""
    store = FileStore(tmp_path / "index")
    folder = store.root / "packages" / "demo"
    folder.mkdir(parents=True)
    other = "deadbeef" if HOST_ID != "deadbeef" else "cafebabe"
    stale = folder / f".tmp-{os.getpid()}@{other}-a1"  # the same pid number, another machine
    stale.write_bytes(b"x")
    two_days = time.time() - 2 * 86400
    os.utime(stale, (two_days, two_days))
    fresh = folder / f".tmp-1@{other}-b2"  # another machine writing right now
    fresh.write_bytes(b"y")
    mine_dead = folder / f".tmp-{_dead_pid()}@{HOST_ID}-c3"
    mine_dead.write_bytes(b"z")
    mine_live = folder / f".tmp-{os.getpid()}@{HOST_ID}-d4"
    mine_live.write_bytes(b"w")
    assert store.sweep() == 2
    assert sorted(p.name for p in folder.iterdir()) == sorted([fresh.name, mine_live.name])
