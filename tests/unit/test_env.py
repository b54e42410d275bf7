"""Build versions and `wheelyard env`: deterministic, date from one explicit source."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from wheelyard.config import load_recipe
from wheelyard.config.vocab import Channel
from wheelyard.errors import VersionError
from wheelyard.version import (
    base_version,
    build_version,
    channel_of,
    check_build_tag,
    commit_date,
    legacy_version,
    next_build_tag,
    package_version,
    render_env,
)


def test_env_block_for_cu128_nightly(cli: Callable[..., object], projects: Path) -> None:
    result = cli(
        "env",
        str(projects / "matrix-4x6"),
        "--variant",
        "cu128",
        "--channel",
        "nightly",
        "--date",
        "2026-11-20",
    )
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    assert result.stdout.splitlines() == [  # type: ignore[attr-defined]
        "BUILD_VERSION=0.3.0.dev20261120",
        "BUILD_VERSION_LOCAL=0.3.0.dev20261120+cu128",
        "BUILD_DATE=2026-11-20",
        "TORCH_VERSION_SPEC===2.9.*",
        "CHANNEL=nightly",
        "VARIANT=cu128",
        "GPU_ARCH_TYPE=cuda",
        "GPU_ARCH_VERSION=12.8",
        "BUCKET_PATH=whl/nightly/cu128",
        "CUDA_VERSION=12.8",
        "TORCH_CUDA_ARCH_LIST=7.0;7.5;8.0;8.6;9.0;10.0;12.0",
        "CUDA_HOME=/usr/local/cuda",
    ]


def test_env_block_for_cpu_release(cli: Callable[..., object], projects: Path) -> None:
    result = cli("env", str(projects / "matrix-4x6"), "--variant", "cpu", "--channel", "release")
    assert result.stdout.splitlines() == [  # type: ignore[attr-defined]
        "BUILD_VERSION=0.3.0",
        "BUILD_VERSION_LOCAL=0.3.0+cpu",
        "BUILD_DATE=",
        "TORCH_VERSION_SPEC===2.9.*",
        "CHANNEL=release",
        "VARIANT=cpu",
        "GPU_ARCH_TYPE=cpu",
        "GPU_ARCH_VERSION=",
        "BUCKET_PATH=whl/release/cpu",
    ]


def test_env_json(cli: Callable[..., object], projects: Path) -> None:
    import json

    result = cli(
        "env",
        str(projects / "matrix-4x6"),
        "--variant",
        "rocm7.0",
        "--date",
        "2026-01-02",
        "--json",
    )
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["BUILD_VERSION"] == "0.3.0.dev20260102"
    assert data["PYTORCH_ROCM_ARCH"].startswith("gfx90a;")
    assert data["ROCM_PATH"] == "/opt/rocm"


def test_bad_date(cli: Callable[..., object], projects: Path) -> None:
    result = cli("env", str(projects / "matrix-4x6"), "--date", "20.11.2026")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "--date '20.11.2026' is not a date" in result.stderr  # type: ignore[attr-defined]


def git(cwd: Path, *args: str, when: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": when,
        "GIT_COMMITTER_DATE": when,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def test_nightly_date_is_the_commit_date_in_utc(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.4.0"\n')
    git(tmp_path, "init", "-q", when="2026-11-20T23:30:00-05:00")
    git(tmp_path, "add", ".", when="2026-11-20T23:30:00-05:00")
    git(tmp_path, "commit", "-qm", "x", when="2026-11-20T23:30:00-05:00")
    assert commit_date(tmp_path) == dt.date(2026, 11, 21)  # 04:30 UTC the next day


def test_no_git_and_no_date_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.4.0"\n')
    with pytest.raises(VersionError) as info:
        commit_date(tmp_path)
    assert info.value.hint == "pass --date YYYY-MM-DD"


def test_versions() -> None:
    day = dt.date(2026, 11, 20)
    assert build_version("1.2.0", Channel.NIGHTLY, day) == "1.2.0.dev20261120"
    assert build_version("1.2.0rc1", Channel.NIGHTLY, day) == "1.2.0.dev20261120"
    assert build_version("1.2.0", Channel.TEST, None) == "1.2.0"
    assert build_version("1.2.0rc1", Channel.RELEASE, None) == "1.2.0rc1"
    assert legacy_version("1.2.0", "rocm7.0") == "1.2.0+rocm7.0"
    with pytest.raises(VersionError, match="a nightly version needs a date"):
        build_version("1.2.0", Channel.NIGHTLY, None)
    with pytest.raises(VersionError, match="is a development version"):
        build_version("1.2.0.dev3", Channel.RELEASE, None)


def test_base_version_sources(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndynamic = ["version"]\n[tool.wheelyard]\nversion-file = "VERSION"\n'
    )
    (tmp_path / "VERSION").write_text("\n2.5.1\n")
    assert base_version(load_recipe(tmp_path, environ={})) == "2.5.1"
    (tmp_path / "VERSION").write_text("not-a-version\n")
    with pytest.raises(VersionError, match="'not-a-version' is not a valid version"):
        base_version(load_recipe(tmp_path, environ={}))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndynamic = ["version"]\n')
    with pytest.raises(VersionError, match="x has no known version"):
        base_version(load_recipe(tmp_path, environ={}))


def test_render_env_rejects_multiline_values() -> None:
    assert render_env({"A": "1", "B": ""}) == "A=1\nB=\n"
    with pytest.raises(VersionError, match="spans several lines"):
        render_env({"A": "x\ny"})
    with pytest.raises(VersionError, match="not a valid environment variable name"):
        render_env({"1A": "x"})


def test_build_tags_of_rebuilds() -> None:
    assert next_build_tag([]) == "1"
    assert next_build_tag([None]) == "1"
    assert next_build_tag([None, "1", "3rc", "2"]) == "4"
    for good in ("1", "12", "3rc", "2_x.1"):
        assert check_build_tag(good) == good
    for bad in ("0", "01", "a1", "1-2", "", "1 "):
        with pytest.raises(VersionError, match="is not a wheel build tag"):
            check_build_tag(bad)


def test_without_a_channel_the_package_builds_its_own_version_unchanged(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.4.0"\n')
    loaded = load_recipe(tmp_path, environ={})
    assert loaded.recipe.channel is None
    day = dt.date(2026, 11, 20)
    assert package_version(loaded, None, day, own=None) == ("1.4.0", Channel.RELEASE)
    # What the backend or PKG-INFO reports wins over nothing, and is kept as it is.
    own = "1.5.0.dev3+g1234abc"
    assert package_version(loaded, None, day, own=own) == (own, Channel.NIGHTLY)
    assert package_version(loaded, None, None, own="2.0rc1") == ("2.0rc1", Channel.TEST)
    # A channel (recipe, --channel, or --date for a nightly) rewrites it.
    nightly = package_version(loaded, Channel.NIGHTLY, day, own="1.5.0.dev3+g1234abc")
    assert nightly == ("1.5.0.dev20261120", Channel.NIGHTLY)
    with pytest.raises(VersionError, match="is not a valid version"):
        package_version(loaded, None, day, own="not a version")


def test_channel_of_a_version() -> None:
    assert channel_of("1.0") is Channel.RELEASE
    assert channel_of("1.0.post1") is Channel.RELEASE
    assert channel_of("1.0b2") is Channel.TEST
    assert channel_of("1.0.dev4") is Channel.NIGHTLY
    assert channel_of("1.0+local") is Channel.NIGHTLY


def test_a_nightly_date_comes_from_the_flag_then_source_date_epoch_then_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wheelyard.cli.env_cmd import nightly_date

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.4.0"\n')
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    with pytest.raises(VersionError, match="not a git checkout") as info:
        nightly_date(None, tmp_path)
    assert "SOURCE_DATE_EPOCH" in (info.value.hint or "")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1763683200")  # 2025-11-21 00:00 UTC
    assert nightly_date(None, tmp_path) == dt.date(2025, 11, 21)
    assert nightly_date("2026-01-02", tmp_path) == dt.date(2026, 1, 2)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(VersionError, match="SOURCE_DATE_EPOCH='yesterday'"):
        nightly_date(None, tmp_path)
    git(tmp_path, "init", "-q", when="2026-11-20T10:00:00Z")
    git(tmp_path, "add", ".", when="2026-11-20T10:00:00Z")
    git(tmp_path, "commit", "-qm", "x", when="2026-11-20T10:00:00Z")
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert nightly_date(None, tmp_path) == dt.date(2026, 11, 20)


def test_env_of_a_package_without_a_table_is_its_own_version(
    cli: Callable[..., object], projects: Path
) -> None:
    import json

    result = cli("env", str(projects / "no-table"), "--json")
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["BUILD_VERSION"] == "0.1.0"
    assert data["CHANNEL"] == "release"
    dated = cli("env", str(projects / "no-table"), "--json", "--date", "2026-01-02")
    assert json.loads(dated.stdout)["BUILD_VERSION"] == "0.1.0.dev20260102"  # type: ignore[attr-defined]
