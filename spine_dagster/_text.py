"""Small wording helpers shared by messages and tables (pure Python)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def plural(count: int, noun: str) -> str:
    """``1 step`` / ``2 steps``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def did_you_mean(word: object, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``word`` (case-insensitive first), or None."""
    if not isinstance(word, str):
        return None
    options = list(candidates)
    for option in options:
        if option.lower() == word.lower():
            return option
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if matches:
        return matches[0]
    prefixed = [o for o in options if len(word) >= 3 and o.lower().startswith(word.lower())]
    if len(prefixed) == 1:
        return prefixed[0]
    lowered = {o.lower(): o for o in options}
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[matches[0]] if matches else None


def suggestion(best: str | None) -> str:
    """`` (did you mean 'x'?)`` for a suggestion, or nothing: the one wording of every hint."""
    return f" (did you mean {best!r}?)" if best else ""


def hint(word: object, candidates: Iterable[str]) -> str:
    """:func:`suggestion` for the closest of ``candidates`` to ``word``."""
    return suggestion(did_you_mean(word, candidates))
