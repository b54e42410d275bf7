"""The structure check: one crafted wheel per failure mode, each with its exact finding."""

from __future__ import annotations

import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from test_verify_support import make_wheel, metadata_text, rewrite_zip, wheel_text

from wheelyard.verify import Check, Outcome, VerifyOptions, verify_wheel
from wheelyard.wheel.archive import record_hash
from wheelyard.wheel.inspect import Limits, inspect_archive

GOOD_FILES = {"demo/__init__.py": b"VALUE = 1\n", "demo/util.py": b"def f():\n    return 2\n"}
DIST = "demo-1.0.dist-info"
STRUCTURE_ONLY = VerifyOptions(checks=frozenset({Check.STRUCTURE, Check.PLATFORM, Check.INSTALL}))


def codes(path: Path, limits: Limits | None = None) -> list[tuple[str, str]]:
    return [(p.code, p.message) for p in inspect_archive(path, limits=limits).problems]


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return make_wheel(tmp_path, GOOD_FILES)


def test_a_well_formed_wheel_has_no_problem(good: Path) -> None:
    report = inspect_archive(good)
    assert report.problems == ()
    assert report.dist_info == DIST
    assert report.binaries == ()
    assert set(report.files) == {*GOOD_FILES, f"{DIST}/METADATA", f"{DIST}/WHEEL", f"{DIST}/RECORD"}
    result = verify_wheel(good, options=STRUCTURE_ONLY).result(Check.STRUCTURE)
    assert result is not None and result.outcome is Outcome.PASS
    assert result.message == (
        "5 files, RECORD matches every hash and size, WHEEL tags = file name tags "
        "(py3-none-any), METADATA 2.1: demo 1.0"
    )


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(b"this is not a zip archive at all")
    assert codes(path) == [
        ("not-a-zip", "not a zip archive: no end-of-central-directory record (32 bytes)")
    ]


def test_truncated_wheel(good: Path, tmp_path: Path) -> None:
    data = good.read_bytes()
    cut = tmp_path / "cut" / good.name
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    assert codes(cut) == [
        (
            "truncated",
            "truncated: the file starts like a zip archive but has no end-of-central-directory "
            f"record ({len(data) // 2} bytes)",
        )
    ]
    report = verify_wheel(cut, options=STRUCTURE_ONLY)
    assert [(c.check, c.outcome) for c in report.checks] == [
        (Check.STRUCTURE, Outcome.FAIL),
        (Check.PLATFORM, Outcome.SKIPPED),
        (Check.INSTALL, Outcome.SKIPPED),
    ]
    platform = report.result(Check.PLATFORM)
    assert platform is not None
    assert platform.message.startswith("the archive is not safe to read: truncated")


def test_trailing_data(good: Path, tmp_path: Path) -> None:
    padded = tmp_path / "pad" / good.name
    padded.parent.mkdir()
    padded.write_bytes(good.read_bytes() + b"GARBAGE!")
    assert codes(padded) == [("trailing-data", "8 bytes of data after the end of the zip archive")]


def test_leading_data(good: Path, tmp_path: Path) -> None:
    prefixed = tmp_path / "pre" / good.name
    prefixed.parent.mkdir()
    prefixed.write_bytes(b"#!/bin/sh\n" + good.read_bytes())
    assert (
        "leading-data",
        "data before the first zip member (the file does not start with a local file header)",
    ) in codes(prefixed)


@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../evil.py", "'..' path component"),
        ("demo/../../evil.py", "'..' path component"),
        ("/etc/evil.py", "absolute path"),
        ("C:/evil.py", "absolute path"),
    ],
)
def test_path_traversal(good: Path, tmp_path: Path, member: str, reason: str) -> None:
    (tmp_path / "bad").mkdir()
    bad = rewrite_zip(good, tmp_path / "bad" / good.name, add=[(member, b"x = 1\n")])
    report = inspect_archive(bad)
    assert report.fatal
    assert report.problems[0].code == "unsafe-path"
    assert report.problems[0].message == (
        f"member {member!r}: {reason}; extracting it could write outside the target folder"
    )
    result = verify_wheel(bad, options=STRUCTURE_ONLY)
    assert result.result(Check.INSTALL) is not None
    assert result.result(Check.INSTALL).outcome is Outcome.SKIPPED  # type: ignore[union-attr]


def test_duplicate_entry(good: Path, tmp_path: Path) -> None:
    (tmp_path / "dup").mkdir()
    bad = rewrite_zip(good, tmp_path / "dup" / good.name, add=[("demo/util.py", b"other\n")])
    assert codes(bad) == [("duplicate-entry", "member demo/util.py appears 2 times")]


def test_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/__init__.py", b"")
        zf.writestr("bomb/zeros.bin", b"\0" * 50_000_000)
    assert bomb.stat().st_size < 100_000
    with zipfile.ZipFile(bomb) as zf:
        compressed = zf.getinfo("bomb/zeros.bin").compress_size
    limits = Limits(max_member_bytes=10_000_000, max_total_bytes=20_000_000)
    assert codes(bomb, limits) == [
        (
            "too-large",
            "member bomb/zeros.bin inflates to 50000000 bytes, over the limit of 10000000 "
            "bytes per file (zip bomb?)",
        ),
        (
            "too-large",
            f"member bomb/zeros.bin inflates {50_000_000 / compressed:.0f}-fold, from "
            f"{compressed} to 50000000 bytes, over the limit of 100-fold for files of "
            "16777216 bytes or more (zip bomb?)",
        ),
        (
            "too-large",
            "the members inflate to 50000000 bytes in all, over the limit of 20000000 bytes "
            "(zip bomb?)",
        ),
    ]
    report = verify_wheel(bomb, options=VerifyOptions(limits=limits))
    assert report.result(Check.STRUCTURE).outcome is Outcome.FAIL  # type: ignore[union-attr]
    assert {c.outcome for c in report.checks[1:]} == {Outcome.SKIPPED}


