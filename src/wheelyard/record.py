"""The build record (``build-record.json``): what a build's jobs built, from what, how long they
took, what they produced, and the gate's verdict on each wheel.

One typed contract for every stage: the builder writes it, the verification gate adds verdicts,
publishing and the farm read it. ``BuildRecord.load`` validates strictly (schema version, field
types, states) and ``save`` replaces the file atomically; nothing else opens the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any, Self

from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wheelyard.config.vocab import AcceleratorKind, Platform, PythonMode
from wheelyard.errors import RecordError

RECORD_NAME = "build-record.json"
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


class JobStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class PythonStatus(StrEnum):
    BUILT = "built"
    FAILED = "failed"
    NOT_STARTED = "not-started"
    NOT_IN_IMAGE = "not-in-image"


class VerificationStatus(StrEnum):
    """The gate's verdict on one wheel."""

    PASSED = "passed"
    """Every check ran and passed."""
    FAILED = "failed"
    """At least one check failed: not eligible for publishing."""
    INCOMPLETE = "incomplete"
    """Nothing failed, but some check was skipped (the reason says why)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def dump(self) -> dict[str, Any]:
        """The JSON form the record file (and the farm's messages and rows) carry."""
        return self.model_dump(mode="json", by_alias=True)


def _identifier(tags: frozenset[Tag]) -> str:
    """``cp312`` for cp312-cp312, ``cp314t`` for cp314-cp314t, ``cp311`` for cp311-abi3."""
    tag = sorted(tags, key=str)[0]
    free_threaded = tag.abi.startswith("cp") and tag.abi.endswith("t")
    return tag.interpreter + ("t" if free_threaded else "")


class Verification(_Model):
    """What the gate said about a wheel; publishing leaves out ``failed`` ones."""

    status: VerificationStatus
    failed: tuple[str, ...] = ()
    """Labels of the checks that failed."""
    skipped: tuple[str, ...] = ()
    message: str | None = None
    """The first finding of the first failed check."""


def wheel_project(filename: str) -> NormalizedName | None:
    """The project a wheel file name names; None when it is not a wheel file name."""
    try:
        return parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        return None


class WheelInfo(_Model):
    name: str
    path: str
    """Below the record's folder: ``<variant>/<file>``."""
    size: int
    sha256: str
    python: str
    platform_tags: tuple[str, ...]
    verification: Verification | None = None
    built_against: dict[str, Any] | None = None
    """What the wheel was built against (see ``built_against``): interpreter and ABI, image,
    toolkit, build-time dependency versions, the shared libraries its extensions need."""

    @property
    def variant(self) -> str:
        """The variant folder the wheel is in (``path`` = ``<variant>/<file>``)."""
        parts = PurePosixPath(self.path).parts
        return parts[0] if len(parts) > 1 else ""

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


class PythonResult(_Model):
    python: str
    status: PythonStatus
    seconds: float | None
    wheel: str | None
    step: str | None = None
    compiler_cache: dict[str, int] = Field(default_factory=dict)


class JobSpec(_Model):
    """The planned job (``plan.matrix.Job``) as the record keeps it."""

    id: str
    platform: Platform
    os: str
    arch: str
    variant: str
    kind: AcceleratorKind
    python_mode: PythonMode
    pythons: tuple[str, ...]
    test_pythons: tuple[str, ...] = ()
    build_selector: str = ""
    image: str | None = None
    build_runner: str = ""
    test_runner: str = ""
    test_in_build: bool = False
    gpu_test: bool = False
    environment: dict[str, str] = Field(default_factory=dict)


class ImageSource(StrEnum):
    """Where a job's builder image came from."""

    PRESENT = "present"
    """The catalog's registry image, already in the engine."""
    PULLED = "pulled"
    """The catalog's registry image, pulled for this build."""
    LOCAL = "local"
    """wheelyard's own image, which the catalog (or ``--images local``) asks for."""
    FALLBACK = "fallback"
    """wheelyard's own image, because the catalog's registry image could not be pulled."""


class ImageEntry(_Model):
    """The builder image a job ran in."""

    ref: str
    id: str | None = None
    digest: str | None = None
    interpreters: tuple[str, ...] = ()
    labels: dict[str, str] = Field(default_factory=dict)
    source: ImageSource | None = None
    wanted: str | None = None
    """The catalog's image when another one ran the job (``source`` fallback or local)."""
    reason: str | None = None
    """Why the catalog's image was not used."""


class Cause(_Model):
    kind: str
    line: str


class Failure(_Model):
    """Why a job failed: a message a person can act on, where it happened, the log's end."""

    message: str
    step: str | None = None
    python: str | None = None
    hint: str | None = None
    returncode: int | None = None
    timed_out: bool = False
    interrupted: bool = False
    log_tail: str | None = None
    cause: Cause | None = None


class NativeCore(_Model):
    """The native-core step: compiled once per job, reused by every Python build."""

    command: str | None = None
    seconds: float | None = None
    runs: int = 0
    reused_by: tuple[str, ...] = ()
    compiler_cache: dict[str, int] = Field(default_factory=dict)


class TorchBuild(_Model):
    """The exact torch one Python of a job was built against (read from the torch wheel)."""

    python: str
    version: str
    """The distribution's version as installers see it, local tag included (``2.13.0+cpu``;
    PyPI's CUDA build is plain ``2.14.1``): what the build's constraints pin."""
    torch_version: str = ""
    """``torch.__version__`` (``2.14.1+cu130``)."""
    accelerator: str
    """``cpu``, ``cuda 13.0``, ``rocm 7.0`` or ``xpu``."""
    cuda: str | None = None
    hip: str | None = None
    xpu: str | None = None
    cxx11_abi: bool | None = None
    git_version: str | None = None
    wheel: str
    source: str
    """The source it came from (index URL or folder)."""


class TorchEntry(_Model):
    """What a job did to have its variant's torch: the specifier, the sources tried, the
    torch each Python got, and what the shared download cache saved."""

    specifier: str
    sources: tuple[str, ...]
    wheelhouse: str
    """The host folder of the variant's torch and its dependencies, mounted into the build."""
    builds: tuple[TorchBuild, ...] = ()
    downloaded_files: int = 0
    downloaded_bytes: int = 0
    reused_files: int = 0
    """Files the cache already held (a download saved)."""
    seconds: float = 0.0
    evicted: tuple[str, ...] = ()
    """Other wheelhouses removed after this one was ready, least recently used first, to keep
    the torch cache within its bound."""
    evicted_bytes: int = 0

    @property
    def index(self) -> Path:
        """The PEP 503 index over the wheelhouse (``simple/<project>/index.html``)."""
        return Path(self.wheelhouse) / "simple"

    def projects(self) -> list[str]:
        """The projects the wheelhouse holds (its index lists them)."""
        index = self.index
        return sorted(p.name for p in index.iterdir() if p.is_dir()) if index.is_dir() else []

    def constraints(self) -> list[str]:
        """One exact pin per Python version (``torch==2.13.0+cpu ; python_version == "3.11"``),
        as the build and the gate install it; a free-threaded and a regular build of one
        version that got different torches leave that version unpinned rather than contradict
        each other."""
        by_marker: dict[str, set[str]] = {}
        for build in self.builds:
            minor = build.python.removeprefix("cp3").rstrip("t")
            by_marker.setdefault(f'python_version == "3.{minor}"', set()).add(build.version)
        return [
            f"torch=={next(iter(versions))} ; {marker}"
            for marker, versions in by_marker.items()
            if len(versions) == 1
        ]

    def for_python(self, python: str) -> TorchBuild | None:
        return next((b for b in self.builds if b.python == python), None) or next(
            iter(self.builds), None
        )


class PackageEntry(_Model):
    name: str
    version: str
    path: str


class JobRecord(_Model):
    job: JobSpec
    status: JobStatus
    package: str = ""
    """The project the job built (a multi-package repository builds several)."""
    version: str = ""
    image: ImageEntry | None = None
    engine: str = ""
    cibuildwheel: str = ""
    effective_options: dict[str, str] = Field(default_factory=dict)
    composition_notes: tuple[str, ...] = ()
    pythons: tuple[PythonResult, ...] = ()
    wheels: tuple[WheelInfo, ...] = ()
    native_core: NativeCore = NativeCore()
    torch: TorchEntry | None = None
    """The job's torch (a recipe with ``torch``): None when the package does not build on it."""
    seconds: float = 0.0
    log: str = ""
    failure: Failure | None = None
    reason: str | None = None
    """Why a skipped job did not run."""

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def variant(self) -> str:
        return self.job.variant

    @property
    def key(self) -> tuple[str, str]:
        """Unique within a record: (package, job id)."""
        return (self.package, self.id)


class BuildRecord(_Model):
    package: str
    """The project built, or the repository's name when it holds several ``packages``."""
    version: str
    channel: str
    build_date: str | None = None
    source: str
    started_at: str
    jobs: tuple[JobRecord, ...]
    packages: tuple[PackageEntry, ...] = ()
    """Every project of the build, in order."""
    schema_: str = Field(default=RECORD_SCHEMA, alias="schema")

    @property
    def ok(self) -> bool:
        return all(job.status is not JobStatus.FAILED for job in self.jobs)

    # -- the file ------------------------------------------------------------------------------

    @classmethod
    def path_in(cls, folder: Path) -> Path:
        """Where a build's output folder keeps its record."""
        return folder / RECORD_NAME

    @classmethod
    def exists_in(cls, folder: Path) -> bool:
        return cls.path_in(folder).is_file()

    @classmethod
    def load(cls, folder: Path) -> Self:
        """The record of the build output ``folder``, validated: a record of another schema,
        a missing field or a value of the wrong type is a ``RecordError`` naming it."""
        path = cls.path_in(folder)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RecordError(
                f"{path}: no build record", hint="pass the output folder of `wheelyard build`"
            ) from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordError(f"{path}: cannot read the build record ({exc})") from exc
        if not isinstance(data, dict):
            raise RecordError(f"{path}: the build record is not a JSON object")
        schema = data.get("schema")
        if schema != RECORD_SCHEMA:
            raise RecordError(
                f"{path}: build record schema {schema!r}, this wheelyard reads {RECORD_SCHEMA!r}",
                hint="rebuild with this wheelyard",
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise RecordError(
                f"{path}: invalid build record: {where}: {first['msg']}",
                hint="rebuild the wheelhouse",
            ) from exc

    def save(self, folder: Path) -> Path:
        """Write the record into ``folder`` so that readers see the old file or the new one."""
        path = self.path_in(folder)
        write_json_atomic(path, self.dump())
        return path

    # -- what the stages ask -------------------------------------------------------------------

    def entries(self) -> Iterator[tuple[JobRecord, WheelInfo]]:
        """Every wheel with the job that built it, in the record's order."""
        for job in self.jobs:
            for wheel in job.wheels:
                yield job, wheel

    def with_verdicts(self, verdicts: Mapping[str, Verification]) -> Self:
        """The record with each wheel's verdict set (keyed by file name)."""
        jobs = tuple(
            job.model_copy(
                update={
                    "wheels": tuple(
                        w.model_copy(update={"verification": verdicts[w.name]})
                        if w.name in verdicts
                        else w
                        for w in job.wheels
                    )
                }
            )
            for job in self.jobs
        )
        return self.model_copy(update={"jobs": jobs})

    def merged_over(self, previous: BuildRecord | None) -> Self:
        """This record with the jobs of an earlier run into the same folder that this run did
        not rebuild (same package and job id) kept in front."""
        if previous is None:
            return self
        ours = {job.key for job in self.jobs}
        kept = tuple(job for job in previous.jobs if job.key not in ours)
        return self.model_copy(update={"jobs": kept + self.jobs})

    def wheels_by_package(self, folder: Path) -> dict[str, list[Path]]:
        """The wheels per package (in the record's order), as paths below ``folder``."""
        found: dict[str, list[Path]] = {}
        for job, wheel in self.entries():
            found.setdefault(job.package, []).append(folder / wheel.path)
        return found

    def variant_dirs(self, folder: Path) -> tuple[Path, ...]:
        """``<folder>/<variant>`` of every job: where one package of the build finds the wheels
        of another (a plugin's tests install its core)."""
        return tuple(sorted({(folder / job.variant).resolve() for job in self.jobs}))


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
    torch: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``wheel`` was built against, for deciding what a change of toolchain, interpreter
    or ABI-carrying dependency touches.

    ``image`` is the job record's image entry (ref, id, digest, labels); ``build_dependencies``
    the versions pypa/build installed for this wheel's Python (``build_dependencies_from_log``).
    ``contents`` is what the wheel's own files say - ``requires``, ``shared_libraries`` (the
    ``DT_NEEDED`` entries of its ELF files), ``bundled_libraries``, ``elf_needed`` - as read by
    ``wheel.linkage.linkage_of``, which the caller hands in (``JobSettings.contents``).
    ``torch`` is the exact torch the wheel's Python was built against (``TorchBuild``).
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
        **({"torch": dict(torch)} if torch is not None else {}),
        **(contents or {}),
    }


