"""Did-you-mean suggestions for unknown names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The known name closest to ``word``, if one is close enough to be a likely typo."""
    normal = {c.replace("_", "-").lower(): c for c in choices}
    probe = word.replace("_", "-").lower()
    if probe in normal:
        return normal[probe]
    matches = difflib.get_close_matches(probe, list(normal), n=1, cutoff=0.6)
    return normal[matches[0]] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint such as ``did you mean 'variants'?``, or None."""
    choices = list(choices)
    best = closest(word, choices)
    if best is not None:
        return f"did you mean {best!r}?"
    return None
