"""PEP 825 variant ordering (format 0.1.1).

1. a variant is compatible when, for every feature it lists, at least one value is compatible
   (the null variant always is);
2. for each feature of a compatible variant take its *best* value (lowest position in the
   machine's ordered value list) and build the key (namespace index in
   ``default-priorities.namespace``, feature index, value index);
3. sort each variant's keys; compare variants key by key; when one list is a prefix of the
   other the variant with more keys wins; then the label, ascending.

So the null variant comes after every other compatible variant, and (in ``install``) the
non-variant wheels after the null variant.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from wheelyard.select.provider import Provider, Rank
from wheelyard.wheel.variant import Variant, VariantProperty

Key = tuple[int, int, int]


@dataclass(frozen=True, kw_only=True)
class Verdict:
    variant: Variant
    compatible: bool
    best: tuple[VariantProperty, ...] = ()
    """The best-value property of each feature (compatible variants)."""
    keys: tuple[Key, ...] = ()
    reasons: tuple[str, ...] = ()
    """Why the variant is incompatible."""

    @property
    def label(self) -> str:
        return self.variant.label


def _evaluate(
    variant: Variant, namespaces: Sequence[str], provider: Provider
) -> tuple[list[tuple[VariantProperty, Rank, int]], list[str]]:
    best: list[tuple[VariantProperty, Rank, int]] = []
    reasons: list[str] = []
    for (namespace, feature), values in variant.features().items():
        if namespace not in namespaces:
            reasons.append(f"namespace {namespace} is not in default-priorities")
            continue
        feature_index = provider.feature_index(namespace, feature)
        ranked = [
            (rank, value)
            for value in values
            if (rank := provider.rank(namespace, feature, value)) is not None
        ]
        if feature_index is None or not ranked:
            wanted = ", ".join(sorted(values))
            reasons.append(
                f"{namespace} :: {feature} needs {wanted}; this machine: "
                f"{provider.describe(namespace, feature)}"
            )
            continue
        rank, value = min(ranked)
        best.append((VariantProperty(namespace, feature, value), rank, feature_index))
    return best, reasons


def _compare(a: Verdict, b: Verdict) -> int:
    for key_a, key_b in zip(a.keys, b.keys, strict=False):
        if key_a != key_b:
            return -1 if key_a < key_b else 1
    if len(a.keys) != len(b.keys):
        return -1 if len(a.keys) > len(b.keys) else 1
    return (a.label > b.label) - (a.label < b.label)


def order_variants(
    variants: Sequence[Variant], namespaces: Sequence[str], provider: Provider
) -> list[Verdict]:
    """Compatible variants, most preferred first, then the incompatible ones (by label)."""
    evaluated = [(v, *_evaluate(v, namespaces, provider)) for v in variants]
    # Value indices: positions in the machine's ordered list of each feature's values,
    # restricted to the values that appear (the relative order is what matters).
    values: dict[tuple[str, str], dict[str, Rank]] = {}
    for _variant, best, reasons in evaluated:
        if reasons:
            continue
        for prop, rank, _ in best:
            values.setdefault(prop.feature_key, {})[prop.value] = rank
    value_index = {
        feature: {value: i for i, value in enumerate(sorted(ranks, key=lambda v: ranks[v]))}
        for feature, ranks in values.items()
    }
    compatible: list[Verdict] = []
    incompatible: list[Verdict] = []
    for variant, best, reasons in evaluated:
        if reasons:
            incompatible.append(Verdict(variant=variant, compatible=False, reasons=tuple(reasons)))
            continue
        keyed = sorted(
            (
                (
                    list(namespaces).index(prop.namespace),
                    feature_index,
                    value_index[prop.feature_key][prop.value],
                ),
                prop,
            )
            for prop, _rank, feature_index in best
        )
        compatible.append(
            Verdict(
                variant=variant,
                compatible=True,
                best=tuple(prop for _, prop in keyed),
                keys=tuple(key for key, _ in keyed),
            )
        )
    compatible.sort(key=functools.cmp_to_key(_compare))
    incompatible.sort(key=lambda v: v.label)
    return compatible + incompatible