TORCH_FACTS = ("version", "accelerator", "cxx11_abi")
"""What of the torch a wheel was built against makes another build of it a different wheel (the
extension's C++ ABI follows them); the torch wheel's file and source are reported only."""


def built_against_of(wheel: Path) -> Mapping[str, Any] | None:
    """What the build record beside ``wheel`` (a wheelhouse's ``<variant>/<file>``, or the file
    in the record's own folder) says it was built against; None without a readable record."""
    for folder in (wheel.parent.parent, wheel.parent):
        if not BuildRecord.exists_in(folder):
            continue
        try:
            record = BuildRecord.load(folder)
        except RecordError:
            return None
        for _, info in record.entries():
            if info.name == wheel.name:
                return info.built_against
    return None


def built_against_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> list[tuple[str, Any, Any, bool]]:
    """How two wheels' ``built_against`` differ in what a rebuild decides on: the exact torch
    (``torch.version``, ``torch.accelerator``, ``torch.cxx11_abi``: decisive; its wheel and
    source: reported) and the ABI-carrying build dependencies. ``(field, old, new, decisive)``."""
    if old is None or new is None:
        return []
    changes: list[tuple[str, Any, Any, bool]] = []
    old_torch = old.get("torch") or {}
    new_torch = new.get("torch") or {}
    for key in sorted(set(old_torch) | set(new_torch)):
        before, after = old_torch.get(key), new_torch.get(key)
        if before != after and key not in ("python",):
            changes.append((f"torch.{key}", before, after, key in TORCH_FACTS))
    old_abi = old.get("abi_dependencies") or {}
    new_abi = new.get("abi_dependencies") or {}
    for name in sorted(set(old_abi) | set(new_abi)):
        if name == "torch" and (old_torch or new_torch):
            continue  # the exact torch above says more
        if old_abi.get(name) != new_abi.get(name):
            changes.append((f"abi_dependencies.{name}", old_abi.get(name), new_abi.get(name), True))
    return changes
