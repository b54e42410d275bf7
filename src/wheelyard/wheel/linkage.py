"""What a built wheel links against and requires, read from its files (pure Python).

The ``DT_NEEDED`` entries of every ELF file in it (pyelftools, through ``wheel.elf``), the
libraries auditwheel bundled (``<pkg>.libs/``) and its ``Requires-Dist``: the part of a wheel's
``built_against`` that only the wheel itself can tell. The build layer does not read wheels'
insides; the CLI and the farm hand :func:`linkage_of` to the build (``JobSettings.contents``).
"""

from __future__ import annotations

import email.parser
import email.policy
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wheelyard.errors import WheelError
from wheelyard.wheel.elf import is_elf, read_elf


@dataclass(frozen=True, kw_only=True)
class WheelLinkage:
    requires: tuple[str, ...] = ()
    """``Requires-Dist`` of its METADATA, as written."""
    needed: dict[str, list[str]] = field(default_factory=dict)
    """ELF file in the wheel -> its ``DT_NEEDED`` libraries."""
    bundled: tuple[str, ...] = ()
    """Libraries auditwheel copied into the wheel."""

    def to_json(self) -> dict[str, Any]:
        linked = {lib for libs in self.needed.values() for lib in libs}
        external = sorted(linked - set(self.bundled))
        return {
            "requires": list(self.requires),
            "shared_libraries": external,
            "bundled_libraries": sorted(self.bundled),
            "elf_needed": dict(sorted(self.needed.items())),
        }


def _is_library(name: str) -> bool:
    return name.endswith((".so", ".pyd")) or ".so." in name


def read_linkage(path: Path) -> WheelLinkage:
    """The linkage of the wheel at ``path``; what cannot be read (a damaged archive, a broken
    ELF file) is left out - the verification gate reports those."""
    requires: list[str] = []
    needed: dict[str, list[str]] = {}
    bundled: list[str] = []
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename
                if name.endswith(".dist-info/METADATA"):
                    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
                        archive.read(info)
                    )
                    requires = [str(r) for r in message.get_all("Requires-Dist") or ()]
                    continue
                if info.is_dir() or info.file_size < 4 or not _is_library(name):
                    continue
                data = archive.read(info)
                if not is_elf(data):
                    continue
                if ".libs/" in name:
                    bundled.append(name.rsplit("/", 1)[-1])
                needed[name] = list(read_elf(data, where=f"{path.name}:{name}").needed)
    except (OSError, zipfile.BadZipFile, WheelError):
        pass
    return WheelLinkage(requires=tuple(requires), needed=needed, bundled=tuple(bundled))


def linkage_of(path: Path) -> dict[str, Any]:
    """``read_linkage(path).to_json()``: the form the build record keeps."""
    return read_linkage(path).to_json()
