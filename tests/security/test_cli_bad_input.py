"""Bad command-line input is refused with exit status 2 and one clear paragraph on stderr, before
anything runs: never a traceback, never a silent success."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_verify_support import make_wheel

from wheelyard.farm.db import open_database
from wheelyard.farm.settings import DATABASE_FILE, FarmSettings

Cli = Callable[..., Any]
FILES = {"demo/__init__.py": b"VALUE = 1\n"}
HELLO_C = Path(__file__).parents[2] / "examples" / "hello-c"
NO_ENGINE = ("--engine", "no-such-engine")
"""Should a bad option get past the CLI, the build stops at the engine, before any container."""


def _refused(result: Any, *parts: str) -> None:
    text = " ".join(result.stderr.split())  # rich wraps long lines
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in text, result.stderr


@pytest.fixture
def farm_data(tmp_path: Path) -> Path:
    """A data folder holding a farm database, as `farm up` leaves it."""
    data = tmp_path / "farm"
    open_database(FarmSettings(data_dir=data).database_url).close()
    return data


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheelhouse"
    (house / "cpu").mkdir(parents=True)
    make_wheel(house / "cpu", FILES)
    return house


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    (tmp_path / "wheels").mkdir()
    return make_wheel(tmp_path / "wheels", FILES)


# 1. ids


@pytest.mark.parametrize("token_id", ["99999999999999999999999", str(2**63), "0"])
def test_a_token_id_beyond_the_database_is_refused(
    cli: Cli, farm_data: Path, token_id: str
) -> None:
    result = cli("farm", "token", "revoke", token_id, "--data", str(farm_data))
    _refused(result, "Invalid value for 'token_id'")


# 2. ports


@pytest.mark.parametrize(
    "option", [("--port", "99999"), ("--port", "0"), ("--temporal-port", "70000")]
)
def test_a_port_beyond_65535_is_refused(cli: Cli, tmp_path: Path, option: tuple[str, str]) -> None:
    result = cli("farm", "up", "--data", str(tmp_path / "farm"), *option, "--no-worker")
    _refused(result, f"Invalid value for '{option[0]}'")
    assert not (tmp_path / "farm").exists()


# 3. retention


@pytest.mark.parametrize(
    "option",
    [
        ("--keep-days", "nan"),
        ("--keep-days", "inf"),
        ("--keep-days", "-1"),
        ("--keep-days", "1e300"),
        ("--keep-versions", "-1"),
    ],
)
def test_a_retention_that_is_not_a_finite_count_is_refused(
    cli: Cli, tmp_path: Path, wheelhouse: Path, option: tuple[str, str]
) -> None:
    index = tmp_path / "index"
    result = cli("publish", str(wheelhouse), "--to", str(index), *option)
    _refused(result, f"Invalid value for '{option[0]}'")
    assert not index.exists()


# 4. a file that is not a wheel


def test_a_wheelhouse_file_whose_name_is_not_a_wheel_name_is_named(
    cli: Cli, tmp_path: Path, wheel: Path
) -> None:
    house = tmp_path / "wheelhouse"
    (house / "cpu").mkdir(parents=True)
    (house / "cpu" / "okpkg.whl").write_bytes(wheel.read_bytes())
    index = tmp_path / "index"
    result = cli("publish", str(house), "--to", str(index))
    _refused(result, f"not a wheel file name) in {house}: cpu/okpkg.whl")
    assert not index.exists()


# 5. an output folder that cannot be made


@pytest.mark.parametrize("blocked", ["file", "/proc/x"])
def test_a_build_output_folder_that_cannot_be_created_is_refused_first(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blocked: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("a file, not a folder")
    output = tmp_path / "file" / "out" if blocked == "file" else Path(blocked)
    result = cli(
        "build", str(HELLO_C), "-o", str(output), "--date", "2026-12-01", "--no-verify", *NO_ENGINE
    )
    _refused(result, f"cannot create the output folder {output}")
    assert not Path("/proc/x").exists()


# 6. timeouts


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "1e300"])
def test_a_verify_timeout_that_is_not_a_positive_number_of_seconds_is_refused(
    cli: Cli, wheel: Path, value: str
) -> None:
    result = cli(
        "verify", str(wheel), "--python", sys.executable, "--sandbox", "host",
        "--skip", "install", "--skip", "imports", "--skip", "smoke", "--timeout", value,
    )  # fmt: skip
    _refused(result, "Invalid value for '--timeout'")


@pytest.mark.parametrize(
    "option",
    [("--timeout", "-1"), ("--timeout", "nan"), ("--torch-cache-max", "nan")],
)
def test_a_build_timeout_that_is_not_a_positive_number_of_seconds_is_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: tuple[str, str]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("build", str(HELLO_C), *option, "--no-verify", *NO_ENGINE)
    _refused(result, f"Invalid value for '{option[0]}'")
    assert not (tmp_path / "wheelhouse").exists()


# 7. index URLs


@pytest.mark.parametrize("url", ["not a url", "ftp://example.org/simple/", "https://", "/nowhere"])
def test_a_verify_index_url_that_is_not_one_is_refused(cli: Cli, wheel: Path, url: str) -> None:
    result = cli(
        "verify", str(wheel), "--python", sys.executable, "--sandbox", "host",
        "--skip", "install", "--skip", "imports", "--skip", "smoke", "--index-url", url,
    )  # fmt: skip
    _refused(result, "--index-url", "is not an index URL")


@pytest.mark.parametrize("url", ["https://example.org/simple/", "file:///tmp/simple", "FOLDER"])
def test_a_verify_index_url_or_folder_is_taken(
    cli: Cli, tmp_path: Path, wheel: Path, url: str
) -> None:
    url = str(tmp_path) if url == "FOLDER" else url
    result = cli(
        "verify", str(wheel), "--python", sys.executable, "--sandbox", "host",
        "--skip", "install", "--skip", "imports", "--skip", "smoke", "--index-url", url,
    )  # fmt: skip
    assert result.exit_code == 0, (result.stdout, result.stderr)


def test_a_smoke_index_url_that_is_not_one_is_refused(cli: Cli, wheel: Path) -> None:
    result = cli(
        "smoke", str(wheel), "--python", sys.executable, "--sandbox", "host",
        "--index-url", "not a url",
    )  # fmt: skip
    _refused(result, "--index-url", "is not an index URL")


def test_a_build_index_url_that_is_not_one_is_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("build", str(HELLO_C), "--index-url", "not a url", "--no-verify", *NO_ENGINE)
    _refused(result, "--index-url", "is not an index URL")


# 8. the fallback variant


def test_an_unknown_fallback_variant_is_refused_with_the_known_ones(
    cli: Cli, tmp_path: Path, wheelhouse: Path
) -> None:
    index = tmp_path / "index"
    result = cli("publish", str(wheelhouse), "--to", str(index), "--fallback", "cu999")
    _refused(result, "--fallback cu999: unknown variant", "known: cpu")
    assert not index.exists()


# 9. token commands


@pytest.mark.parametrize("package", ["../ /x", "-a", "a b", "a" * 201])
def test_a_token_for_a_package_name_that_is_not_one_is_refused(
    cli: Cli, farm_data: Path, package: str
) -> None:
    result = cli("farm", "token", "create", "x", "--package", package, "--data", str(farm_data))
    _refused(result, "--package")
    listed = cli("farm", "token", "list", "--data", str(farm_data), "--json")
    assert listed.exit_code == 0 and listed.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "command",
    [("create", "x", "--package", "a"), ("list",), ("revoke", "1")],
)
def test_token_commands_refuse_a_data_folder_without_a_farm_database(
    cli: Cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    data = tmp_path / "nonexistent-dir"
    result = cli("farm", "token", *command, "--data", str(data))
    _refused(result, f"{data} holds no farm database", f"wheelyard farm up --data {data}")
    assert not data.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("farm", "token", *command, "--data", str(empty))
    _refused(result, "holds no farm database")
    assert not (empty / DATABASE_FILE).exists()
