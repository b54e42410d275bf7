"""Turn one built wheel of a variant into the wheels an index serves (pure Python).

From ``cuda_kernels-0.1.0.dev20261120[+cu128]-cp312-cp312-manylinux_2_35_x86_64.whl``:

- the **variant wheel** ``...-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64-cu128.whl``:
  no local version, ``*.dist-info/variant.json`` with exactly one variant (``null`` for CPU);
- the **non-variant fallback** ``...-0.1.0.dev20261120-cp312-cp312-manylinux_2_35_x86_64.whl``
  for installers that know nothing of variants (no variant.json in it);
- the **legacy** wheel ``...-0.1.0.dev20261120+cu128-cp312-...whl`` for ``whl/<channel>/cu128/``.

Each output is written with :func:`write_wheel` (fresh RECORD, atomic, reproducible); the
``.dist-info``/``.data`` folders follow the new version. Core metadata is compared across the
variants of a release (:func:`check_release_metadata`): only ``Version`` and fields the wheel
declares ``Dynamic`` may differ.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from packaging.version import InvalidVersion, Version

from wheelyard.errors import VariantError, WheelError
from wheelyard.wheel.archive import Wheel, parse_name, write_wheel
from wheelyard.wheel.variant import VARIANT_JSON, variant_filename
from wheelyard.wheel.variants_json import VariantMetadata

VERSION_LINE = re.compile(rb"^Version:[ \t]*(.*?)\r?$", re.MULTILINE)


class WheelKind(StrEnum):
    VARIANT = "variant"
    """PEP 825 variant wheel (the null variant included), for variant-aware installers."""
    FALLBACK = "fallback"
    """Non-variant wheel with the public version, for every other installer."""
    LEGACY = "legacy"
    """Local version ``X+cu128``, for the classic per-variant index."""


@dataclass(frozen=True, kw_only=True)
class ConvertedWheel:
    path: Path
    kind: WheelKind
    label: str | None
    version: str
    metadata: bytes
    """The wheel's METADATA, served next to it as ``<file>.metadata`` (PEP 658)."""
    variant_json: bytes | None = None


def public_version(version: str) -> str:
    try:
        return Version(version).public
    except InvalidVersion as exc:
        raise VariantError(f"{version!r} is not a valid version") from exc


def local_version(version: str, variant: str) -> str:
    """``1.0.dev1`` or ``1.0.dev1+cu126`` + ``cu128`` -> ``1.0.dev1+cu128``."""
    text = f"{public_version(version)}+{variant}"
    try:
        return str(Version(text))
    except InvalidVersion as exc:
        raise VariantError(
            f"variant {variant!r} cannot be a local version label ({text!r})",
            hint="variant names must be valid PEP 440 local labels to get a legacy wheel",
        ) from exc


def read_core_metadata(path: Path) -> bytes:
    with Wheel(path) as wheel:
        return wheel.read(f"{wheel.dist_info}/METADATA")


def _set_version(metadata: bytes, version: str, source: str) -> bytes:
    head, sep, body = metadata.partition(b"\n\n")
    if not VERSION_LINE.search(head):
        raise WheelError(f"{source}: METADATA has no Version field")
    new_head = VERSION_LINE.sub(lambda _m: b"Version: " + version.encode("ascii"), head, count=1)
    return new_head + sep + body


def _renamed(member: str, old: str, new: str) -> str:
    for suffix in (".dist-info", ".data"):
        prefix = old.removesuffix(".dist-info") + suffix + "/"
        if member.startswith(prefix):
            return new.removesuffix(".dist-info") + suffix + "/" + member[len(prefix) :]
    return member