def test_a_member_that_inflates_a_hundredfold_is_refused_under_the_default_limits(
    tmp_path: Path,
) -> None:
    """The 1 GB member in a 1 MB wheel: under the size limits, refused for its ratio alone."""
    bomb = tmp_path / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb/__init__.py", b"")
        zf.writestr("bomb/zeros.bin", b"\0" * 100_000_000)
    report = inspect_archive(bomb)
    assert report.fatal
    assert [(p.code, p.path) for p in report.problems] == [("too-large", "bomb/zeros.bin")]
    assert "-fold" in report.problems[0].message


def test_large_members_are_hashed_without_holding_them_in_memory(tmp_path: Path) -> None:
    big = make_wheel(
        tmp_path, {"big/__init__.py": b"", "big/blob.bin": os.urandom(64 * 1024 * 1024)}, name="big"
    )
    tracemalloc.start()
    try:
        report = inspect_archive(big)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not report.problems, report.problems
    assert report.files["big/blob.bin"] == 64 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"inspecting a 64 MiB member peaked at {peak} bytes"


def test_record_hash_and_size_mismatch(good: Path, tmp_path: Path) -> None:
    (tmp_path / "h").mkdir()
    bad = rewrite_zip(good, tmp_path / "h" / good.name, replace={"demo/util.py": b"changed!\n"})
    listed, actual = record_hash(GOOD_FILES["demo/util.py"]), record_hash(b"changed!\n")
    assert codes(bad) == [
        (
            "record-hash-mismatch",
            f"demo/util.py: RECORD says {listed}, the file hashes to {actual}",
        ),
        ("record-size-mismatch", "demo/util.py: RECORD says 22 bytes, the file has 9"),
    ]


def test_record_incomplete(good: Path, tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    bad = rewrite_zip(
        good, tmp_path / "r" / good.name, add=[("demo/extra.py", b"")], drop={"demo/util.py"}
    )
    assert codes(bad) == [
        ("record-missing-file", "RECORD lists demo/util.py, which is not in the archive"),
        ("record-unlisted", "demo/extra.py is in the archive but not in RECORD"),
    ]


def test_no_record(good: Path, tmp_path: Path) -> None:
    (tmp_path / "n").mkdir()
    bad = rewrite_zip(good, tmp_path / "n" / good.name, drop={f"{DIST}/RECORD"})
    assert codes(bad) == [("record-missing", f"no {DIST}/RECORD")]


def test_two_dist_info_folders(good: Path, tmp_path: Path) -> None:
    (tmp_path / "two").mkdir()
    bad = rewrite_zip(
        good, tmp_path / "two" / good.name, add=[("other-2.0.dist-info/METADATA", b"")]
    )
    assert codes(bad) == [
        (
            "dist-info-count",
            "expected exactly one .dist-info folder, found demo-1.0.dist-info, other-2.0.dist-info",
        )
    ]


def test_wheel_file_still_says_linux_while_the_name_says_manylinux(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path,
        {"demo/__init__.py": b""},
        tag="cp311-cp311-manylinux_2_28_x86_64",
        wheel_tags=["cp311-cp311-linux_x86_64"],
    )
    assert codes(path) == [
        (
            "tag-mismatch",
            "WHEEL says cp311-cp311-linux_x86_64; the file name says "
            "cp311-cp311-manylinux_2_28_x86_64",
        )
    ]


def test_invalid_metadata_is_reported_field_by_field(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path,
        GOOD_FILES,
        metadata=metadata_text(extra="Requires-Dist: requests >>= 2\nRequires-Python: >=3.x\n"),
    )
    assert codes(path) == [
        ("metadata-invalid", "METADATA: 'requests >>= 2' is invalid for 'requires-dist'"),
        ("metadata-invalid", "METADATA: '>=3.x' is invalid for 'requires-python'"),
    ]


def test_metadata_name_and_version_must_match_the_file_name(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, GOOD_FILES, metadata=metadata_text(name="other", version="2.0"))
    assert codes(path) == [
        ("name-mismatch", "METADATA says Name: other; the file name says demo"),
        ("version-mismatch", "METADATA says Version: 2.0; the file name says 1.0"),
    ]


def test_tolerated_metadata_problems_are_notes(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, GOOD_FILES, metadata_extra="License-Expression: MIT\n")
    report = inspect_archive(path)
    assert report.problems == ()
    assert report.notes == (
        "METADATA: license-expression introduced in metadata version 2.4, not 2.1",
    )


def test_wheel_file_malformed(tmp_path: Path) -> None:
    path = make_wheel(tmp_path, GOOD_FILES)
    (tmp_path / "w").mkdir()
    bad = rewrite_zip(
        path,
        tmp_path / "w" / path.name,
        replace={
            f"{DIST}/WHEEL": wheel_text(["py3-none-any"], purelib=True).replace(
                b"Wheel-Version: 1.0\n", b""
            )
        },
    )
    found = codes(bad)
    assert ("wheel-file-invalid", "WHEEL has no Wheel-Version") in found
