"""The `parse_date` template filter: a date the contact typed, as `YYYY-MM-DD`, or `""`.

A bakery's "pickup on 12/5" or a clinic's "born 03.11.1980" would otherwise need a condition
of slicing and digit checks that still lets 2024-06-31 through. Written here, not taken from
a library: dateutil's parser accepts far more than a date (times, words, fuzzy text it skips)
and would read "12" or "May" alone as a date; a flow wants exactly the written forms below,
an impossible day refused, and a missing year resolved against the turn's own `today`.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Callable
from datetime import date
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import pass_context

__all__ = ["nearest_date", "next_date", "no_such_date", "parse_date", "read_date", "turn_today"]

#: 2024-05-12, 2024/5/12: year first, always year-month-day.
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
#: 12/5/2024, 12-05-24, 12.5., 12/5: day and month in the order the flow says.
_YEAR_LAST = re.compile(r"(\d{1,2})([-/.])(\d{1,2})(?:\2(\d{4}|\d{2}))?\.?")
#: Longer text is not a date someone typed (and is not worth a regular expression's time).
_MAX_LENGTH = 40


@pass_context
def parse_date(context: Context, value: Any, month_first: bool = False) -> str:
    """`{{ message.text | parse_date }}`: the date as `YYYY-MM-DD`, `""` when it is none.

    Forms: `2024-05-12` (also with `/` or `.`), `12/05/2024`, `12-5-24`, `12.5.2024`, `12/5`
    (also `12.5.`). Day before month unless `month_first=true` (`5/12/2024` is 12 May then).
    A two-digit year is 20YY. Without a year: the first such day from the turn's `today` on (on
    31 December, `2/1` is 2 January of the next year). A day that does not exist (`31/06`,
    `29/02/2023`), other text, or a value that is not text: `""`, which is false in a
    condition and sorts before every date.
    """
    if not isinstance(value, str):
        return ""
    found = read_date(value, lambda: turn_today(context), month_first=month_first)
    return "" if found is None else found.isoformat()


def read_date(
    text: str,
    today: date | Callable[[], date],
    *,
    month_first: bool = False,
    past: bool = False,
) -> date | None:
    """The date `text` is in one of `parse_date`'s forms, else None; shared with the typed
    answers to a list of days (`typed_days`). `today` (or what gives it, asked only for a date
    without a year) resolves a missing year as `next_date` does, or as `nearest_date` does
    when `past`."""
    written = _written(text, month_first)
    if written is None:
        return None
    year, month, day = written
    if year is not None:
        return _date(year, month, day)
    today = today if isinstance(today, date) else today()
    return nearest_date(month, day, today) if past else next_date(month, day, today)


def no_such_date(
    text: str,
    today: date | Callable[[], date],
    *,
    month_first: bool = False,
    past: bool = False,
) -> bool:
    """Whether `text` writes a date in one of `parse_date`'s forms, a day 1-31 of a month
    1-12, that `read_date` finds no day for: `31/02`, `30/2/2027`, `2027-02-30` (without a
    year: a day no year has, or with `past` the nearest year lacks, `29/02` in 2026). Other
    numbers (`45/13`, `3.45`) are no date written at all."""
    written = _written(text, month_first)
    if written is None:
        return False
    _, month, day = written
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    return read_date(text, today, month_first=month_first, past=past) is None


def _written(text: str, month_first: bool) -> tuple[int | None, int, int] | None:
    """The year (None when not written), month and day `text` writes in one of `parse_date`'s
    forms, not yet checked against a calendar; None for other text."""
    text = text.strip()
    if len(text) > _MAX_LENGTH:
        return None
    if found := _YEAR_FIRST.fullmatch(text):
        return int(found[1]), int(found[2]), int(found[3])
    found = _YEAR_LAST.fullmatch(text)
    if found is None:
        return None
    first, second = int(found[1]), int(found[3])
    day, month = (second, first) if month_first else (first, second)
    year_text = found[4]
    if year_text is None:
        return None, month, day
    return int(year_text) + (2000 if len(year_text) == 2 else 0), month, day


def next_date(month: int, day: int, today: date) -> date | None:
    """The first `day` of `month` from `today` on (on 31 December, 2 January is next year's;
    29 February the next leap year's), None for a day no year has (31 June)."""
    for year in range(today.year, today.year + 9):  # 29/2: up to the next leap year
        candidate = _date(year, month, day)
        if candidate is not None and candidate >= today:
            return candidate
    return None


def nearest_date(month: int, day: int, today: date) -> date | None:
    """The `day` of `month` nearest `today`, before or after it, as a person reads a date
    without its year: on 7 December, 1 December is six days ago and 2 January next month's;
    at equal distance the one ahead. None when the nearest `month` has no such day (31 June;
    29 February typed in 2026, when neither February near has one)."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None

    def distance(year: int) -> tuple[int, bool]:
        # The month's last day stands for a day it lacks: how far that month is.
        there = date(year, month, min(day, monthrange(year, month)[1]))
        return abs((there - today).days), there < today

    year = min((today.year - 1, today.year, today.year + 1), key=distance)
    return _date(year, month, day)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def turn_today(context: Context) -> date:
    """The turn's `today` (the tenant's zone, the test's frozen clock); the machine's date
    only where a template is rendered without a turn."""
    today = context.get("today")
    if isinstance(today, str):
        try:
            return date.fromisoformat(today)
        except ValueError:
            pass
    return date.today()
