"""Did you mean ...?": the known name an author most likely meant by an unknown one. Pure.

Names in flows and settings are made of words (`send_interactive_buttons`,
`slot_duration_min`), so a name is compared both as text (difflib's ratio, which catches
typos: `MENUU`, `send_txet`) and word by word, where a word may be shortened or plural
(`send_buttons` is closer to `send_interactive_buttons` than to `send_text`; `slot_minutes`
to `slot_duration_min`). A table of synonyms can map a word to the name it stands for
(`menu` -> `send_interactive_list`), for names whose words are not the known ones.

    closest("send_buttons", ACTIONS)                       # 'send_interactive_buttons'
    closest("slot_minutes", ["slot_duration_min", ...])    # 'slot_duration_min'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from difflib import SequenceMatcher

__all__ = ["CUTOFF", "TYPO", "closest", "similarity", "words"]

#: How similar (0..1) a candidate must be to be suggested.
CUTOFF = 0.6
#: As similar as a typo: trusted before any synonym.
TYPO = 0.85
_SPLIT = re.compile(r"[^0-9a-zA-Z]+|(?<=[a-z0-9])(?=[A-Z])")


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"  # replies -> reply
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]  # buttons -> button
    return word


def words(name: str) -> list[str]:
    """The words of a name, lower case and singular: `sendQuickReplies` -> send, quick, reply."""
    return [_singular(w.lower()) for w in _SPLIT.split(name) if w]


def _word_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)):
        return 0.9  # a shortened word: min / minutes, cfg / config
    ratio = SequenceMatcher(None, a, b).ratio()
    return ratio if ratio >= 0.8 else 0.0


def similarity(word: str, candidate: str) -> float:
    """0..1: the better of the text's similarity and the words' (Dice over matched words)."""
    text = SequenceMatcher(None, word.lower(), candidate.lower()).ratio()
    mine, theirs = words(word), words(candidate)
    if not mine or not theirs:
        return text
    matched = sum(max(_word_similarity(w, t) for t in theirs) for w in mine)
    matched = min(matched, float(min(len(mine), len(theirs))))
    return max(text, 2 * matched / (len(mine) + len(theirs)))


def closest(
    word: str,
    candidates: Iterable[str],
    *,
    synonyms: Sequence[tuple[Iterable[str], str]] | Mapping[str, str] = (),
    cutoff: float = CUTOFF,
) -> str | None:
    """The candidate `word` most likely means, or None when none is close enough.

    A candidate equal but for case wins; then the most similar candidate if it is a typo of
    `word` (similarity `TYPO` or more: `send_tempalte`); then the first entry of `synonyms`
    (pairs of words and the candidate they mean, tried in order) one of whose words is a word
    of `word` (`send_menu` -> `send_interactive_list`); then the most similar candidate (the
    first of equals) at `cutoff` or above.
    """
    known = list(dict.fromkeys(candidates))
    if not known or not word:
        return None
    lowered = word.lower()
    for candidate in known:
        if candidate.lower() == lowered:
            return candidate
    best, score = None, 0.0
    for candidate in known:
        value = similarity(word, candidate)
        if value > score:
            best, score = candidate, value
    if score >= TYPO:
        return best
    pairs: Iterable[tuple[Iterable[str], str]] = (
        [([key], meant) for key, meant in synonyms.items()]
        if isinstance(synonyms, Mapping)
        else synonyms
    )
    mine = set(words(word))
    for keys, meant in pairs:
        if meant in known and mine & {_singular(k.lower()) for k in keys}:
            return meant
    return best if score >= cutoff else None
