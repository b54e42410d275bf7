"""Consolidation strategies: how one variant's Pythons are split into jobs."""

from __future__ import annotations

from collections.abc import Sequence

from wheelyard.config.model import Consolidation, Groups


def split_pythons(pythons: Sequence[str], strategy: Consolidation) -> list[tuple[str, ...]]:
    """Split ``pythons`` into job-sized chunks, keeping their order.

    ``per-variant``: one chunk. ``per-python``: one chunk each. ``groups = N``: N chunks as even as
    possible (never more chunks than Pythons; earlier chunks take the remainder).
    """
    items = tuple(pythons)
    if not items:
        return []
    if isinstance(strategy, Groups):
        count = min(strategy.groups, len(items))
        size, extra = divmod(len(items), count)
        chunks: list[tuple[str, ...]] = []
        start = 0
        for index in range(count):
            end = start + size + (1 if index < extra else 0)
            chunks.append(items[start:end])
            start = end
        return chunks
    if strategy == "per-python":
        return [(item,) for item in items]
    return [items]


def describe(strategy: Consolidation) -> str:
    if isinstance(strategy, Groups):
        return f"groups={strategy.groups}"
    return strategy
