"""wheel/diff.py and `wheelyard diff`: what differs, and the functional-equivalence rule."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from test_verify_support import make_wheel, need_gcc

from wheelyard.wheel.diff import ChangeKind, diff_folders, diff_wheels

FILES = {"demo/__init__.py": b"X = 1\n", "demo/data.txt": b"hello\n"}
SO = "demo/_core.so"


def so(tmp_path: Path, source: str, *flags: str) -> bytes:
    gcc = need_gcc()
    src = tmp_path / "core.c"
    src.write_text(source)
    out = tmp_path / f"core-{abs(hash((source, flags)))}.so"
    subprocess.run([gcc, "-shared", "-fPIC", str(src), "-o", str(out), *flags], check=True)
    return out.read_bytes()


def pair(
    tmp_path: Path, old: dict[str, bytes], new: dict[str, bytes], **kw: Any
) -> tuple[Path, Path]:
    (tmp_path / "old").mkdir(parents=True, exist_ok=True)
    (tmp_path / "new").mkdir(parents=True, exist_ok=True)
    new_kw = kw.pop("new_kw", {})
    return make_wheel(tmp_path / "old", old, **kw), make_wheel(
        tmp_path / "new", new, **{**kw, **new_kw}
    )


def test_same_content_is_equivalent(tmp_path: Path) -> None:
    old, new = pair(tmp_path, FILES, FILES)
    diff = diff_wheels(old, new)
    assert diff.equivalent
    assert diff.files == () and diff.reasons == ()


def test_descriptive_metadata_does_not_count_but_dependencies_do(tmp_path: Path) -> None:
    old, new = pair(
        tmp_path, FILES, FILES, new_kw={"metadata_extra": "Summary: now with a summary\n"}
    )
    diff = diff_wheels(old, new)
    assert diff.equivalent
    assert [(c.field, c.old, c.new, c.decisive) for c in diff.metadata] == [
        ("summary", None, "now with a summary", False)
    ]
    old, new = pair(
        tmp_path / "b", FILES, FILES, new_kw={"metadata_extra": "Requires-Dist: numpy>=2\n"}
    )
    diff = diff_wheels(old, new)
    assert not diff.equivalent
    assert diff.reasons == ("METADATA requires_dist: None -> ['numpy>=2']",)


def test_files_added_removed_and_changed_with_sizes(tmp_path: Path) -> None:
    new_files = {"demo/__init__.py": b"X = 22\n", "demo/extra.py": b""}
    old, new = pair(tmp_path, FILES, new_files)
    diff = diff_wheels(old, new)
    changes = {(c.path, c.change, c.old_size, c.new_size, c.decisive) for c in diff.files}
    assert ("demo/__init__.py", ChangeKind.CHANGED, 6, 7, True) in changes
    assert ("demo/data.txt", ChangeKind.REMOVED, 6, None, True) in changes
    assert ("demo/extra.py", ChangeKind.ADDED, None, 0, True) in changes
    record = [c for c in diff.files if c.path.endswith("RECORD")]
    assert [(c.decisive, c.note) for c in record] == [(False, "derived from the other files")]
    assert not diff.equivalent


def test_tags_and_modes_count(tmp_path: Path) -> None:
    old, new = pair(tmp_path, FILES, FILES, new_kw={"modes": {"demo/data.txt": 0o755}})
    diff = diff_wheels(old, new)
    assert [(c.path, c.change, c.note) for c in diff.files] == [
        ("demo/data.txt", ChangeKind.MODE, "644 -> 755")
    ]
    assert not diff.equivalent
    old, new = pair(tmp_path / "t", FILES, FILES, new_kw={"tag": "py2.py3-none-any"})
    diff = diff_wheels(old, new)
    assert diff.reasons[0] == "tags differ: py3-none-any -> py2-none-any, py3-none-any"


def test_elf_debug_info_only_is_equivalent(tmp_path: Path) -> None:
    source = "int core(int x) { return x * 3 + 1; }\n"
    old, new = pair(
        tmp_path,
        {**FILES, SO: so(tmp_path, source, "-O1")},
        {**FILES, SO: so(tmp_path, source, "-O1", "-g")},
    )
    diff = diff_wheels(old, new)
    assert diff.equivalent, diff.reasons
    [change] = [c for c in diff.files if c.path == SO]
    assert (change.decisive, change.note) == (
        False,
        "same interface and loaded code; other sections differ",
    )
    assert diff.unchanged_elf == (SO,)


def test_elf_compiler_flag_and_interface_changes_count(tmp_path: Path) -> None:
    source = "int core(int x) { return x * 3 + 1; }\n"
    more = source + "int added(void) { return 7; }\n"
    old, new = pair(
        tmp_path,
        {**FILES, SO: so(tmp_path, source, "-O2")},
        {**FILES, SO: so(tmp_path, more, "-O0", "-Wl,--no-as-needed", "-lm", "-Wl,-rpath,$ORIGIN")},
    )
    diff = diff_wheels(old, new)
    assert not diff.equivalent
    [elf] = diff.elf
    assert elf.path == SO
    assert elf.exports_added == ("added",)
    assert elf.needed_added == ("libm.so.6", "libc.so.6")  # --no-as-needed keeps both
    assert elf.facts["runpath"] == ([], ["$ORIGIN"])
    assert ".text" in elf.sections_changed
    assert f"{SO}: ELF interface differs" in diff.reasons


def test_folders_are_matched_by_name(tmp_path: Path) -> None:
    (tmp_path / "a" / "cpu").mkdir(parents=True)
    (tmp_path / "b" / "cpu").mkdir(parents=True)
    make_wheel(tmp_path / "a" / "cpu", FILES)
    make_wheel(tmp_path / "b" / "cpu", FILES)
    make_wheel(tmp_path / "a" / "cpu", FILES, name="gone")
    diff = diff_folders(tmp_path / "a", tmp_path / "b")
    assert diff.only_old == ("cpu/gone-1.0-py3-none-any.whl",)
    assert [p.equivalent for p in diff.pairs] == [True]
    assert not diff.equivalent


def test_cli_exit_codes(cli: Callable[..., Any], tmp_path: Path) -> None:
    old, new = pair(tmp_path, FILES, FILES)
    same = cli("diff", str(old), str(new))
    assert same.exit_code == 0
    assert "equivalent" in same.stdout
    other = make_wheel(tmp_path, {**FILES, "demo/data.txt": b"bye\n"})
    changed = cli("diff", str(old), str(other), "--json")
    assert changed.exit_code == 1
    data = json.loads(changed.stdout)
    assert data["equivalent"] is False
    assert data["reasons"] == ["demo/data.txt: changed"]
    missing = cli("diff", str(old), str(tmp_path / "nope.whl"))
    assert missing.exit_code == 2
    mixed = cli("diff", str(old), str(tmp_path))
    assert mixed.exit_code == 2
    junk = tmp_path / "junk-1.0-py3-none-any.whl"
    junk.write_bytes(b"not a zip")
    assert cli("diff", str(old), str(junk)).exit_code == 2


def test_a_change_of_the_torch_a_wheel_was_built_against_counts(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    """Two wheelhouses (``wheelyard build`` output) with byte-identical wheels: their build
    records say one was compiled against torch 2.13 (CPU build), the other against 2.14."""
    from wheelyard.record import BuildRecord, JobRecord, JobSpec, JobStatus, WheelInfo

    def wheelhouse(name: str, torch: dict[str, Any]) -> Path:
        folder = tmp_path / name
        (folder / "cpu").mkdir(parents=True)
        wheel = make_wheel(folder / "cpu", FILES)
        info = WheelInfo.of(wheel, folder).model_copy(
            update={"built_against": {"torch": torch, "abi_dependencies": {"numpy": "2.3.1"}}}
        )
        spec = JobSpec(
            id="linux-x86_64-cpu", platform="linux-x86_64", os="linux", arch="x86_64",
            variant="cpu", kind="cpu", python_mode="per-interpreter", pythons=("cp311",),
        )  # fmt: skip
        job = JobRecord(job=spec, status=JobStatus.SUCCEEDED, package="demo", wheels=(info,))
        BuildRecord(
            package="demo", version="1.0", channel="release", source="t",
            started_at="2026-12-06T00:00:00+00:00", jobs=(job,),
        ).save(folder)  # fmt: skip
        return folder

    before = {"version": "2.13.0+cpu", "accelerator": "cpu", "cxx11_abi": True, "wheel": "a"}
    after = {"version": "2.14.1", "accelerator": "cuda 13.0", "cxx11_abi": True, "wheel": "b"}
    old, new = wheelhouse("old", before), wheelhouse("new", after)
    result = cli("diff", str(old), str(new), "--json")
    assert result.exit_code == 1, result.stdout
    [wheel] = json.loads(result.stdout)["wheels"]
    assert wheel["reasons"] == [
        "built against torch.accelerator: 'cpu' -> 'cuda 13.0'",
        "built against torch.version: '2.13.0+cpu' -> '2.14.1'",
    ]
    assert {c["field"]: c["decisive"] for c in wheel["built_against"]} == {
        "torch.accelerator": True,
        "torch.version": True,
        "torch.wheel": False,
    }
    text = cli(
        "diff",
        str(old / "cpu" / "demo-1.0-py3-none-any.whl"),
        str(new / "cpu" / "demo-1.0-py3-none-any.whl"),
    )
    assert "built against torch.version: 2.13.0+cpu -> 2.14.1" in text.stdout
    same = cli("diff", str(old), str(wheelhouse("again", before)))
    assert same.exit_code == 0, same.stdout
