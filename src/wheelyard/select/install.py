"""``wheelyard install``: pick the best wheel of a package for this machine, say why, install it.

Following PEP 825's suggested installer logic: read the project page, keep the wheels whose
platform tags fit the target interpreter, take the newest version the requirement allows, read
``{name}-{version}-variants.json`` when variant wheels are offered, order the variants for this
machine (``order.py``), fall back to the non-variant wheels when no variant fits, and within the
chosen group prefer the best platform tag. The chosen file is downloaded, its sha256 checked,
and installed with uv (or pip) under its non-variant name, which every installer accepts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging import tags
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from wheelyard import proc
from wheelyard.errors import IndexFormatError, SelectError, VariantError, WheelError
from wheelyard.host.facts import PlatformFacts
from wheelyard.select.index_client import IndexFile, fetch, fetch_project, index_base
from wheelyard.select.order import Verdict, order_variants
from wheelyard.select.provider import Provider
from wheelyard.wheel.variant import VariantWheelName, parse_variant_filename
from wheelyard.wheel.variants_json import (
    VariantMetadata,
    parse_variant_metadata,
    variants_json_filename,
)

INSTALL_TIMEOUT = 1800.0
TARGET_SCRIPT = (
    "import json, sys, sysconfig; print(json.dumps([list(sys.version_info[:2]), "
    "sys.implementation.name, bool(sysconfig.get_config_var('Py_GIL_DISABLED'))]))"
)


@dataclass(frozen=True, kw_only=True)
class Target:
    """The interpreter wheels are chosen for (and installed into)."""

    python: str
    version: tuple[int, int]
    tags: tuple[tags.Tag, ...]

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


def target_for(python: str | None) -> Target:
    """Tags of ``python`` (default: the interpreter running wheelyard)."""
    if python is None or Path(python).resolve() == Path(sys.executable).resolve():
        return Target(
            python=python or sys.executable,
            version=(sys.version_info[0], sys.version_info[1]),
            tags=tuple(tags.sys_tags()),
        )
    result = proc.run([python, "-c", TARGET_SCRIPT], timeout=60)
    (major, minor), implementation, free_threaded = json.loads(result.output.splitlines()[-1])
    platforms = list(tags.platform_tags())
    found: list[tags.Tag] = []
    if implementation == "cpython":
        abi = f"cp{major}{minor}{'t' if free_threaded else ''}"
        found += tags.cpython_tags((major, minor), abis=[abi], platforms=platforms)
    found += tags.compatible_tags((major, minor), platforms=platforms)
    return Target(python=python, version=(major, minor), tags=tuple(found))


@dataclass(frozen=True, kw_only=True)
class Candidate:
    file: IndexFile
    name: VariantWheelName
    tag_rank: int

    @property
    def version(self) -> Version:
        return self.name.wheel.version

    @property
    def label(self) -> str | None:
        return self.name.label

    @property
    def install_filename(self) -> str:
        """The PEP 427 name (label dropped): what any installer accepts."""
        return self.name.wheel.filename

    def preference(self) -> tuple[int, tuple[()] | tuple[int, str]]:
        """Higher is better: the most specific fitting tag, then the highest build tag (a
        wheel without one ranks below every tag), as pip and uv decide."""
        return (-self.tag_rank, self.name.wheel.build)


@dataclass(frozen=True, kw_only=True)
class Choice:
    project: str
    version: str
    chosen: Candidate
    verdicts: tuple[Verdict, ...]
    has_fallback: bool
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        label = self.chosen.label
        if label is None:
            return "no variant wheel fits this machine: the non-variant wheel"
        if label == "null":
            return "no accelerator variant fits this machine: the null variant"
        return f"variant {label} is the most preferred compatible variant"

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "version": self.version,
            "chosen": {
                "filename": self.chosen.file.filename,
                "url": self.chosen.file.url,
                "label": self.chosen.label,
                "sha256": self.chosen.file.sha256,
            },
            "reason": self.reason,
            "ranking": [
                {
                    "label": v.label,
                    "compatible": v.compatible,
                    "matched": [str(p) for p in v.best],
                    "reasons": list(v.reasons),
                }
                for v in self.verdicts
            ],
            "non_variant_fallback": self.has_fallback,
            "notes": list(self.notes),
        }


def _requirement(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise SelectError(
            f"{text!r} is not a requirement ({exc})", hint="e.g. pkg or 'pkg>=1.0'"
        ) from exc


def _candidates(
    files: Sequence[IndexFile], target: Target, req: Requirement, notes: list[str]
) -> list[Candidate]:
    ranks = {tag: i for i, tag in enumerate(target.tags)}
    pinned = any(spec.operator in ("==", "===") for spec in req.specifier)
    out = []
    for item in files:
        if not item.filename.endswith(".whl"):
            continue
        try:
            name = parse_variant_filename(item.filename)
        except (WheelError, VariantError):
            notes.append(f"skipped {item.filename}: not a valid wheel file name")
            continue
        fitting = [ranks[t] for t in name.wheel.tags if t in ranks]
        if not fitting:
            continue
        if item.yanked is not None and not pinned:
            continue
        if item.requires_python:
            try:
                if not SpecifierSet(item.requires_python).contains(target.version_text):
                    continue
            except InvalidSpecifier:
                notes.append(f"skipped {item.filename}: bad requires-python")
                continue
        out.append(Candidate(file=item, name=name, tag_rank=min(fitting)))
    return out


def _variants_json(
    files: Sequence[IndexFile], project: str, version: str, notes: list[str]
) -> VariantMetadata | None:
    wanted = variants_json_filename(project, version)
    link = next((f for f in files if f.filename == wanted), None)
    if link is None:
        notes.append(f"no {wanted} on the index: its variant wheels are ignored (PEP 825)")
        return None
    found = fetch(link.url, accept="application/json")
    if found is None:
        notes.append(f"{wanted} is linked but missing: its variant wheels are ignored")
        return None
    data = found[0]
    if link.sha256 and hashlib.sha256(data).hexdigest() != link.sha256:
        raise IndexFormatError(f"{link.url}: sha256 does not match the index page")
    try:
        return parse_variant_metadata(data, source=link.url)
    except VariantError as exc:
        raise IndexFormatError(
            f"malformed variants.json: {exc.message}",
            hint="the index serves a broken variants.json; republish the release",
        ) from exc


def choose(
    requirement: str,
    index_url: str,
    facts: PlatformFacts,
    target: Target,
    *,
    pre: bool = False,
) -> Choice:
    """The wheel of ``requirement`` to install on this machine, and the ranking behind it."""
    req = _requirement(requirement)
    page = fetch_project(index_url, req.name)
    notes: list[str] = []
    candidates = _candidates(page.files, target, req, notes)
    versions = sorted({c.version for c in candidates})
    allowed = list(req.specifier.filter(versions, prereleases=True if pre else None))
    if not allowed:
        raise SelectError(
            f"no wheel of {req} on {index_url} fits Python {target.version_text} on this "
            f"platform (best tag {target.tags[0]})",
            hint=f"versions with fitting wheels: {', '.join(map(str, versions)) or 'none'}"
            + ("" if pre else "; --pre allows pre-releases"),
        )
    version = max(allowed)
    chosen_version = [c for c in candidates if c.version == version]
    variant_wheels = [c for c in chosen_version if c.label is not None]
    plain = [c for c in chosen_version if c.label is None]
    verdicts: list[Verdict] = []
    metadata = None
    if variant_wheels:
        metadata = _variants_json(page.files, page.name, str(version), notes)
    if metadata is not None:
        labels = sorted({c.label for c in variant_wheels if c.label is not None})
        missing = [label for label in labels if label not in metadata.variants]
        if missing:
            notes.append(f"labels not in variants.json, ignored: {', '.join(missing)}")
        present = [metadata.variants[label] for label in labels if label in metadata.variants]
        verdicts = order_variants(present, metadata.namespaces, Provider(facts))
    best = next((v for v in verdicts if v.compatible), None)
    group = [c for c in variant_wheels if best is not None and c.label == best.label] or plain
    if not group:
        reasons = "; ".join(f"{v.label}: {', '.join(v.reasons)}" for v in verdicts)
        raise SelectError(
            f"no wheel of {page.name} {version} fits this machine",
            hint=reasons or "the index offers neither a compatible variant nor a plain wheel",
        )
    chosen = max(group, key=Candidate.preference)
    return Choice(
        project=page.name,
        version=str(version),
        chosen=chosen,
        verdicts=tuple(verdicts),
        has_fallback=bool(plain),
        notes=tuple(notes),
    )


def _installer() -> list[str]:
    try:
        from uv import find_uv_bin

        return [find_uv_bin(), "pip", "install"]
    except (ImportError, FileNotFoundError):
        uv = shutil.which("uv")
        return [uv, "pip", "install"] if uv else []


def install(
    choices: Sequence[Choice], *, index_url: str, target: Target, use_pip: bool = False
) -> proc.Completed:
    """Download each chosen wheel (sha256 checked) and install them with uv (or pip)."""
    with tempfile.TemporaryDirectory(prefix="wheelyard-install-") as tmp:
        paths = []
        for choice in choices:
            found = fetch(choice.chosen.file.url)
            if found is None:
                raise SelectError(f"{choice.chosen.file.url}: the index links a missing file")
            data = found[0]
            expected = choice.chosen.file.sha256
            if expected and hashlib.sha256(data).hexdigest() != expected:
                raise IndexFormatError(
                    f"{choice.chosen.file.filename}: sha256 differs from the index page"
                )
            path = Path(tmp) / choice.chosen.install_filename
            path.write_bytes(data)
            paths.append(str(path))
        base = index_base(index_url)
        command = [] if use_pip else _installer()
        if command:
            argv = [*command, "--python", target.python, "--index-url", base, *paths]
        else:
            argv = [target.python, "-m", "pip", "install", "--index-url", base, *paths]
        return proc.run(argv, timeout=INSTALL_TIMEOUT)


UV_VARIANT_FLAG = ("--preview-features", "wheel-variants")
"""uv's wheel-variant support (PEP 825), which reads the index's ``variants.json`` and asks its
built-in providers (NVIDIA: driver and GPU) what this machine supports."""
NVIDIA_FORCE = (
    "NV_VARIANT_PROVIDER_FORCE_CUDA_DRIVER_VERSION",
    "NV_VARIANT_PROVIDER_FORCE_SM_ARCH",
)
"""What uv's NVIDIA provider takes instead of asking the driver: wheelyard hands it the machine
it detected (or was described), so both judge the same machine."""
LABEL_SCRIPT = (
    "import json, sys; from importlib import metadata; "
    "d = metadata.distribution(sys.argv[1]); t = d.read_text('variant.json'); "
    "print(json.dumps(sorted(json.loads(t)['variants']) if t else None))"
)


def uv_variant_environment(facts: PlatformFacts, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with uv's NVIDIA provider told the driver and GPU of ``facts``, if any."""
    env = {k: v for k, v in base.items() if k not in NVIDIA_FORCE}
    if facts.cuda_driver_version is not None:
        env[NVIDIA_FORCE[0]] = facts.cuda_driver_version
        if facts.nvidia_gpus:
            env[NVIDIA_FORCE[1]] = facts.nvidia_gpus[0].compute_capability
    return env


