"""CPython builds on the host (pyenv's ``versions/`` tree) that a builder image can carry."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

VERSION_DIR = re.compile(r"^3\.(?P<minor>\d+)\.(?P<patch>\d+)$")
"""Final releases only: ``3.12.1`` (not ``3.13.0t``, ``3.14.0a1`` or ``3.12-dev``)."""


@dataclass(frozen=True, kw_only=True)
class HostInterpreter:
    """One host CPython tree and where it goes in the image."""

    version: str
    """``3.12.1``."""
    prefix: Path
    """The host tree, e.g. ``$(pyenv root)/versions/3.12.1``."""

    @property
    def minor(self) -> str:
        """``3.12``."""
        return self.version.rsplit(".", 1)[0]

    @property
    def tag(self) -> str:
        """``cp312``: cibuildwheel's identifier prefix."""
        return "cp" + self.minor.replace(".", "")

    @property
    def image_prefix(self) -> str:
        """``/opt/python/cp312-cp312``: where cibuildwheel looks for it."""
        return f"/opt/python/{self.tag}-{self.tag}"

    @property
    def minor_number(self) -> int:
        return int(self.minor.split(".")[1])


def find_interpreters(pyenv_root: Path, identifiers: Sequence[str]) -> tuple[HostInterpreter, ...]:
    """The newest host build of each CPython minor version whose tag is in ``identifiers``.

    ``identifiers`` are cibuildwheel identifiers (``cp39``, ``cp313t`` ...); free-threaded ones
    are ignored here (pyenv trees are GIL builds). Oldest first.
    """
    versions = pyenv_root / "versions"
    if not versions.is_dir():
        return ()
    wanted = set(identifiers)
    best: dict[int, tuple[int, Path]] = {}
    for tree in versions.iterdir():
        match = VERSION_DIR.match(tree.name)
        if match is None or not tree.is_dir():
            continue
        minor, patch = int(match["minor"]), int(match["patch"])
        if f"cp3{minor}" not in wanted:
            continue
        if not (tree / "bin" / f"python3.{minor}").is_file():
            continue
        if minor not in best or patch > best[minor][0]:
            best[minor] = (patch, tree)
    return tuple(
        HostInterpreter(version=f"3.{minor}.{patch}", prefix=tree)
        for minor, (patch, tree) in sorted(best.items())
    )
