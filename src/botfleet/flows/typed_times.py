"""A time of day as contacts type it ("5pm", "17h", "at 5", "17.30"), read against options
whose titles are times ("17:00", the calendar's slots). Pure functions.

Without it, a list of times answered "5pm" is "I didn't understand": the contact is asked to
type "17:00" or a position, which nobody guesses.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["time_candidates", "title_time"]

#: Words said before a time in the platform's languages, folded (no accents, lower case):
#: "at 5", "a las 5", "às 5", "à 5h", "um 5", "alle 5", "a les 5"...
_BEFORE = (
    r"(?:at|around|about|a las|a la|sobre las|hacia las|as|a|vers|um|gegen|alle|alle ore|ore|"
    r"a les|cap a les)"
)
#: Words said after one: "5pm", "5 p.m.", "17h", "17 hs", "5 uhr", "5 o'clock", "17 horas".
_AFTER = r"(?P<after>am|pm|a\.?m\.?|p\.?m\.?|h|hs|hr|hrs|horas|heures|uhr|o'?clock)"
_TYPED = re.compile(
    rf"(?:(?P<before>{_BEFORE})\s+)?(?P<hour>\d{{1,2}})"
    rf"(?:\s*[:.h]\s*(?P<minute>\d{{2}}))?\s*(?:{_AFTER})?\.?"
)
#: Longer text is no typed time, and is kept from the expression's backtracking over blanks.
_MAX_LENGTH = 30
#: A title that is only a time: "17:00", "9:30", "17.00", "17h00", "17h".
_TITLE = re.compile(r"(?P<hour>\d{1,2})(?:[:.h](?P<minute>\d{2})|h)")


def time_candidates(folded: str) -> frozenset[tuple[int, int]]:
    """The (hour, minute) pairs a typed text can mean, empty when it is no time.

    A bare number ("5") is not a time: it is a position in the menu, or nothing. Without "am"
    or "pm", an hour from 1 to 12 is both ("at 5" is 05:00 or 17:00: the options say which).
    """
    text = folded.strip()
    if len(text) > _MAX_LENGTH:
        return frozenset()
    found = _TYPED.fullmatch(text)
    if found is None:
        return frozenset()
    before, after, minute_text = found["before"], found["after"], found["minute"]
    if before is None and after is None and minute_text is None:
        return frozenset()
    hour, minute = int(found["hour"]), int(minute_text or 0)
    if hour > 23 or minute > 59:
        return frozenset()
    meridiem = (after or "").replace(".", "")
    if meridiem in ("am", "pm"):
        if not 1 <= hour <= 12:
            return frozenset()
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
        return frozenset({(hour, minute)})
    if 1 <= hour <= 11:
        return frozenset({(hour, minute), (hour + 12, minute)})
    return frozenset({(hour, minute)})


@lru_cache(maxsize=4096)
def title_time(folded_title: str) -> tuple[int, int] | None:
    """The time a title is, when it is only one ("17:00"), else None."""
    found = _TITLE.fullmatch(folded_title.strip())
    if found is None:
        return None
    hour, minute = int(found["hour"]), int(found["minute"] or 0)
    if hour > 23 or minute > 59:
        return None
    return hour, minute
