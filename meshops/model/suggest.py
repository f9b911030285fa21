"""Did-you-mean hints for misspelled keys and names (`keepAlive` -> `tcpKeepalive`)."""
from __future__ import annotations

import difflib
from typing import Iterable


def _norm(word: str) -> str:
    return word.lower().replace("_", "").replace("-", "")


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like `word`, or None when nothing is close enough to be a typo."""
    options = sorted(set(candidates))
    if not options:
        return None
    by_norm = {_norm(option): option for option in options}
    if _norm(word) in by_norm:
        return by_norm[_norm(word)]
    # Substring matches catch prefixes/suffixes people drop or add (keepAlive -> tcpKeepalive).
    contained = [o for o in options if len(word) >= 4 and (_norm(word) in _norm(o) or _norm(o) in _norm(word))]
    if len(contained) == 1:
        return contained[0]
    matches = difflib.get_close_matches(_norm(word), list(by_norm), n=1, cutoff=0.6)
    return by_norm[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """` (did you mean 'x'?)`-style fragment, or '' when there is no good guess."""
    match = closest(word, candidates)
    return f"did you mean {match!r}?" if match else ""
