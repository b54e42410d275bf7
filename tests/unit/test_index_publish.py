"""index/publish.py, writer.py, retention.py: a cuda-kernels wheelhouse to a directory index."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest

from variant_wheelhouse import DIST, PYTHONS, VERSION, FailingStore, make_wheelhouse
from wheelyard.catalog import load_catalog
from wheelyard.config.vocab import Channel
from wheelyard.errors import PublishError, StoreConflictError, StoreError, VariantError
from wheelyard.index.publish import PublishOptions, publish_local, publish_wheelhouse
from wheelyard.index.retention import RetentionPolicy
from wheelyard.index.state import STATE_KEY, load_state
from wheelyard.index.store import FileStore, Store

CATALOG = load_catalog()
DAY = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
ANCHOR = re.compile(r'<a href="([^"#]+)#sha256=([0-9a-f]+)"[^>]*>([^<]+)</a>')


def publish(wheelhouse: Path, store: Store, **options: object) -> list[str]:
    opts = PublishOptions(now=DAY, **options)  # type: ignore[arg-type]
    report = publish_wheelhouse(wheelhouse, store, catalog=CATALOG, options=opts)
    return sorted(f.filename for f in report.published)


def links(root: Path, page: str) -> dict[str, str]:
    """filename -> target path of every link on ``page`` (checked: exists, sha256 matches)."""
    html = (root / page).read_text(encoding="utf-8")
    out = {}
    for href, sha, name in ANCHOR.findall(html):
        target = ((root / page).parent / unquote(href)).resolve()
        assert target.is_file(), f"{page} links missing {name}"
        assert hashlib.sha256(target.read_bytes()).hexdigest() == sha, name
        out[name] = str(target)
    return out


def all_links_complete(root: Path) -> int:
    count = 0
    for page in root.rglob("index.html"):
        count += len(links(root, str(page.relative_to(root))))
    return count


def test_publish_writes_variant_fallback_and_legacy_indexes(tmp_path: Path) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse")
    root = tmp_path / "index"
    published = publish(house, FileStore(root))
    assert len(published) == len(PYTHONS) * 7
    assert f"{DIST}-{VERSION}-cp311-cp311-manylinux_2_35_x86_64-cu128.whl" in published
    assert f"{DIST}-{VERSION}-cp311-cp311-manylinux_2_35_x86_64-null.whl" in published
    assert f"{DIST}-{VERSION}-cp311-cp311-manylinux_2_35_x86_64.whl" in published
    assert f"{DIST}-{VERSION}+cu126-cp311-cp311-manylinux_2_35_x86_64.whl" in published

    simple = links(root, "simple/cuda-kernels/index.html")
    assert len(simple) == len(PYTHONS) * 4 + 1
    assert f"{DIST}-{VERSION}-variants.json" in simple
    assert not any("+" in name for name in simple)
    legacy = links(root, "whl/nightly/cu126/cuda-kernels/index.html")
    assert sorted(legacy) == sorted(
        f"{DIST}-{VERSION}+cu126-{p}-{p}-manylinux_2_35_x86_64.whl" for p in PYTHONS
    )
    assert "cuda-kernels/" in (root / "whl/nightly/cu126/index.html").read_text()
    assert "cuda-kernels/" in (root / "simple/index.html").read_text()

    page = json.loads((root / "simple/cuda-kernels/index.json").read_text())
    assert page["meta"]["api-version"] == "1.1"
    assert page["versions"] == [VERSION]
    wheel = next(
        f
        for f in page["files"]
        if f["filename"].endswith("cp311_x86_64-cu128.whl")
        or f["filename"].endswith("x86_64-cu128.whl")
    )
    assert wheel["requires-python"] == ">=3.10"
    assert wheel["yanked"] is False
    metadata = (root / "packages/cuda-kernels" / (wheel["filename"] + ".metadata")).read_bytes()
    assert wheel["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    html = (root / "simple/cuda-kernels/index.html").read_text()
    assert 'data-requires-python="&gt;=3.10"' in html
    assert 'data-core-metadata="sha256=' in html

    variants = json.loads(
        (root / f"packages/cuda-kernels/{DIST}-{VERSION}-variants.json").read_text()
    )
    assert sorted(variants["variants"]) == ["cu126", "cu128", "null"]
    assert variants["default-priorities"]["namespace"] == ["nvidia", "amd", "intel"]
    state = load_state(FileStore(root))
    assert len(state.files) == len(PYTHONS) * 7
    assert state.generation == 1


def test_publishing_again_changes_nothing(tmp_path: Path) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse")
    store = FileStore(tmp_path / "index")
    publish(house, store)
    report = publish_wheelhouse(house, store, catalog=CATALOG, options=PublishOptions(now=DAY))
    assert report.published == ()
    assert len(report.already) == len(PYTHONS) * 7
    assert report.pages_written == 0


def test_other_content_under_a_published_name_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "index")
    publish(make_wheelhouse(tmp_path / "a"), store)
    before = (tmp_path / "index" / STATE_KEY).read_bytes()
    rebuilt = make_wheelhouse(
        tmp_path / "b", extra_metadata=dict.fromkeys(("cpu", "cu126", "cu128"), "Keywords: new\n")
    )
    with pytest.raises(StoreConflictError, match="already published with other content"):
        publish(rebuilt, store)
    assert (tmp_path / "index" / STATE_KEY).read_bytes() == before


def test_wheels_that_failed_verification_are_not_published(tmp_path: Path) -> None:
    bad = f"{DIST}-{VERSION}+cu128-cp312-cp312-manylinux_2_35_x86_64.whl"
    house = make_wheelhouse(tmp_path / "wheelhouse", failed=[bad])
    store = FileStore(tmp_path / "index")
    report = publish_wheelhouse(house, store, catalog=CATALOG, options=PublishOptions(now=DAY))
    assert [e.name for e in report.excluded] == [bad]
    names = {f.filename for f in report.published}
    assert f"{DIST}-{VERSION}-cp312-cp312-manylinux_2_35_x86_64-cu128.whl" not in names
    assert f"{DIST}-{VERSION}-cp311-cp311-manylinux_2_35_x86_64-cu128.whl" in names


def test_a_wheel_changed_since_the_build_is_refused(tmp_path: Path) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse", pythons=("cp312",))
    wheel = next((house / "cu126").glob("*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(PublishError, match="changed since it was built"):
        publish(house, FileStore(tmp_path / "index"))


def test_metadata_differing_between_variants_is_refused_before_writing(tmp_path: Path) -> None:
    house = make_wheelhouse(
        tmp_path / "wheelhouse", extra_metadata={"cu128": "Requires-Dist: cupy\n"}
    )
    with pytest.raises(VariantError, match=r"core metadata differs.*requires-dist"):
        publish(house, FileStore(tmp_path / "index"))
    assert not (tmp_path / "index").exists()


def test_a_label_meaning_other_properties_than_on_the_index_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "index")
    publish(make_wheelhouse(tmp_path / "a", variants=("cpu", "cu128")), store)
    changed = load_catalog(
        {
            "variants": {
                "cu128": {
                    "properties": [
                        "nvidia :: cuda_version_lower_bound :: 12.8",
                        "nvidia :: sm_arch :: 90_real",
                    ]
                }
            }
        }
    )
    house = make_wheelhouse(tmp_path / "b", variants=("cu128",), pythons=("cp39",))
    with pytest.raises(VariantError, match="'cu128' means"):
        publish_wheelhouse(house, store, catalog=changed, options=PublishOptions(now=DAY))


@pytest.mark.parametrize("fail_after", [3, 40, 58, 60])
def test_a_failure_mid_publish_leaves_complete_links_and_a_rerun_finishes(
    tmp_path: Path, fail_after: int
) -> None:
    root = tmp_path / "index"
    store = FileStore(root)
    publish(make_wheelhouse(tmp_path / "v1", version="0.1.0.dev20261119"), store)
    before = all_links_complete(root)
    house = make_wheelhouse(tmp_path / "v2")
    with pytest.raises(StoreError, match="injected failure"):
        publish(house, FailingStore(store, fail_after))
    assert all_links_complete(root) >= before  # every link points at a whole file
    assert len(load_state(store).files) in (len(PYTHONS) * 7, len(PYTHONS) * 14)
    publish(house, store)
    state = load_state(store)
    assert {f.version for f in state.files} >= {"0.1.0.dev20261119", VERSION}
    assert len(state.files) == len(PYTHONS) * 14
    assert all_links_complete(root) == 2 * before + 0


def test_nightly_retention_keeps_the_newest_versions_and_deletes_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "index"
    store = FileStore(root)
    policy = RetentionPolicy(keep_versions=2)
    for day in (17, 18, 19, 20):
        house = make_wheelhouse(
            tmp_path / f"d{day}", version=f"0.1.0.dev202611{day}", pythons=("cp312",)
        )
        report = publish_wheelhouse(
            house, store, catalog=CATALOG, options=PublishOptions(now=DAY, retention=policy)
        )
    assert [p.version for p in report.pruned] == ["0.1.0.dev20261118"]
    versions = {f.version.split("+")[0] for f in load_state(store).files}
    assert versions == {"0.1.0.dev20261119", "0.1.0.dev20261120"}
    assert not list((root / "packages/cuda-kernels").glob("*dev20261117*"))
    assert not list((root / "packages/cuda-kernels").glob("*dev20261118*"))
    assert "dev20261118" not in (root / "simple/cuda-kernels/index.html").read_text()
    assert not list(root.rglob("*dev20261118-variants.json"))
    all_links_complete(root)


def test_retention_never_deletes_a_file_another_page_links(tmp_path: Path) -> None:
    root = tmp_path / "index"
    store = FileStore(root)
    old = make_wheelhouse(tmp_path / "old", version="0.1.0.dev20261119", pythons=("cp312",))
    publish(old, store, channel=Channel.NIGHTLY)
    publish(old, store, channel=Channel.TEST)  # the same files, promoted to the test channel
    new = make_wheelhouse(tmp_path / "new", pythons=("cp312",))
    report = publish_wheelhouse(
        new,
        store,
        catalog=CATALOG,
        options=PublishOptions(
            now=DAY, channel=Channel.NIGHTLY, retention=RetentionPolicy(keep_versions=1)
        ),
    )
    assert [p.version for p in report.pruned] == ["0.1.0.dev20261119"]
    assert report.deleted == ()
    assert "dev20261119" not in (root / "whl/nightly/cu126/cuda-kernels/index.html").read_text()
    kept = links(root, "whl/test/cu126/cuda-kernels/index.html")
    assert list(kept) == [f"{DIST}-0.1.0.dev20261119+cu126-cp312-cp312-manylinux_2_35_x86_64.whl"]
    assert "dev20261119" in (root / "simple/cuda-kernels/index.html").read_text()


def test_retention_by_days(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "index")
    for day in (10, 19):
        house = make_wheelhouse(
            tmp_path / f"d{day}", version=f"0.1.0.dev202611{day}", pythons=("cp312",)
        )
        when = dt.datetime(2026, 11, day, tzinfo=dt.UTC)
        publish_wheelhouse(
            house,
            store,
            catalog=CATALOG,
            options=PublishOptions(now=when, retention=RetentionPolicy(keep_versions=None)),
        )
    house = make_wheelhouse(tmp_path / "d20", pythons=("cp312",))
    report = publish_wheelhouse(
        house,
        store,
        catalog=CATALOG,
        options=PublishOptions(now=DAY, retention=RetentionPolicy(keep_versions=None, keep_days=7)),
    )
    assert [p.version for p in report.pruned] == ["0.1.0.dev20261110"]


def test_yanked_files_are_marked_on_both_page_kinds(tmp_path: Path) -> None:
    from dataclasses import replace

    from wheelyard.index.state import save_state
    from wheelyard.index.writer import write_index

    store = FileStore(tmp_path / "index")
    publish(make_wheelhouse(tmp_path / "w", pythons=("cp312",)), store)
    state = load_state(store)
    yanked = state.with_files(tuple(replace(f, yanked="broken kernel") for f in state.files))
    written, result = write_index(store, yanked)
    save_state(store, written)
    assert result.written
    assert (
        'data-yanked="broken kernel"'
        in (tmp_path / "index/simple/cuda-kernels/index.html").read_text()
    )
    page = json.loads((tmp_path / "index/simple/cuda-kernels/index.json").read_text())
    assert {f["yanked"] for f in page["files"] if f["filename"].endswith(".whl")} == {
        "broken kernel"
    }


def test_a_damaged_state_record_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "index/_wheelyard").mkdir(parents=True)
    (tmp_path / "index" / STATE_KEY).write_text("{not json")
    with pytest.raises(StoreError, match="damaged"):
        publish(make_wheelhouse(tmp_path / "w", pythons=("cp312",)), FileStore(tmp_path / "index"))


def test_publish_local_defaults_to_index_beside_the_wheelhouse(tmp_path: Path) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse", pythons=("cp312",))
    report = publish_local(house, catalog=CATALOG)
    assert report.store == str(tmp_path / "index")
    assert (tmp_path / "index/simple/cuda-kernels/index.html").is_file()


def test_cli_publish(tmp_path: Path, cli: Callable[..., object]) -> None:
    house = make_wheelhouse(tmp_path / "wheelhouse", pythons=("cp312",))
    result = cli("publish", str(house), "--to", str(tmp_path / "idx"), "--json")
    assert result.exit_code == 0, result.stderr  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["channel"] == "nightly"
    assert {p["tree"] for p in data["published"]} == {
        "simple",
        "whl/nightly/cpu",
        "whl/nightly/cu126",
        "whl/nightly/cu128",
    }
    again = cli("publish", str(house), "--to", str(tmp_path / "idx"))
    assert again.exit_code == 0  # type: ignore[attr-defined]
    assert "already published" in again.stdout  # type: ignore[attr-defined]
    missing = cli("publish", str(tmp_path / "nowhere"), "--to", str(tmp_path / "idx"))
    assert missing.exit_code == 2  # type: ignore[attr-defined]
    assert "no such wheelhouse" in missing.stderr  # type: ignore[attr-defined]
