"""The validated catalog and the lookups the planner needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wheelyard.config.accelerator import (
    LOCAL_IMAGE_PREFIX,
    PlatformEntry,
    ProviderEntry,
    RunnerEntry,
    TorchSources,
    VariantEntry,
)
from wheelyard.config.vocab import AcceleratorKind, Channel, Platform


@dataclass(frozen=True, kw_only=True)
class Catalog:
    variants: Mapping[str, VariantEntry]
    platforms: Mapping[Platform, PlatformEntry]
    runners: Mapping[str, RunnerEntry]
    providers: Mapping[str, ProviderEntry] = field(default_factory=dict)
    """PEP 825 variant provider per namespace."""
    torch: TorchSources | None = None
    """Where builds get torch, per channel (None: a catalog without a ``[torch]`` table)."""

    def variant(self, name: str) -> VariantEntry:
        return self.variants[name]

    def kind(self, variant: str) -> AcceleratorKind:
        return self.variants[variant].kind

    def offered_on(self, variant: str, channel: Channel) -> bool:
        return channel in self.variants[variant].channels

    def build_runner(self, variant: str, platform: Platform) -> str:
        entry = self.variants[variant]
        return entry.build_runner or f"{platform}-cpu"

    def test_runner(self, variant: str, platform: Platform) -> str:
        entry = self.variants[variant]
        if entry.test_runner:
            return entry.test_runner
        if entry.kind is AcceleratorKind.CPU:
            return self.build_runner(variant, platform)
        return f"{platform}-{entry.kind}"

    def image(self, variant: str, platform: Platform) -> str | None:
        """The builder image a ``variant`` job on ``platform`` asks for first."""
        return self.variants[variant].images.get(platform)

    def local_image(self, variant: str, platform: Platform) -> str | None:
        """wheelyard's own builder image of ``variant`` on ``platform``: ``local-images``, or
        ``images`` where that names a ``localhost/`` image."""
        entry = self.variants[variant]
        if (ref := entry.local_images.get(platform)) is not None:
            return ref
        ref = entry.images.get(platform)
        return ref if ref is not None and ref.startswith(LOCAL_IMAGE_PREFIX) else None

    def github_runner(self, label: str) -> str:
        """The GitHub ``runs-on`` value of a runner label (the label itself when unlisted)."""
        entry = self.runners.get(label)
        return entry.github if entry is not None else label

    def torch_sources(
        self,
        variant: str,
        channel: Channel,
        override: Sequence[str] | Mapping[str, Sequence[str]] = (),
        fallback: Sequence[str] = (),
    ) -> tuple[str, ...]:
        """Where a ``variant`` build of ``channel`` gets torch, first source first, the fields
        filled in: ``override`` (a recipe's ``torch-index``: one list for every variant, or
        lists per variant) where it names this variant, else ``fallback`` (a farm's own
        sources), else the catalog's for the channel."""
        chosen = override.get(variant, ()) if isinstance(override, Mapping) else override
        chosen = chosen or fallback
        if not chosen and self.torch is not None:
            chosen = self.torch.for_channel(channel)
        return tuple(s.format(variant=variant, channel=channel) for s in chosen)

    def all_interpreters(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for entry in self.platforms.values():
            for ident in entry.interpreters:
                seen.setdefault(ident, None)
        return tuple(seen)
