"""A calendar call's `period`: which local slot starts it keeps. Pure.

Read at run time by the calendar connector (`Params.period`) and statically by the flow
validator, which reports a literal `period` that every call would refuse (docs/flow-dsl.md,
"Slot rules"): one parser, so the two cannot disagree.
"""

from __future__ import annotations

from datetime import time

from botfleet.domain.calendar import MINUTES_PER_DAY, TimeWindow, parse_clock_minutes

__all__ = [
    "AFTERNOON",
    "AFTERNOON_STARTS",
    "MORNING",
    "PERIOD_NAMES",
    "PERIOD_WORDS",
    "parse_period",
    "parse_period_param",
]

#: Slots starting before this local time are "morning".
AFTERNOON_STARTS = time(14, 0)

#: The named periods as ranges of slot starts; ``""``/``all`` (no range) is the whole day.
MORNING = TimeWindow(0, AFTERNOON_STARTS.hour * 60 + AFTERNOON_STARTS.minute)
AFTERNOON = TimeWindow(MORNING.end_min, MINUTES_PER_DAY)
_NAMED_PERIODS: dict[str, TimeWindow | None] = {
    "": None,
    "all": None,
    "morning": MORNING,
    "afternoon": AFTERNOON,
}
_RANGE_EXAMPLE = "HH:MM-HH:MM such as '20:00-23:30'"

#: Spanish spellings of `period`'s words (the seed flow is Spanish), which a call's param
#: accepts besides `parse_period`'s own.
PERIOD_WORDS: dict[str, str] = {
    "mañana": "morning",
    "manana": "morning",
    "tarde": "afternoon",
}

#: Every word a call's `period` param accepts, in a fixed order (suggestions for a misspelt one
#: take the first of equally close words).
PERIOD_NAMES: tuple[str, ...] = (*(word for word in _NAMED_PERIODS if word), *PERIOD_WORDS)


def parse_period(text: str) -> TimeWindow | None:
    """The slot starts a `period` keeps: ``morning``, ``afternoon``, ``""``/``all`` (None: the
    whole day) or a range ``"HH:MM-HH:MM"`` of local start times, end excluded (``24:00`` ends
    at midnight). A restaurant offers ``13:00-16:00`` and ``20:00-23:30`` as lunch and dinner.

    Raises:
        ValueError: not a period; the message ("must be ...") quotes `text`.
    """
    word = text.strip().lower()
    if word in _NAMED_PERIODS:
        return _NAMED_PERIODS[word]
    if not any(char.isdigit() for char in word):
        raise ValueError(
            f"must be morning, afternoon, empty or a time range {_RANGE_EXAMPLE}, got {text!r}"
        )
    parts = word.split("-")
    try:
        if len(parts) != 2:
            raise ValueError("expected two times joined by '-'")
        start = parse_clock_minutes(parts[0])
        end = parse_clock_minutes(parts[1], allow_end_of_day=True)
    except ValueError as exc:
        raise ValueError(f"must be a time range {_RANGE_EXAMPLE}, got {text!r}: {exc}") from None
    if start >= end:
        # Slots are a single day's: a range across midnight would be a second list anyway.
        raise ValueError(
            f"must be a time range {_RANGE_EXAMPLE} starting before it ends, got {text!r} "
            "(a range cannot cross midnight: end it at 24:00)"
        )
    return TimeWindow(start, end)


def parse_period_param(text: str) -> TimeWindow | None:
    """`parse_period` of a call's `period` param, which also takes the Spanish words
    (`PERIOD_WORDS`: ``mañana``, ``tarde``).

    Raises:
        ValueError: not a period; the message ("must be ...") quotes `text`.
    """
    return parse_period(PERIOD_WORDS.get(text.strip().lower(), text))
