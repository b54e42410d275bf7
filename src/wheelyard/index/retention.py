"""Nightly retention: keep the newest N versions and/or those published in the last D days.

Retention removes entries from the published state; a stored file is deleted only when no
remaining entry (on any page, of any channel) still links it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.version import Version

from wheelyard.config.vocab import Channel
from wheelyard.index.state import PublishedFile

DEFAULT_KEEP_VERSIONS = 30


@dataclass(frozen=True, kw_only=True)
class RetentionPolicy:
    """A version survives when it is among the newest ``keep_versions`` *or* younger than
    ``keep_days`` (a bound set to None does not keep anything by itself; both None: keep all).
    """

    keep_versions: int | None = DEFAULT_KEEP_VERSIONS
    keep_days: float | None = None
    channels: tuple[Channel, ...] = (Channel.NIGHTLY,)

    @property
    def keeps_all(self) -> bool:
        return self.keep_versions is None and self.keep_days is None


@dataclass(frozen=True, kw_only=True)
class PrunedVersion:
    project: str
    channel: Channel
    version: str


def public(version: str) -> str:
    """Legacy ``X+cu128`` wheels belong to release X."""
    return Version(version).public


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def apply_retention(
    files: Iterable[PublishedFile], policy: RetentionPolicy, *, now: dt.datetime
) -> tuple[tuple[PublishedFile, ...], tuple[PrunedVersion, ...]]:
    """The files that stay, and the (project, channel, version)s that go."""
    items = tuple(files)
    if policy.keeps_all:
        return items, ()
    newest: dict[tuple[str, Channel], dict[str, dt.datetime]] = defaultdict(dict)
    for item in items:
        if item.channel not in policy.channels:
            continue
        when = parse_time(item.published_at)
        seen = newest[(item.project, item.channel)]
        release = public(item.version)
        seen[release] = max(when, seen.get(release, when))
    doomed: set[tuple[str, Channel, str]] = set()
    for (project, channel), versions in newest.items():
        ordered = sorted(versions, key=Version, reverse=True)
        keep: set[str] = set()
        if policy.keep_versions is not None:
            keep.update(ordered[: max(policy.keep_versions, 0)])
        if policy.keep_days is not None:
            horizon = now - dt.timedelta(days=policy.keep_days)
            keep.update(v for v, when in versions.items() if when >= horizon)
        doomed.update((project, channel, v) for v in ordered if v not in keep)
    kept = tuple(i for i in items if (i.project, i.channel, public(i.version)) not in doomed)
    pruned = tuple(
        PrunedVersion(project=p, channel=c, version=v)
        for p, c, v in sorted(doomed, key=lambda t: (t[0], str(t[1]), Version(t[2])))
    )
    return kept, pruned


def unlinked_keys(before: Iterable[PublishedFile], after: Iterable[PublishedFile]) -> set[str]:
    """Store keys (files and their .metadata) linked before and by no entry after."""
    still: set[str] = set()
    for item in after:
        still.update((item.key, item.metadata_key))
    gone: set[str] = set()
    for item in before:
        gone.update((item.key, item.metadata_key))
    return gone - still
