"""Pydantic settings shared by every model read from a file: frozen, kebab-case, strict keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


def kebab(name: str) -> str:
    """``needs_gpu_test`` -> ``needs-gpu-test`` (the spelling used in TOML files)."""
    return name.replace("_", "-")


class FileModel(BaseModel):
    """A model read from TOML: unknown keys are errors, keys are kebab-case, values immutable."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=kebab,
        populate_by_name=True,
        use_enum_values=False,
    )
