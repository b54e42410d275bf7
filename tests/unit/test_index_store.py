"""index/store.py and registry.py: atomic, idempotent-by-sha256 file-system store."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelyard.errors import StoreConflictError, StoreError
from wheelyard.index.registry import open_store
from wheelyard.index.store import FileStore, sha256_bytes


def test_immutable_puts_are_idempotent_and_refuse_other_content(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    assert store.put_bytes("packages/a/x.whl", b"one", content_type="x", immutable=True)
    assert not store.put_bytes("packages/a/x.whl", b"one", content_type="x", immutable=True)
    with pytest.raises(StoreConflictError, match="already exists with other content"):
        store.put_bytes("packages/a/x.whl", b"two", content_type="x", immutable=True)
    assert store.get("packages/a/x.whl") == b"one"
    assert store.sha256("packages/a/x.whl") == sha256_bytes(b"one")


def test_files_are_put_by_hash_and_mutable_objects_replaced(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "store")
    src = tmp_path / "w.whl"
    src.write_bytes(b"wheel")
    assert store.put_file("p/w.whl", src, sha256=sha256_bytes(b"wheel"), content_type="x")
    assert not store.put_file("p/w.whl", src, sha256=sha256_bytes(b"wheel"), content_type="x")
    store.put_bytes("simple/index.html", b"a", content_type="text/html")
    store.put_bytes("simple/index.html", b"b", content_type="text/html")
    assert store.get("simple/index.html") == b"b"
    assert not list((tmp_path / "store").rglob(".tmp-*"))
    store.delete("simple/index.html")
    store.delete("simple/index.html")
    assert store.get("simple/index.html") is None


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../b", "dir/"])
def test_keys_stay_inside_the_store(tmp_path: Path, key: str) -> None:
    with pytest.raises(StoreError, match="invalid store key"):
        FileStore(tmp_path).get(key)


def test_registry_opens_directories_and_refuses_unknown_schemes(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "idx"))
    assert isinstance(store, FileStore)
    assert store.root == (tmp_path / "idx").resolve()
    assert isinstance(open_store(f"file://{tmp_path}"), FileStore)
    with pytest.raises(StoreError, match="no store for ftp://"):
        open_store("ftp://host/x")
    with pytest.raises(StoreError, match="names no bucket"):
        open_store("s3:///prefix")
