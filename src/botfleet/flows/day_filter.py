"""The `parse_day` template filter: a day the contact typed, in words or digits, as
`YYYY-MM-DD`, or `""`.

`parse_date` reads only dates written in digits; a contact asked "which day?" as free text
answers "tomorrow", "el viernes" or "10 de mayo" as often. The words are those a list of days
understands (`typed_days`: the platform's languages, all at once), so a flow that checks a
typed day itself (a closed Sunday, a date too far ahead) reads what its menus read.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from jinja2.runtime import Context
from jinja2.utils import pass_context

from botfleet.flows.date_filter import turn_today
from botfleet.flows.typed_days import DayWanted, fold, typed_day

__all__ = ["parse_day", "read_day", "weekday"]

#: A weekday with a day of the month ("viernes 13") comes round within 28 months (Friday the
#: 31st at worst): months looked at, one date each.
_SEARCH_MONTHS = 40
#: Longer text is no day typed, and is not folded (folding can make text many times longer):
#: `typed_days` itself gives up past 40 characters.
_MAX_TYPED = 80


@pass_context
def parse_day(context: Context, value: Any) -> str:
    """`{{ message.text | parse_day }}`: the day as `YYYY-MM-DD`, `""` when it is none."""
    if not isinstance(value, str):
        return ""
    found = read_day(value, turn_today(context))
    return "" if found is None else found.isoformat()


def read_day(text: str, today: date) -> date | None:
    """The day `text` names from `today` on, None when it names none. "tomorrow" and "pasado
    mañana" count from `today`; a weekday ("viernes", "this friday") is the first such day from
    `today` on (today itself on a Friday), "next friday" the first after today; a weekday with
    a day of the month ("viernes 13") the first date that is both; a date ("10 de mayo",
    "10/5", "2024-05-10") as `typed_days` reads it."""
    if len(text) > _MAX_TYPED:
        return None
    wanted = typed_day(fold(text), today)
    if wanted is None:
        return None
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
