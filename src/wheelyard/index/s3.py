"""An S3-compatible store (AWS S3, Cloudflare R2, MinIO, any endpoint URL) through boto3.

A single PUT makes an object appear whole (multipart uploads appear when completed), so readers
never see half a file. Immutable objects carry their sha256 as object metadata
(``x-amz-meta-sha256``), which makes re-uploads idempotent without downloading anything.
Credentials come from boto3's usual chain (environment, shared files, instance roles); the
endpoint from ``--endpoint-url`` or boto3's own ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from wheelyard.errors import StoreError
from wheelyard.index.store import CHUNK, check_key, conflict, sha256_bytes

SHA_META = "sha256"
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _failure(action: str, url: str, exc: Exception) -> StoreError:
    return StoreError(
        f"S3 {action} failed for {url}: {exc}",
        hint="check the bucket, the endpoint URL (--endpoint-url or AWS_ENDPOINT_URL) and the "
        "credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or a profile); re-running "
        "publish finishes an interrupted one",
    )


class S3Store:
    """``s3://bucket/prefix`` on any S3-compatible endpoint."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        config = Config(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=120
        )
        self.client = client or boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, config=config
        )

    @property
    def url(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, key: str) -> bytes | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = response["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise _failure(f"GET {key}", self.url, exc) from exc
        except BotoCoreError as exc:
            raise _failure(f"GET {key}", self.url, exc) from exc
        return data

    def sha256(self, key: str) -> str | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in NOT_FOUND:
                return None
            raise _failure(f"HEAD {key}", self.url, exc) from exc
        except BotoCoreError as exc:
            raise _failure(f"HEAD {key}", self.url, exc) from exc
        recorded = head.get("Metadata", {}).get(SHA_META)
        if recorded:
            return str(recorded)
        # Put there by another tool: hash what is there.
        data = self.get(key)
        return None if data is None else hashlib.sha256(data).hexdigest()

    def _matches(self, key: str, sha256: str) -> bool:
        found = self.sha256(key)
        if found is None:
            return False
        if found != sha256:
            raise conflict(key, self.url)
        return True

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, immutable: bool = False
    ) -> bool:
        digest = sha256_bytes(data)
        if immutable and self._matches(key, digest):
            return False
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=data,
                ContentType=content_type,
                Metadata={SHA_META: digest},
            )
        except (ClientError, BotoCoreError) as exc:
            raise _failure(f"PUT {key}", self.url, exc) from exc
        return True

    def put_file(self, key: str, path: Path, *, sha256: str, content_type: str) -> bool:
        if self._matches(key, sha256):
            return False
        try:
            self.client.upload_file(
                str(path),
                self.bucket,
                self._key(key),
                ExtraArgs={"ContentType": content_type, "Metadata": {SHA_META: sha256}},
                Config=TransferConfig(multipart_chunksize=64 * CHUNK, use_threads=False),
            )
        except (ClientError, BotoCoreError) as exc:
            raise _failure(f"PUT {key}", self.url, exc) from exc
        except Exception as exc:  # boto3's transfer manager wraps errors in its own types
            if type(exc).__module__.startswith(("boto3", "s3transfer")):
                raise _failure(f"PUT {key}", self.url, exc) from exc
            raise
        return True

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as exc:
            raise _failure(f"DELETE {key}", self.url, exc) from exc
