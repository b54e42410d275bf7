"""Small stand-ins for what `wheelyard build` leaves for examples/cuda-kernels: one wheel per
variant and Python in ``<wheelhouse>/<variant>/`` and a ``build-record.json``, plus platform
override files for the selection scenarios of issue 5.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wheelyard.errors import StoreError
from wheelyard.index.store import Store
from wheelyard.wheel.archive import write_wheel

PROJECT = "cuda-kernels"
DIST = "cuda_kernels"
DATE = "20261120"
VERSION = f"0.1.0.dev{DATE}"
PYTHONS = ("cp310", "cp311", "cp312", "cp313")
VARIANTS = ("cpu", "cu126", "cu128")
PLATFORM = "manylinux_2_35_x86_64"

# The platforms of the "done when" scenarios (wheelyard detect's override format).
DRIVER_129_SM90 = {
    "nvidia": {
        "cuda_driver_version": "12.9",
        "driver_version": "575.57.08",
        "gpus": [{"name": "NVIDIA H100", "compute_capability": "9.0"}],
    },
    "x86_64": {"level": 3},
}
DRIVER_126 = {
    "nvidia": {
        "cuda_driver_version": "12.6",
        "driver_version": "560.35.03",
        "gpus": [{"name": "NVIDIA H100", "compute_capability": "9.0"}],
    },
    "x86_64": {"level": 3},
}
NO_GPU: dict[str, Any] = {"x86_64": {"level": 3}}


def metadata(version: str, *, extra: str = "") -> bytes:
    return (
        "Metadata-Version: 2.4\n"
        f"Name: {PROJECT}\n"
        f"Version: {version}\n"
        "Summary: saxpy, sum and matmul as CUDA kernels with a CPU fallback\n"
        "Requires-Python: >=3.10\n"
        f"{extra}"
        "\n"
        "cuda-kernels: one wheel per accelerator variant.\n"
    ).encode()


def make_built_wheel(
    folder: Path,
    *,
    variant: str,
    python: str = "cp312",
    version: str = VERSION,
    local: bool = True,
    pure: bool = False,
    extra_metadata: str = "",
) -> Path:
    """A wheel as a build of ``variant`` names it (``+variant`` local part when ``local``)."""
    full = f"{version}+{variant}" if local else version
    tag = "py3-none-any" if pure else f"{python}-{python}-{PLATFORM}"
    dist_info = f"{DIST}-{full}.dist-info"
    members = [
        (f"{DIST}/__init__.py", f'VARIANT = "{variant}"\n'.encode()),
        (
            f"{dist_info}/METADATA",
            metadata(full, extra=extra_metadata),
        ),
        (
            f"{dist_info}/WHEEL",
            f"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: {str(pure).lower()}\n"
            f"Tag: {tag}\n".encode(),
        ),
    ]
    if not pure:
        members.append((f"{DIST}/_ext.{python}.so", b"\x7fELF " + variant.encode()))
    modes = {} if pure else {f"{DIST}/_ext.{python}.so": 0o755}
    return write_wheel(
        folder / f"{DIST}-{full}-{tag}.whl", members, dist_info=dist_info, modes=modes
    )


def make_wheelhouse(
    root: Path,
    *,
    variants: Sequence[str] = VARIANTS,
    pythons: Sequence[str] = PYTHONS,
    version: str = VERSION,
    channel: str = "nightly",
    pure: bool = False,
    local: bool = True,
    failed: Sequence[str] = (),
    extra_metadata: Mapping[str, str] | None = None,
) -> Path:
    """``root/<variant>/*.whl`` and ``root/build-record.json``; ``failed`` wheel names get a
    failed verification entry."""
    jobs = []
    for variant in variants:
        wheels = []
        for python in pythons[:1] if pure else pythons:
            path = make_built_wheel(
                root / variant,
                variant=variant,
                python=python,
                version=version,
                local=local,
                pure=pure,
                extra_metadata=(extra_metadata or {}).get(variant, ""),
            )
            entry: dict[str, Any] = {
                "name": path.name,
                "path": f"{variant}/{path.name}",
                "size": path.stat().st_size,
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "python": python,
                "platform_tags": [PLATFORM],
            }
            if path.name in failed:
                entry["verification"] = {"status": "failed", "message": "import failed"}
            wheels.append(entry)
        jobs.append(
            {
                "job": {
                    "id": f"linux-x86_64-{variant}",
                    "platform": "linux-x86_64",
                    "os": "linux",
                    "arch": "x86_64",
                    "variant": variant,
                    "kind": "cpu" if variant == "cpu" else "cuda",
                    "python_mode": "per-interpreter",
                    "pythons": list(pythons),
                },
                "package": PROJECT,
                "version": version,
                "status": "succeeded",
                "wheels": wheels,
            }
        )
    record = {
        "schema": "wheelyard.build-record/1",
        "package": PROJECT,
        "version": version,
        "channel": channel,
        "build_date": "2026-11-20",
        "source": "examples/cuda-kernels",
        "started_at": "2026-11-20T02:00:00+00:00",
        "jobs": jobs,
    }
    (root / "build-record.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return root


def write_platform(path: Path, facts: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(facts), encoding="utf-8")
    return path


class FailingStore:
    """Passes through to ``inner`` until ``fail_after`` writes, then fails like a dead endpoint."""

    def __init__(self, inner: Store, fail_after: int) -> None:
        self.inner = inner
        self.left = fail_after

    @property
    def url(self) -> str:
        return self.inner.url

    def get(self, key: str) -> bytes | None:
        return self.inner.get(key)

    def sha256(self, key: str) -> str | None:
        return self.inner.sha256(key)

    def _tick(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise StoreError("injected failure: the endpoint went away")

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str, immutable: bool = False
    ) -> bool:
        self._tick()
        return self.inner.put_bytes(key, data, content_type=content_type, immutable=immutable)

    def put_file(self, key: str, path: Path, *, sha256: str, content_type: str) -> bool:
        self._tick()
        return self.inner.put_file(key, path, sha256=sha256, content_type=content_type)

    def delete(self, key: str) -> None:
        self._tick()
        self.inner.delete(key)
