"""Durations written in flows (`30s`, `15m`, `24h`, `2d`, `1h30m`). Pure."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache

_DURATION = re.compile(
    r"\s*(?:(?P<days>[0-9]{1,12})d\s*)?(?:(?P<hours>[0-9]{1,12})h\s*)?"
    r"(?:(?P<minutes>[0-9]{1,12})m\s*)?(?:(?P<seconds>[0-9]{1,12})s\s*)?",
    re.IGNORECASE,
)

ACCEPTED_FORMS = "a number and a unit (d, h, m, s), largest first, e.g. 30s, 15m, 24h, 2d, 1h30m"


# Memoised: a flow's `session_timeout` is read on every turn, and a flow has a few durations.
@lru_cache(maxsize=256)
def parse_duration(text: str) -> timedelta:
    """Parse `2d`, `24h`, `1h30m`, `90s`... (units largest first; spaces between parts allowed).

    Raises:
        ValueError: the text is not such a duration; the message says what is accepted.
    """
    match = _DURATION.fullmatch(text)
    amounts = {} if match is None else {u: int(v) for u, v in match.groupdict().items() if v}
    if not amounts:
        raise ValueError(f"invalid duration {text!r}: expected {ACCEPTED_FORMS}")
    try:
        return timedelta(**amounts)
    except OverflowError as exc:
        raise ValueError(f"invalid duration {text!r}: too large") from exc
