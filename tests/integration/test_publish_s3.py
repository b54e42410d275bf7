"""Publishing to an S3-compatible endpoint: moto's server on loopback, through boto3's HTTP path."""

from __future__ import annotations

import hashlib
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
from moto.server import ThreadedMotoServer

from variant_wheelhouse import DIST, VERSION, FailingStore, make_wheelhouse
from wheelyard.catalog import load_catalog
from wheelyard.errors import StoreConflictError, StoreError
from wheelyard.index.publish import PublishOptions, publish_wheelhouse
from wheelyard.index.registry import StoreSettings, open_store
from wheelyard.index.s3 import S3Store
from wheelyard.index.state import load_state

CATALOG = load_catalog()
BUCKET = "wheels"
ANCHOR = re.compile(r'<a href="([^"#]+)#sha256=([0-9a-f]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    try:
        yield url
    finally:
        server.stop()


def objects(url: str) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=url)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for item in page.get("Contents", []):
            found[item["Key"]] = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return found


def check_links(found: dict[str, bytes], prefix: str) -> int:
    """Every link of every page points at an object with the linked sha256."""
    count = 0
    for key, data in found.items():
        if not key.endswith("index.html"):
            continue
        folder = key.rsplit("/", 1)[0].split("/")
        for href, sha in ANCHOR.findall(data.decode()):
            parts = list(folder)
            for piece in unquote(href).split("/"):
                if piece == "..":
                    parts.pop()
                else:
                    parts.append(piece)
            target = "/".join(parts)
            assert target in found, f"{key} links missing {target}"
            assert hashlib.sha256(found[target]).hexdigest() == sha
            count += 1
    assert all(k.startswith(prefix) for k in found)
    return count


def test_publish_to_s3_is_atomic_idempotent_and_resumable(endpoint: str, tmp_path: Path) -> None:
    store = open_store(f"s3://{BUCKET}/nightly-index", StoreSettings(endpoint_url=endpoint))
    assert isinstance(store, S3Store)
    house = make_wheelhouse(tmp_path / "wheelhouse", pythons=("cp311", "cp312"))
    with pytest.raises(StoreError, match="injected"):
        publish_wheelhouse(house, FailingStore(store, 9), catalog=CATALOG, options=PublishOptions())
    partial = objects(endpoint)
    assert check_links(partial, "nightly-index/") == 0  # no page yet: nothing half-published
    assert "nightly-index/_wheelyard/state.json" not in partial

    report = publish_wheelhouse(house, store, catalog=CATALOG, options=PublishOptions())
    assert len(report.published) == 2 * 7
    found = objects(endpoint)
    assert check_links(found, "nightly-index/") == 2 * 4 + 1 + 2 * 3
    head = boto3.client("s3", endpoint_url=endpoint).head_object(
        Bucket=BUCKET,
        Key=f"nightly-index/packages/cuda-kernels/{DIST}-{VERSION}-cp312-cp312-manylinux_2_35_x86_64-cu128.whl",
    )
    assert len(head["Metadata"]["sha256"]) == 64
    assert (
        "cuda_kernels-0.1.0.dev20261120-variants.json"
        in found["nightly-index/simple/cuda-kernels/index.html"].decode()
    )

    again = publish_wheelhouse(house, store, catalog=CATALOG, options=PublishOptions())
    assert again.published == () and again.pages_written == 0
    assert len(load_state(store).files) == 2 * 7


def test_a_second_build_of_a_published_version_is_refused(endpoint: str, tmp_path: Path) -> None:
    store = open_store(f"s3://{BUCKET}", StoreSettings(endpoint_url=endpoint))
    publish_wheelhouse(make_wheelhouse(tmp_path / "a", pythons=("cp312",)), store, catalog=CATALOG)
    key = f"packages/cuda-kernels/{DIST}-{VERSION}-cp312-cp312-manylinux_2_35_x86_64-cu126.whl"
    with pytest.raises(StoreConflictError, match="other content"):
        store.put_bytes(key, b"not the wheel", content_type="x", immutable=True)


def test_a_dead_endpoint_is_a_store_error_and_the_rerun_finishes(
    tmp_path: Path, endpoint: str
) -> None:
    house = make_wheelhouse(tmp_path / "w", pythons=("cp312",))
    dead = S3Store(BUCKET, "x", endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreError, match=r"S3 GET _wheelyard/state\.json failed"):
        publish_wheelhouse(house, dead, catalog=CATALOG)
    live = S3Store(BUCKET, "x", endpoint_url=endpoint)
    assert len(publish_wheelhouse(house, live, catalog=CATALOG).published) == 7
