"""Item shapes of the calendar category (ids and titles) and parsing of their ids.

Shapes (flow-dsl.md, "Calendar connector operations"), ready for `send_dynamic_options`:

* days: ``{"id": "day_2025-03-10", "title": "Mon 10 Mar"}``
* slots: ``{"id": "hour_2025-03-10_1000", "title": "10:00"}`` (and ``"places_left": 3`` with
  ``"description": "3 places left"`` on a calendar with `capacity` above 1)
* appointments: ``{"id": "cancel_appt_<event_id>", "title": "Mon 10 Mar · 10:00 · corte"}``

Titles are in the calendar's language (`texts`; English unless told), built by hand, not with
`strftime`, so they do not depend on the process locale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo

from botfleet.adapters.connectors.calendar.texts import ENGLISH, CalendarTexts
from botfleet.domain.calendar import Appointment

DAY_PREFIX = "day_"
SLOT_PREFIX = "hour_"
CANCEL_PREFIX = "cancel_appt_"

_DAY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SLOT_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{2})(\d{2})$")

Item = dict[str, str]


def day_title(day: date, texts: CalendarTexts = ENGLISH) -> str:
    """``date(2025, 3, 10)`` -> ``"Mon 10 Mar"`` (``"Lun 10 mar"`` in Spanish)."""
    return texts.day_title(day)


def time_title(moment: datetime) -> str:
    """Local wall time ``"HH:MM"`` of an aware or naive local datetime."""
    return f"{moment.hour:02d}:{moment.minute:02d}"


def slot_key(start: datetime) -> str:
    """``YYYY-MM-DD_HHMM`` of a local slot start (the `slot` param of `book_appointment`)."""
    return f"{start.date().isoformat()}_{start.hour:02d}{start.minute:02d}"


def day_items(days: Iterable[date], texts: CalendarTexts = ENGLISH) -> list[Item]:
    return [
        {"id": day_id, "title": title} for day_id, title in map(_day_texts, days, repeat(texts))
    ]


@lru_cache(maxsize=1024)
def _day_texts(day: date, texts: CalendarTexts) -> tuple[str, str]:
    """A day item's id and title (a pure function of the date and language, asked for every day
    offered)."""
    return f"{DAY_PREFIX}{day.isoformat()}", texts.day_title(day)


#: ``"HH:MM"`` and ``"HHMM"`` of each minute of a day (formatting them costs more than a look-up,
#: and a slot list formats many).
_CLOCK_TEXT = [f"{minute // 60:02d}:{minute % 60:02d}" for minute in range(24 * 60)]
_CLOCK_DIGITS = [text.replace(":", "") for text in _CLOCK_TEXT]


def slot_items(starts: Iterable[datetime]) -> list[Item]:
    """Items of local slot starts: what `slot_key` and `time_title` give, for many at once."""
    items: list[Item] = []
    day: date | None = None
    prefix = ""
    for start in starts:
        if start.date() != day:
            day = start.date()
            prefix = f"{SLOT_PREFIX}{day.isoformat()}_"
        minute = start.hour * 60 + start.minute
        items.append({"id": prefix + _CLOCK_DIGITS[minute], "title": _CLOCK_TEXT[minute]})
    return items


def slot_items_with_places(
    places: Iterable[tuple[datetime, int]], texts: CalendarTexts = ENGLISH
) -> list[dict[str, Any]]:
    """`slot_items` of a calendar of places, each item with its ``places_left`` (a number, the
    same in every language) and a ``description`` saying it in `texts`' language ("3 places
    left"), which `send_dynamic_options` shows under the time."""
    places = list(places)
    items: list[dict[str, Any]] = list(slot_items(start for start, _ in places))
    for item, (_, left) in zip(items, places, strict=True):
        item["places_left"] = left
        item["description"] = texts.places(left)
    return items


def appointment_title(
    appointment: Appointment, tz: ZoneInfo, texts: CalendarTexts = ENGLISH
) -> str:
    """``"Mon 10 Mar · 10:00 · corte"`` (the service part is left out when unknown)."""
    start = appointment.start.astimezone(tz)
    parts = [texts.day_title(start.date()), time_title(start)]
    if appointment.label:
        parts.append(appointment.label)
    return " · ".join(parts)


def appointment_items(
    appointments: Iterable[Appointment],
    tz: ZoneInfo,
    *,
    prefix: str = CANCEL_PREFIX,
    texts: CalendarTexts = ENGLISH,
) -> list[Item]:
    """Option items of appointments; `prefix` (default ``cancel_appt_``) starts each id."""
    return [
        {"id": f"{prefix}{a.event_id}", "title": appointment_title(a, tz, texts)}
        for a in appointments
    ]


def appointment_record(
    appointment: Appointment, tz: ZoneInfo, texts: CalendarTexts = ENGLISH
) -> dict[str, Any]:
    """Structured form used by `list_appointments` (all values JSON-ready)."""
    start = appointment.start.astimezone(tz)
    end = appointment.end.astimezone(tz)
    return {
        "event_id": appointment.event_id,
        "date": start.date().isoformat(),
        "time": time_title(start),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "duration_min": appointment.minutes,  # real minutes: `end - start` is wall-clock
        "service": appointment.service_key,
        "service_name": appointment.service_name,
        "contact_id": appointment.contact_id,
        "contact_name": appointment.contact_name,
        "slot": slot_key(start),
        "title": appointment_title(appointment, tz, texts),
    }


@lru_cache(maxsize=1024)
def parse_day(text: str) -> date:
    """``"2025-03-10"`` (or the item id ``"day_2025-03-10"``) -> date; ValueError otherwise."""
    raw = text.strip().removeprefix(DAY_PREFIX)
    if _DAY_RE.match(raw) is None:
        raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD, e.g. 2025-03-10)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a real calendar date") from None


@lru_cache(maxsize=1024)
def parse_slot(text: str) -> datetime:
    """``"2025-03-10_1000"`` (or ``"hour_..."``) -> naive local wall time; ValueError otherwise."""
    raw = text.strip().removeprefix(SLOT_PREFIX)
    match = _SLOT_RE.match(raw)
    if match is None:
        raise ValueError(f"{text!r} is not a slot (expected YYYY-MM-DD_HHMM, e.g. 2025-03-10_1000)")
    day = parse_day(match.group(1))
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} has an impossible time {hour:02d}:{minute:02d}")
    return datetime(day.year, day.month, day.day, hour, minute)


def parse_event_id(text: str) -> str:
    """An event id, also accepted as the item id ``"cancel_appt_<event_id>"``."""
    raw = text.strip().removeprefix(CANCEL_PREFIX)
    if not raw:
        raise ValueError(f"{text!r} is not an event id")
    return raw
