"""The build record: what a job built, from what, how long it took, what it produced."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename

RECORD_SCHEMA = "wheelyard.build-record/1"

DEFAULT_ABI_DEPENDENCIES: tuple[str, ...] = (
    "torch",
    "numpy",
    "pybind11",
    "nanobind",
    "cython",
    "jax",
    "jaxlib",
    "tensorflow",
    "pyarrow",
    "cupy",
    "triton",
)
"""Build-time dependencies whose version is part of the built wheel's ABI (headers, C++ ABI,
ABI version checks at import): a wheel built against one of them must be rebuilt when it moves.
``JobSettings.abi_dependencies`` replaces the list."""

BUILD_DEPENDENCIES_MARK = "Installed build dependency versions:"
"""What pypa/build (the ``build[uv]`` frontend wheelyard selects) prints, in verbose mode, after
it has set up the isolated build environment: one ``- name==version`` line per build requirement
(``[build-system].requires`` plus what the backend asked for), read from the environment's
installed distributions."""
_PYTHON_START = re.compile(r"^Building (?P<ident>[a-z]+\d+t?)-\S+ wheel$")
_PINNED = re.compile(r"^\s*-\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)\s*$")


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
    built_against: dict[str, Any] | None = None
    """What the wheel was built against (see ``built_against``): interpreter and ABI, image,
    toolkit, build-time dependency versions, the shared libraries its extensions need."""

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


def wheels_per_package(record_path: Path) -> dict[str, list[Path]]:
    """The wheels a build record lists, per package (in the record's order), as paths below
    the record's folder."""
    data = json.loads(record_path.read_text(encoding="utf-8"))
    found: dict[str, list[Path]] = {}
    for job in data.get("jobs", []):
        for wheel in job.get("wheels", []):
            found.setdefault(str(job.get("package")), []).append(
                record_path.parent / str(wheel["path"])
            )
    return found


def variant_folders(record_path: Path) -> tuple[Path, ...]:
    """``<output>/<variant>`` of every job of a build record: where the wheels one package of
    the build installs from another (a plugin's tests need the core) are found."""
    data = json.loads(record_path.read_text(encoding="utf-8"))
    return tuple(
        sorted({(record_path.parent / str(j["job"]["variant"])).resolve() for j in data["jobs"]})
    )


def build_dependencies_from_log(text: str) -> dict[str, dict[str, str]]:
    """Each Python's build-time dependency versions, from a cibuildwheel log.

    cibuildwheel announces each Python (``Building cp312-manylinux_x86_64 wheel``); inside it,
    pypa/build lists what it installed into the isolated build environment under
    ``Installed build dependency versions:``. Returns ``{"cp312": {"setuptools": "80.9.0"}}``
    (canonical names); a Python built without that list (another frontend, no isolation) is
    absent.
    """
    found: dict[str, dict[str, str]] = {}
    current: str | None = None
    reading = False
    for raw in text.splitlines():
        line = raw.strip()
        start = _PYTHON_START.match(line)
        if start:
            current, reading = start["ident"], False
            continue
        if line.lstrip("* ").startswith(BUILD_DEPENDENCIES_MARK):
            reading = current is not None
            if reading and current is not None:
                found.setdefault(current, {})
            continue
        if reading and current is not None:
            pinned = _PINNED.match(raw)
            if pinned is None:
                reading = False
                continue
            found[current][str(canonicalize_name(pinned["name"]))] = pinned["version"]
    return found


def _toolkit(labels: Mapping[str, str]) -> dict[str, str]:
    """``dev.wheelyard.toolkit`` (``nvcc 13.0.88 / gcc 12.2.0``) and ``dev.wheelyard.tools``
    labels of a builder image as ``{"nvcc": "13.0.88", "gcc": "12.2.0", ...}``."""
    pairs: dict[str, str] = {}
    for label in ("dev.wheelyard.toolkit", "dev.wheelyard.tools"):
        for part in labels.get(label, "").split("/"):
            name, _, version = part.strip().partition(" ")
            if name and version:
                pairs[name] = version.strip()
    return pairs


def built_against(
    wheel: Path,
    *,
    image: Mapping[str, Any],
    build_dependencies: Mapping[str, str],
    abi_dependencies: Iterable[str] = DEFAULT_ABI_DEPENDENCIES,
    contents: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``wheel`` was built against, for deciding what a change of toolchain, interpreter
    or ABI-carrying dependency touches.

    ``image`` is the job record's image entry (ref, id, digest, labels); ``build_dependencies``
    the versions pypa/build installed for this wheel's Python (``build_dependencies_from_log``).
    ``contents`` is what the wheel's own files say - ``requires``, ``shared_libraries`` (the
    ``DT_NEEDED`` entries of its ELF files), ``bundled_libraries``, ``elf_needed`` - as read by
    ``wheel.linkage.linkage_of``, which the caller hands in (``JobSettings.contents``).
    """
    _, _, _, tags = parse_wheel_filename(wheel.name)
    ordered = sorted(tags, key=str)
    wanted = {str(canonicalize_name(n)) for n in abi_dependencies}
    labels = image.get("labels") or {}
    return {
        "python": _identifier(tags),
        "interpreter": sorted({t.interpreter for t in ordered}),
        "abi": sorted({t.abi for t in ordered}),
        "platform": sorted({t.platform for t in ordered}),
        "image": {
            "ref": image.get("ref"),
            "id": image.get("id"),
            "digest": image.get("digest"),
            "variant": labels.get("dev.wheelyard.variant"),
        },
        "toolkit": _toolkit(labels),
        "build_dependencies": dict(sorted(build_dependencies.items())),
        "abi_dependencies": {k: v for k, v in sorted(build_dependencies.items()) if k in wanted},
        **(contents or {}),
    }