def installed_label(target: Target, project: str) -> str | None:
    """The variant label of ``project`` as installed into ``target`` (None: a non-variant wheel)."""
    result = proc.run([target.python, "-c", LABEL_SCRIPT, project], timeout=60)
    labels = json.loads(result.output.strip().splitlines()[-1])
    return None if not labels else str(labels[0])


def install_with_uv_variants(
    choices: Sequence[Choice],
    requirements: Sequence[str],
    *,
    index_url: str,
    target: Target,
    facts: PlatformFacts,
    pre: bool,
    environ: Mapping[str, str],
) -> proc.Completed:
    """Install ``requirements`` by uv's own variant resolution, then check that uv installed
    what wheelyard chose (and explained); a difference is an error naming both."""
    command = _installer()
    if not command:
        raise SelectError("uv is not installed", hint="install uv, or pass --pip")
    argv = [*command, *UV_VARIANT_FLAG, "--python", target.python, "--index-url", index_url]
    argv += ["--prerelease", "allow"] if pre else []
    completed = proc.run(
        [*argv, *requirements],
        env=uv_variant_environment(facts, environ),
        timeout=INSTALL_TIMEOUT,
    )
    for choice in choices:
        got = installed_label(target, choice.project)
        wanted = choice.chosen.label
        if got != wanted and {got, wanted} != {None, "null"}:
            raise SelectError(
                f"uv installed {choice.project} variant {got or 'non-variant'}, where wheelyard "
                f"chose {wanted or 'the non-variant wheel'} ({choice.reason})",
                hint="the two judge this machine differently: `wheelyard detect` shows what "
                "wheelyard sees; --pip installs wheelyard's choice",
            )
    return completed
