"""The CPython interpreters this machine has, and which of them can install a given wheel.

Interpreters come from a pyenv tree (``<root>/versions/3.X.Y/bin/python3.X``, ``3.13.0t`` for
free-threaded builds), from directories holding ``python3.X`` executables, or from explicit
paths (asked for their version). A wheel's target interpreters are those whose tags (computed
with packaging for this host's platforms) meet the wheel's tags and whose version satisfies its
``Requires-Python``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, platform_tags
from packaging.version import Version

from wheelyard import proc
from wheelyard.errors import ProcessError, VerifyError

PYENV_VERSION_DIR = re.compile(r"^3\.(?P<minor>\d+)\.(?P<patch>\d+)(?P<t>t?)$")
EXECUTABLE_NAME = re.compile(r"^python3\.(?P<minor>\d+)(?P<t>t?)$")
MIN_VERSION = (3, 8)
"""Older interpreters are left out: uv cannot create their environments."""
QUERY = (
    "import json, sys, sysconfig; print(json.dumps({'version': list(sys.version_info[:3]), "
    "'implementation': sys.implementation.name, "
    "'free_threaded': bool(sysconfig.get_config_var('Py_GIL_DISABLED'))}))"
)


@dataclass(frozen=True, kw_only=True, order=True)
class Interpreter:
    version: tuple[int, int, int]
    free_threaded: bool = False
    executable: Path

    @property
    def label(self) -> str:
        """``3.12`` or ``3.13t``."""
        return f"{self.version[0]}.{self.version[1]}{'t' if self.free_threaded else ''}"

    @property
    def full_version(self) -> str:
        return ".".join(str(part) for part in self.version)

    def tags(self, platforms: Sequence[str]) -> frozenset[Tag]:
        """Every tag this interpreter installs on ``platforms`` (packaging's own rules)."""
        major_minor = self.version[:2]
        abi = f"cp{major_minor[0]}{major_minor[1]}{'t' if self.free_threaded else ''}"
        found = set(cpython_tags(major_minor, abis=[abi], platforms=platforms))
        found.update(
            compatible_tags(
                major_minor, interpreter=f"cp{major_minor[0]}{major_minor[1]}", platforms=platforms
            )
        )
        return frozenset(found)


def host_platforms() -> tuple[str, ...]:
    """Platform tags this machine installs (``manylinux_2_36_x86_64`` ... ``linux_x86_64``)."""
    return tuple(platform_tags())


def query_interpreter(executable: Path, *, timeout: float = 30.0) -> Interpreter:
    """Ask ``executable`` what it is; raise :class:`VerifyError` if it is no usable CPython."""
    try:
        result = proc.run([str(executable), "-I", "-c", QUERY], timeout=timeout)
        data = json.loads(result.output.strip().splitlines()[-1])
    except (ProcessError, ValueError, IndexError) as exc:
        raise VerifyError(
            f"{executable} is not a working Python interpreter ({exc})",
            hint="pass the path of a python3.X executable",
        ) from exc
    if data["implementation"] != "cpython":
        raise VerifyError(
            f"{executable} is {data['implementation']}; wheelyard verifies with CPython only"
        )
    major, minor, micro = (int(part) for part in data["version"])
    return Interpreter(
        version=(major, minor, micro),
        free_threaded=bool(data["free_threaded"]),
        executable=executable,
    )


def _from_pyenv(root: Path) -> list[Interpreter]:
    versions = root / "versions"
    if not versions.is_dir():
        return []
    found: list[Interpreter] = []
    for tree in versions.iterdir():
        match = PYENV_VERSION_DIR.match(tree.name)
        if match is None:
            continue
        minor, threaded = int(match["minor"]), bool(match["t"])
        executable = tree / "bin" / f"python3.{minor}{'t' if threaded else ''}"
        if os.access(executable, os.X_OK):
            found.append(
                Interpreter(
                    version=(3, minor, int(match["patch"])),
                    free_threaded=threaded,
                    executable=executable,
                )
            )
    return found


def _from_directories(directories: Iterable[Path], timeout: float) -> list[Interpreter]:
    found: list[Interpreter] = []
    seen: set[Path] = set()
    for directory in directories:
        if not directory.is_dir():
            continue
        for candidate in sorted(directory.iterdir()):
            if not EXECUTABLE_NAME.match(candidate.name) or not os.access(candidate, os.X_OK):
                continue
            real = candidate.resolve()
            if real in seen:
                continue
            seen.add(real)
            try:
                found.append(query_interpreter(candidate, timeout=timeout))
            except VerifyError:
                continue  # a broken or foreign executable on PATH is not ours to report
    return found


def discover_interpreters(
    *,
    pyenv_root: Path | None = None,
    directories: Sequence[Path] = (),
    timeout: float = 30.0,
) -> tuple[Interpreter, ...]:
    """One interpreter per (minor version, free-threaded): pyenv's newest first, then PATH's.

    ``directories`` are searched for ``python3.X`` executables (pyenv shim folders should be
    left out by the caller: shims do not run outside their pyenv version).
    """
    candidates = _from_pyenv(pyenv_root) if pyenv_root is not None else []
    best: dict[tuple[int, int, bool], Interpreter] = {}
    for interpreter in sorted(candidates, reverse=True):
        best.setdefault((*interpreter.version[:2], interpreter.free_threaded), interpreter)
    for interpreter in _from_directories(directories, timeout):
        best.setdefault((*interpreter.version[:2], interpreter.free_threaded), interpreter)
    return tuple(sorted(i for i in best.values() if i.version[:2] >= MIN_VERSION))


@dataclass(frozen=True, kw_only=True)
class Targets:
    interpreters: tuple[Interpreter, ...]
    reason: str | None = None
    """Why there is none, when there is none."""


def _describe(tags: Iterable[Tag]) -> str:
    return ", ".join(sorted(str(tag) for tag in tags))


def select_targets(
    wheel_tags: frozenset[Tag],
    requires_python: SpecifierSet | None,
    available: Sequence[Interpreter],
    platforms: Sequence[str],
) -> Targets:
    """The interpreters in ``available`` that can install a wheel with ``wheel_tags``."""
    wheel_platforms = {tag.platform for tag in wheel_tags}
    if not wheel_platforms & ({"any"} | set(platforms)):
        return Targets(
            interpreters=(),
            reason=f"built for {', '.join(sorted(wheel_platforms))}; this machine installs "
            f"{platforms[0] if platforms else 'no platform'} and older tags only",
        )
    matching = [i for i in available if i.tags(platforms) & wheel_tags]
    if not matching:
        have = ", ".join(i.label for i in available) or "none"
        return Targets(
            interpreters=(),
            reason=f"no interpreter here installs {_describe(wheel_tags)} (available: {have})",
        )
    if requires_python is not None:
        allowed = [
            i
            for i in matching
            if requires_python.contains(Version(i.full_version), prereleases=True)
        ]
        if not allowed:
            have = ", ".join(i.full_version for i in matching)
            return Targets(
                interpreters=(),
                reason=f"Requires-Python {requires_python} excludes every matching interpreter "
                f"here ({have})",
            )
        matching = allowed
    return Targets(interpreters=tuple(matching))