def rewrite(
    source: Path,
    out_dir: Path,
    *,
    kind: WheelKind,
    version: str,
    label: str | None = None,
    variant_json: bytes | None = None,
) -> ConvertedWheel:
    """Write ``source`` again under ``version`` (and ``label``), with or without variant.json."""
    parse_name(source.name)  # a valid non-variant wheel name, or WheelError
    parts = source.name.removesuffix(".whl").split("-")
    base = "-".join([parts[0], str(Version(version)), *parts[2:]]) + ".whl"
    destination = out_dir / variant_filename(base, label)
    with Wheel(source) as wheel:
        old = wheel.dist_info
        members = wheel.members()
        modes = wheel.modes()
    new = f"{old.split('-', 1)[0]}-{Version(version)}.dist-info"
    out: dict[str, bytes] = {}
    out_modes: dict[str, int] = {}
    for member, data in members.items():
        if member in (f"{old}/RECORD", f"{old}/{VARIANT_JSON}"):
            continue
        target = _renamed(member, old, new)
        out[target] = data
        out_modes[target] = modes.get(member, 0)
    metadata = _set_version(out[f"{new}/METADATA"], str(Version(version)), source.name)
    out[f"{new}/METADATA"] = metadata
    if variant_json is not None:
        out[f"{new}/{VARIANT_JSON}"] = variant_json
    write_wheel(destination, out.items(), dist_info=new, modes=out_modes)
    return ConvertedWheel(
        path=destination,
        kind=kind,
        label=label,
        version=str(Version(version)),
        metadata=metadata,
        variant_json=variant_json,
    )


def make_variant_wheel(
    source: Path, out_dir: Path, *, label: str, metadata: VariantMetadata
) -> ConvertedWheel:
    """The PEP 825 variant wheel of ``source``; ``metadata`` is the release's variant metadata."""
    if label not in metadata.variants:
        raise VariantError(f"{source.name}: variant {label!r} is not in the release's metadata")
    version = public_version(str(parse_name(source.name).version))
    return rewrite(
        source,
        out_dir,
        kind=WheelKind.VARIANT,
        version=version,
        label=label,
        variant_json=metadata.only(label).render(),
    )


def make_fallback_wheel(source: Path, out_dir: Path) -> ConvertedWheel:
    """The non-variant wheel (public version, no variant markers) of ``source``."""
    version = public_version(str(parse_name(source.name).version))
    return rewrite(source, out_dir, kind=WheelKind.FALLBACK, version=version)


def make_legacy_wheel(source: Path, out_dir: Path, *, variant: str) -> ConvertedWheel:
    """The ``X+variant`` wheel of ``source`` for the per-variant index."""
    version = local_version(str(parse_name(source.name).version), variant)
    return rewrite(source, out_dir, kind=WheelKind.LEGACY, version=version, label=None)


def _fields(metadata: bytes) -> tuple[dict[str, list[str]], str, set[str]]:
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    message = parser.parsebytes(metadata)
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key.lower(), []).append(str(value).strip())
    payload = message.get_payload()
    body = payload if isinstance(payload, str) else ""
    dynamic = {v.lower() for v in fields.get("dynamic", [])}
    return fields, body.strip(), dynamic


def check_release_metadata(metadata: Mapping[str, bytes]) -> None:
    """Core metadata must agree across the wheels of one release (except ``Version``/Dynamic).

    ``metadata`` maps a wheel's file name to its METADATA. Installers read one wheel's
    metadata for the whole release, so a difference would install the wrong dependencies.
    """
    items = sorted(metadata.items())
    if len(items) < 2:
        return
    first_name, first = items[0]
    base_fields, base_body, dynamic = _fields(first)
    for name, data in items[1:]:
        fields, body, more_dynamic = _fields(data)
        allowed = {"version", "dynamic"} | dynamic | more_dynamic
        differing = sorted(
            key
            for key in set(base_fields) | set(fields)
            if key not in allowed and base_fields.get(key) != fields.get(key)
        )
        if base_body != body:
            differing.append("description (body)")
        if differing:
            raise VariantError(
                f"core metadata differs between {first_name} and {name}: {', '.join(differing)}",
                hint="variants of one release must share their metadata (PEP 825 installers "
                "read one wheel's); use environment markers, or declare the field Dynamic",
            )
