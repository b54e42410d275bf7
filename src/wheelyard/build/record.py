"""The build record: what a job built, from what, how long it took, what it produced."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

RECORD_SCHEMA = "wheelyard.build-record/1"


def _identifier(tags: frozenset[Tag]) -> str:
    """``cp312`` for cp312-cp312, ``cp314t`` for cp314-cp314t, ``cp311`` for cp311-abi3."""
    tag = sorted(tags, key=str)[0]
    free_threaded = tag.abi.startswith("cp") and tag.abi.endswith("t")
    return tag.interpreter + ("t" if free_threaded else "")


@dataclass(frozen=True, kw_only=True)
class WheelInfo:
    name: str
    path: str
    size: int
    sha256: str
    python: str
    platform_tags: tuple[str, ...]
    verification: dict[str, Any] | None = None
    """Filled by the verification gate after the build (``status`` passed | failed | ...)."""

    @classmethod
    def of(cls, path: Path, relative_to: Path) -> WheelInfo:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _, _, _, tags = parse_wheel_filename(path.name)
        return cls(
            name=path.name,
            path=str(path.relative_to(relative_to)),
            size=path.stat().st_size,
            sha256=digest.hexdigest(),
            python=_identifier(tags),
            platform_tags=tuple(sorted({t.platform for t in tags})),
        )


@dataclass(frozen=True, kw_only=True)
class PythonResult:
    python: str
    status: str
    """built | failed | not-started | not-in-image"""
    seconds: float | None
    wheel: str | None
    step: str | None = None
    compiler_cache: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    job: dict[str, Any]
    status: str
    """succeeded | failed | skipped"""
    package: str = ""
    """The project the job built (a multi-package repository builds several)."""
    version: str = ""
    image: dict[str, Any] = field(default_factory=dict)
    engine: str = ""
    cibuildwheel: str = ""
    effective_options: dict[str, str] = field(default_factory=dict)
    composition_notes: tuple[str, ...] = ()
    pythons: tuple[PythonResult, ...] = ()
    wheels: tuple[WheelInfo, ...] = ()
    native_core: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    log: str = ""
    failure: dict[str, Any] | None = None
    reason: str | None = None
    """Why a skipped job did not run."""

    @property
    def id(self) -> str:
        return str(self.job["id"])

    @property
    def key(self) -> tuple[str, str]:
        """Unique within a record: (package, job id)."""
        return (self.package, self.id)


@dataclass(frozen=True, kw_only=True)
class BuildRecord:
    package: str
    """The project built, or the repository's name when it holds several ``packages``."""
    version: str
    channel: str
    build_date: str | None
    source: str
    started_at: str
    jobs: tuple[JobRecord, ...]
    packages: tuple[dict[str, str], ...] = ()
    """Every project of the build in order: ``{"name", "version", "path"}``."""
    schema: str = RECORD_SCHEMA

    @property
    def ok(self) -> bool:
        return all(job.status != "failed" for job in self.jobs)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON so that readers see either the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def annotate_wheels(path: Path, verdicts: dict[str, dict[str, Any]]) -> int:
    """Set ``verification`` on the wheels of the record at ``path`` (keyed by file name).

    Returns how many wheel entries were annotated. Publishing skips wheels whose verification
    says ``"status": "failed"``. The file is rewritten atomically.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    count = 0
    for job in data.get("jobs", []):
        for wheel in job.get("wheels", []):
            verdict = verdicts.get(str(wheel.get("name")))
            if verdict is not None:
                wheel["verification"] = verdict
                count += 1
    write_json_atomic(path, data)
    return count
