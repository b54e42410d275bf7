"""Expand a recipe's ``python`` entries into cibuildwheel identifiers for one platform."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from wheelyard.config.model import ABI3, PY3, PYTHON_IDENTIFIER
from wheelyard.config.vocab import PythonMode

DEFAULT_RANGE = ">=3.10"
"""What ``abi3`` or ``py3`` alone means: test on every interpreter from 3.10 on."""


def identifier_version(ident: str) -> Version:
    """``cp312`` -> 3.12, ``cp314t`` -> 3.14."""
    match = PYTHON_IDENTIFIER.match(ident)
    if match is None:
        raise ValueError(f"not an interpreter identifier: {ident!r}")
    return Version(f"3.{match.group(1)}")


def is_free_threaded(ident: str) -> bool:
    return ident.endswith("t")


@dataclass(frozen=True, kw_only=True)
class PythonSelection:
    """What one platform builds and tests."""

    mode: PythonMode
    build: tuple[str, ...]
    """Interpreters that produce a wheel (one for abi3/py3)."""
    test: tuple[str, ...]
    """Interpreters the wheels are tested on (all selected ones)."""
    unavailable: tuple[str, ...]
    """Identifiers asked for by name that this platform does not offer."""
    outside_requires_python: tuple[str, ...]
    """Identifiers asked for by name that ``requires-python`` excludes."""


def select_pythons(
    items: Sequence[str],
    *,
    available: Sequence[str],
    free_threaded: bool,
    requires_python: str | None,
) -> PythonSelection:
    """Expand ``items`` against the ``available`` identifiers (ordered oldest first)."""
    mode = PythonMode.PER_INTERPRETER
    if ABI3 in items:
        mode = PythonMode.ABI3
    elif PY3 in items:
        mode = PythonMode.PY3
    selectors = [item for item in items if item not in (ABI3, PY3)] or [DEFAULT_RANGE]
    requires = SpecifierSet(requires_python) if requires_python else None

    chosen: set[str] = set()
    unavailable: list[str] = []
    outside: list[str] = []
    for item in selectors:
        if PYTHON_IDENTIFIER.match(item):
            if requires is not None and not requires.contains(identifier_version(item)):
                outside.append(item)
            elif item in available:
                chosen.add(item)
            else:
                unavailable.append(item)
            continue
        spec = SpecifierSet(item)
        for ident in available:
            if is_free_threaded(ident) and not free_threaded:
                continue
            version = identifier_version(ident)
            if spec.contains(version) and (requires is None or requires.contains(version)):
                chosen.add(ident)

    ordered = tuple(ident for ident in available if ident in chosen)
    if mode is PythonMode.PER_INTERPRETER:
        build = ordered
        test = ordered
    else:
        # Stable-ABI and Python-independent wheels are tested on GIL interpreters only.
        test = tuple(ident for ident in ordered if not is_free_threaded(ident))
        if not test:
            build = ()
        elif mode is PythonMode.ABI3:
            build = (test[0],)
        else:
            build = (test[-1],)
    return PythonSelection(
        mode=mode,
        build=build,
        test=test,
        unavailable=tuple(unavailable),
        outside_requires_python=tuple(outside),
    )
