"""Read what ``wheelyard build`` left: ``<wheelhouse>/<variant>/*.whl`` and ``build-record.json``.

The record says which variant built each wheel and its sha256 (checked again here: a wheel that
changed since the build is refused). A wheel whose verification failed (a ``verification``
entry with ``"status": "failed"`` on the wheel, or under the record's ``verification`` map) is
left out and reported. Without a record, each sub-folder's name is taken as the variant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wheelyard.config.vocab import Channel
from wheelyard.errors import PublishError
from wheelyard.index.store import sha256_file

RECORD_NAME = "build-record.json"
NOT_VARIANT_DIRS = frozenset({"logs"})


@dataclass(frozen=True, kw_only=True)
class BuiltWheel:
    path: Path
    variant: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class ExcludedWheel:
    name: str
    variant: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Wheelhouse:
    root: Path
    channel: Channel | None
    wheels: tuple[BuiltWheel, ...]
    excluded: tuple[ExcludedWheel, ...] = ()
    from_record: bool = True


def _verification_failed(entry: Mapping[str, Any], record: Mapping[str, Any]) -> str | None:
    checks = [entry.get("verification")]
    by_name = record.get("verification")
    if isinstance(by_name, Mapping):
        checks.append(by_name.get(str(entry.get("name"))))
    for check in checks:
        if isinstance(check, Mapping) and check.get("status") == "failed":
            detail = check.get("message") or check.get("reason") or check.get("step")
            return "verification failed" + (f": {detail}" if detail else "")
    return None


def _from_record(root: Path, record: Mapping[str, Any]) -> Wheelhouse:
    wheels: list[BuiltWheel] = []
    excluded: list[ExcludedWheel] = []
    jobs = record.get("jobs")
    if not isinstance(jobs, list):
        raise PublishError(f"{root / RECORD_NAME}: no 'jobs' list", hint="rebuild the wheelhouse")
    for job in jobs:
        if not isinstance(job, Mapping):
            continue
        spec = job.get("job") if isinstance(job.get("job"), Mapping) else {}
        assert isinstance(spec, Mapping)
        variant = str(spec.get("variant") or "")
        for entry in job.get("wheels") or ():
            if not isinstance(entry, Mapping) or not variant:
                raise PublishError(f"{root / RECORD_NAME}: a wheel entry lacks its job's variant")
            path = root / str(entry.get("path") or entry.get("name"))
            reason = _verification_failed(entry, record)
            if reason is not None:
                excluded.append(ExcludedWheel(name=path.name, variant=variant, reason=reason))
                continue
            if not path.is_file():
                raise PublishError(
                    f"{path}: listed in {RECORD_NAME} but missing",
                    hint="rebuild, or copy the whole wheelhouse (wheels and record) together",
                )
            digest = sha256_file(path)
            recorded = entry.get("sha256")
            if recorded and recorded != digest:
                raise PublishError(
                    f"{path.name} changed since it was built (sha256 {digest[:16]}..., the "
                    f"record says {str(recorded)[:16]}...)",
                    hint="publish only what the build produced: rebuild the wheelhouse",
                )
            wheels.append(BuiltWheel(path=path, variant=variant, sha256=digest))
    raw_channel = record.get("channel")
    channel = Channel(raw_channel) if raw_channel in {c.value for c in Channel} else None
    return Wheelhouse(root=root, channel=channel, wheels=tuple(wheels), excluded=tuple(excluded))


def read_wheelhouse(root: Path) -> Wheelhouse:
    if not root.is_dir():
        raise PublishError(
            f"{root}: no such wheelhouse", hint="pass the output folder of `wheelyard build`"
        )
    record_path = root / RECORD_NAME
    if record_path.is_file():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PublishError(f"{record_path}: cannot read the build record ({exc})") from exc
        if not isinstance(record, Mapping):
            raise PublishError(f"{record_path}: the build record is not a JSON object")
        house = _from_record(root, record)
    else:
        wheels = [
            BuiltWheel(path=path, variant=folder.name, sha256=sha256_file(path))
            for folder in sorted(root.iterdir())
            if folder.is_dir() and folder.name not in NOT_VARIANT_DIRS
            for path in sorted(folder.glob("*.whl"))
        ]
        house = Wheelhouse(root=root, channel=None, wheels=tuple(wheels), from_record=False)
    if not house.wheels and not house.excluded:
        raise PublishError(
            f"{root}: no wheels to publish",
            hint="wheels live in <wheelhouse>/<variant>/ as `wheelyard build` leaves them",
        )
    return house
