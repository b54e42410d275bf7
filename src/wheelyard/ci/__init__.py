"""Generators for CI systems: files that run wheelyard's stages there (GitHub Actions so far).

Each CI system is a ``CiGenerator``; ``generator(name)`` looks one up, so adding a CI system
adds an entry here and a command, without touching the callers.
"""

from __future__ import annotations

from wheelyard.ci.generator import CiGenerator, GeneratedFile, GeneratorOptions, Ownership
from wheelyard.ci.github import GitHubActions
from wheelyard.errors import CiError

GENERATORS: dict[str, CiGenerator] = {"github": GitHubActions()}


def generator(name: str) -> CiGenerator:
    try:
        return GENERATORS[name]
    except KeyError:
        raise CiError(
            f"no CI generator named {name!r}",
            hint=f"known: {', '.join(sorted(GENERATORS))}",
        ) from None


__all__ = [
    "GENERATORS",
    "CiGenerator",
    "GeneratedFile",
    "GeneratorOptions",
    "GitHubActions",
    "Ownership",
    "generator",
]
