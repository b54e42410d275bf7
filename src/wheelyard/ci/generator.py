"""What every CI generator produces, and the options they share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Protocol


class Ownership(StrEnum):
    """Who owns a generated file after it is written."""

    GENERATED = "generated"
    """wheelyard: rewritten by every run, never edited by hand."""
    STARTER = "starter"
    """The package: written once as a starting point, then edited by its maintainers."""


@dataclass(frozen=True, kw_only=True)
class GeneratedFile:
    path: PurePosixPath
    """Relative to the output folder (``.github/workflows`` for GitHub Actions)."""
    text: str
    ownership: Ownership


@dataclass(frozen=True, kw_only=True)
class GeneratorOptions:
    wheelyard_version: str
    """The wheelyard release the CI installs (the one that generated the files)."""
    package_path: str = "."
    """The package directory relative to the repository root (POSIX separators)."""
    project_name: str | None = None
    """Shown in the caller example's comments."""


class CiGenerator(Protocol):
    """A CI system: files that run wheelyard's plan, build, smoke and publish stages there."""

    @property
    def name(self) -> str: ...

    @property
    def default_output(self) -> PurePosixPath:
        """Where the files go, relative to the repository root."""
        ...

    def generate(self, options: GeneratorOptions) -> tuple[GeneratedFile, ...]: ...
