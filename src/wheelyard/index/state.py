"""The published-state record: every file the index serves, kept as one JSON object in the store.

The index pages are written from this record, never from a listing of the store, so a page can
only link files whose upload finished before the record named them. The record also keeps the
hash of every page it last wrote (to skip unchanged ones) and files waiting to be deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import canonicalize_name
from pydantic import TypeAdapter

from wheelyard.config.vocab import Channel
from wheelyard.errors import StoreError
from wheelyard.index.store import Store
from wheelyard.version import bucket_path
from wheelyard.wheel.convert import WheelKind

STATE_KEY = "_wheelyard/state.json"
STATE_SCHEMA = "wheelyard.index-state/1"
PACKAGES = "packages"
SIMPLE = "simple"


def file_key(project: str, filename: str) -> str:
    """Where a published file lives in the store (every page links it there)."""
    return f"{PACKAGES}/{canonicalize_name(project)}/{filename}"


@dataclass(frozen=True, kw_only=True)
class PublishedFile:
    project: str
    """Normalised project name (``cuda-kernels``)."""
    filename: str
    version: str
    kind: WheelKind
    channel: Channel
    variant: str
    """The build variant (``cpu``, ``cu128``); its PEP 825 label is ``label``."""
    label: str | None
    sha256: str
    size: int
    metadata_sha256: str
    requires_python: str | None
    published_at: str
    """UTC ISO timestamp (retention counts days from it)."""
    yanked: str | None = None
    """None: not yanked; otherwise the reason ("" for none given)."""
    variant_metadata: Mapping[str, Any] | None = None
    """The wheel's variant.json (variant wheels only)."""

    @property
    def key(self) -> str:
        return file_key(self.project, self.filename)

    @property
    def metadata_key(self) -> str:
        return f"{self.key}.metadata"

    @property
    def tree(self) -> str:
        """The index tree whose pages link this file."""
        if self.kind is WheelKind.LEGACY:
            return bucket_path(self.channel, self.variant)
        return SIMPLE

    @property
    def ident(self) -> tuple[str, str]:
        """Unique within a state: one file name per channel."""
        return (str(self.channel), self.filename)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _FILE.dump_python(self, mode="json")
        if self.variant_metadata is None:
            del data["variant_metadata"]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PublishedFile:
        return _FILE.validate_python(data)


_FILE: TypeAdapter[PublishedFile] = TypeAdapter(PublishedFile)
"""One serializer for a published file's entry in the state (written and read back)."""


@dataclass(frozen=True, kw_only=True)
class PublishedState:
    files: tuple[PublishedFile, ...] = ()
    pages: Mapping[str, str] = field(default_factory=dict)
    """Page key -> sha256 of what was last written there."""
    pending_deletions: tuple[str, ...] = ()
    """Store keys no page links any more, to delete once the pages are written."""
    generation: int = 0

    def with_files(self, files: tuple[PublishedFile, ...]) -> PublishedState:
        return replace(self, files=tuple(sorted(files, key=lambda f: (f.key, f.ident))))

    def referenced_keys(self) -> set[str]:
        keys = set()
        for item in self.files:
            keys.add(item.key)
            keys.add(item.metadata_key)
        return keys

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": STATE_SCHEMA,
            "generation": self.generation,
            "files": [f.to_json() for f in self.files],
            "pages": dict(sorted(self.pages.items())),
            "pending_deletions": sorted(self.pending_deletions),
        }


def load_state(store: Store) -> PublishedState:
    raw = store.get(STATE_KEY)
    if raw is None:
        return PublishedState()
    try:
        data = json.loads(raw)
        if data.get("schema") != STATE_SCHEMA:
            raise StoreError(
                f"{store.url}/{STATE_KEY}: unknown state format {data.get('schema')!r}",
                hint="this index was written by another wheelyard version",
            )
        return PublishedState(
            files=tuple(PublishedFile.from_json(f) for f in data["files"]),
            pages={str(k): str(v) for k, v in data.get("pages", {}).items()},
            pending_deletions=tuple(data.get("pending_deletions", ())),
            generation=int(data.get("generation", 0)),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreError(
            f"{store.url}/{STATE_KEY}: the published-state record is damaged ({exc})",
            hint="restore it from a backup; the index is written from this record",
        ) from exc


def save_state(store: Store, state: PublishedState) -> None:
    data = json.dumps(state.to_json(), indent=1, sort_keys=False).encode("utf-8") + b"\n"
    store.put_bytes(STATE_KEY, data, content_type="application/json")
