"""The shape of catalog entries (accelerator variants, platforms, runners).

The data lives in ``catalog/accelerators.toml``; a recipe may extend or override it under
``[tool.wheelyard.catalog]``. Both are validated against these models.
"""

from __future__ import annotations

import re
import string
from typing import Annotated

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import Field, field_validator

from wheelyard.config.fields import FileModel
from wheelyard.config.vocab import AcceleratorKind, Channel, Platform

VARIANT_NAME = re.compile(r"^[0-9a-z_.]+$")
"""Variant names double as PEP 825 labels, so they follow the label grammar."""

PROPERTY = re.compile(r"^[a-z0-9_]+ :: [a-z0-9_]+ :: [a-z0-9_.]+$")
"""A PEP 825 variant property: ``namespace :: feature :: value``."""


def requirements(value: list[str]) -> list[str]:
    """``value`` when every item is a PEP 508 requirement; else the first bad one, named."""
    for item in value:
        try:
            Requirement(item)
        except InvalidRequirement as exc:
            raise ValueError(f"{item!r} is not a pip requirement: {exc}") from exc
    return value


TORCH_SOURCE_FIELDS = frozenset({"variant", "channel"})


def torch_source_problem(source: str) -> str | None:
    """Why ``source`` is not a torch source (an http(s) or file URL, or an absolute folder
    path, with only ``{variant}``/``{channel}`` fields), or None when it is one."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(source) if f is not None}
    except ValueError as exc:
        return f"torch source {source!r}: {exc}"
    unknown = sorted(fields - TORCH_SOURCE_FIELDS)
    if unknown:
        return (
            f"torch source {source!r}: unknown field(s) {', '.join('{' + f + '}' for f in unknown)}"
            "; only {variant} and {channel} are filled in"
        )
    if not source.startswith(("https://", "http://", "file:///", "/")):
        return (
            f"torch source {source!r} is neither an http(s) index URL, a file:// URL nor an "
            "absolute folder path"
        )
    return None


LOCAL_IMAGE_PREFIX = "localhost/"
"""Image references wheelyard builds itself; anything else comes from a registry."""

RUNNER_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class VariantEntry(FileModel):
    """One accelerator build flavour (``cpu``, ``cu128``, ``rocm7.0`` ...)."""

    kind: AcceleratorKind
    toolkit: str | None = Field(
        default=None, description="Toolkit version (CUDA 12.8, ROCm 7.0 ...); none for cpu."
    )
    description: str = ""
    channels: list[Channel] = Field(
        default_factory=lambda: list(Channel), description="Channels that offer this variant."
    )
    platforms: list[Platform] = Field(description="Platforms this variant can be built for.")
    arch_list: str | None = Field(
        default=None,
        description="GPU targets: TORCH_CUDA_ARCH_LIST, PYTORCH_ROCM_ARCH or TORCH_XPU_ARCH_LIST.",
    )
    images: dict[Platform, str] = Field(
        default_factory=dict,
        description="Builder image per platform (container platforms only): an official "
        "registry image pinned by digest, pulled where the engine can, or a `localhost/` image "
        "wheelyard builds itself.",
    )
    local_images: dict[Platform, str] = Field(
        default_factory=dict,
        description="wheelyard's own builder image per platform (`wheelyard image build`, a "
        "`localhost/` reference): used when `images` cannot be pulled, and for verification "
        "sandboxes.",
    )
    build_runner: str | None = Field(
        default=None, description="Runner label that builds it (default: the platform's CPU label)."
    )
    test_runner: str | None = Field(
        default=None,
        description="Runner label that smoke-tests it (default: '<platform>-<kind>' for GPUs, "
        "the build runner for cpu).",
    )
    min_driver: str | None = Field(
        default=None, description="Lowest GPU driver version the toolkit needs (Linux)."
    )
    properties: list[Annotated[str, Field(pattern=PROPERTY.pattern)]] = Field(
        default_factory=list, description="PEP 825 variant properties, 'ns :: feature :: value'."
    )
    environment: dict[str, str] = Field(
        default_factory=dict, description="Environment every build of this variant gets."
    )
    toolkit_packages: list[str] = Field(
        default_factory=list,
        description="pip requirements (exact pins) that install the toolkit into wheelyard's "
        "own builder image (`wheelyard image build`); empty when the toolkit is not on PyPI.",
    )

    @field_validator("build_runner", "test_runner")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        if value is not None and not RUNNER_LABEL.match(value):
            raise ValueError(f"runner label {value!r} must match {RUNNER_LABEL.pattern}")
        return value

    @field_validator("local_images")
    @classmethod
    def _local(cls, value: dict[Platform, str]) -> dict[Platform, str]:
        for platform, ref in value.items():
            if not ref.startswith(LOCAL_IMAGE_PREFIX):
                raise ValueError(
                    f"local-images.{platform} = {ref!r} must be a {LOCAL_IMAGE_PREFIX} reference "
                    "(an image wheelyard builds); registry images go in `images`"
                )
        return value

    @field_validator("toolkit_packages")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        return requirements(value)


class PlatformEntry(FileModel):
    """A build platform: how cibuildwheel names it and which interpreters it offers."""

    os: str
    arch: str
    cibw_platform: str = Field(description="cibuildwheel --platform value.")
    cibw_build_suffix: str = Field(
        description="Build identifier suffix, e.g. 'manylinux_x86_64' (never musllinux)."
    )
    container: bool = Field(description="Whether builds run inside a container image.")
    interpreters: list[str] = Field(description="cibuildwheel identifiers, oldest first.")


class RunnerEntry(FileModel):
    """A runner label: what a worker announces and a job requires."""

    gpu: bool = False
    github: str = Field(description="GitHub Actions 'runs-on' value for this label.")


class ProviderEntry(FileModel):
    """The PEP 825 variant provider of one namespace (its ``providers`` table entry)."""

    requires: list[str] = Field(
        min_length=1, description="Requirements that install the provider plugin."
    )
    plugin_api: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
        description="module:object of the plugin.",
    )

    @field_validator("requires")
    @classmethod
    def _requirements(cls, value: list[str]) -> list[str]:
        return requirements(value)


class TorchSources(FileModel):
    """Where builds get torch, per channel (sources tried in order; ``{variant}`` and
    ``{channel}`` filled in)."""

    release: list[str] = Field(min_length=1, description="Sources of released torch.")
    test: list[str] = Field(min_length=1, description="Sources of release candidates.")
    nightly: list[str] = Field(min_length=1, description="Sources of nightly torch.")

    @field_validator("release", "test", "nightly")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        for source in value:
            problem = torch_source_problem(source)
            if problem is not None:
                raise ValueError(problem)
        return value

    def for_channel(self, channel: Channel) -> list[str]:
        match channel:
            case Channel.RELEASE:
                return self.release
            case Channel.TEST:
                return self.test
            case Channel.NIGHTLY:
                return self.nightly
