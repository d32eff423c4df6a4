"""The `parse_day` template filter: a day the contact typed, in words or digits, as
`YYYY-MM-DD`, or `""`.

`parse_date` reads only dates written in digits; a contact asked "which day?" as free text
answers "tomorrow", "el viernes" or "10 de mayo" as often. The words are those a list of days
understands (`typed_days`: the platform's languages, all at once), so a flow that checks a
typed day itself (a closed Sunday, a date too far ahead) reads what its menus read.

`parse_day(past=true)` reads days before today as well ("ayer", "el lunes pasado", "1/12" typed
on 7 December), and `day_problem` says why a day typed is no day to book: `"no_such_day"` for a
date no calendar has ("31 de febrero", "31/02"), `"past"` for one before today; without them
both were `""`, as gibberish is, and "1/12" typed on 7 December was next year's.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import pass_context

from botfleet.flows.date_filter import turn_today
from botfleet.flows.typed_days import NO_SUCH_DAY, DayWanted, fold, read_typed_day, typed_day

__all__ = ["day_problem", "parse_day", "read_day", "weekday"]

#: A weekday with a day of the month ("viernes 13") comes round within 28 months (Friday the
#: 31st at worst): months looked at, one date each.
_SEARCH_MONTHS = 40
#: Longer text is no day typed, and is not folded (folding can make text many times longer):
#: `typed_days` itself gives up past 40 characters.
_MAX_TYPED = 80


@pass_context
def parse_day(context: Context, value: Any, past: bool = False) -> str:
    """`{{ message.text | parse_day }}`: the day as `YYYY-MM-DD`, `""` when it is none;
    `parse_day(past=true)` reads days before today too ("ayer", "1/12" six days ago)."""
    if not isinstance(value, str):
        return ""
    found = read_day(value, turn_today(context), past=bool(past))
    return "" if found is None else found.isoformat()


@pass_context
def day_problem(context: Context, value: Any) -> str:
    """`{{ message.text | day_problem }}`: `"no_such_day"` when the text writes a date no
    calendar has ("31 de febrero", "31/02", "30/2/2027", "lunes 10 de mayo" when 10 May is a
    Friday), `"past"` when it names a day before today as `parse_day(past=true)` reads it
    ("ayer", "el lunes pasado", "1/12" typed on 7 December), else `""`: a day from today on,
    or no day at all (`parse_day` tells which)."""
    if not isinstance(value, str) or len(value) > _MAX_TYPED:
        return ""
    today = turn_today(context)
    found = read_typed_day(fold(value), today, past=True)
    if found is NO_SUCH_DAY:
        return NO_SUCH_DAY.value
    day = None if found is None else _day_of(found, today)
    return "past" if day is not None and day < today else ""


def read_day(text: str, today: date, *, past: bool = False) -> date | None:
    """The day `text` names from `today` on, None when it names none. "tomorrow" and "pasado
    mañana" count from `today`; a weekday ("viernes", "this friday") is the first such day from
    `today` on (today itself on a Friday), "next friday" the first after today; a weekday with
    a day of the month ("viernes 13") the first date that is both; a date ("10 de mayo",
    "10/5", "2024-05-10") as `typed_days` reads it. With `past`, days before today too
    ("yesterday", "last friday"; a date without a year the nearest, `typed_days.typed_day`)."""
    if len(text) > _MAX_TYPED:
        return None
    wanted = typed_day(fold(text), today, past=past)
    return None if wanted is None else _day_of(wanted, today)


def _day_of(wanted: DayWanted, today: date) -> date | None:
    if wanted.on is not None:
        return wanted.on
    return _first_accepted(wanted, today)


def _first_accepted(wanted: DayWanted, today: date) -> date | None:
    if wanted.day is None:
        if wanted.weekday is None:
            return None
        return today + timedelta(days=(wanted.weekday - today.weekday()) % 7)
    # Month by month, one date each: a day of the month exists once a month at most.
    year, month = today.year, today.month
    for _ in range(_SEARCH_MONTHS):
        try:
            day = date(year, month, wanted.day)
        except ValueError:  # the 31st of a 30-day month
            day = None
        if day is not None and day >= today and wanted.accepts(day):
            return day
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def weekday(value: Any) -> int | str:
    """`{{ data.day | weekday }}`: the weekday of an ISO date or date-time (`2024-05-12`,
    `2024-05-12T10:00:00+02:00`: its first ten characters), 0 for Monday to 6 for Sunday, as
    `now.weekday()`; `""` for anything else, which no weekday equals."""
    if not isinstance(value, str) or len(value) < 10:
        return ""
    try:
        return date.fromisoformat(value[:10]).weekday()
    except ValueError:
        return ""
