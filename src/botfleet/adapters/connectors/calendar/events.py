"""Calendar events on the wire: booking metadata, Google Calendar JSON and iCalendar (CalDAV).

A booking carries the contact and the service twice, so both people and programs can read it:

* machine-readable: Google ``extendedProperties.private`` (``botfleet_contact``...) or iCalendar
  ``X-BOTFLEET-CONTACT``... properties, plus the idempotency tag of the request that made it;
* in the description, after a ``[botfleet]`` line, as ``key: value`` lines (what staff see in
  their calendar app; also the fallback when a client dropped the properties).

What staff read besides (the description's first line, the title of a booking with no service)
is in the calendar's language (`texts.CalendarTexts`); the ``[botfleet]`` lines never change.

The event id (Google) or UID (CalDAV) of a booking is derived from its idempotency key, so the
same request can never create two events. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from botfleet.adapters.connectors.calendar.slots import BookedEvent
from botfleet.adapters.connectors.calendar.texts import ENGLISH, CalendarTexts
from botfleet.domain.calendar import (
    AllDayEvent,
    Appointment,
    BusyEvent,
    CalendarEvent,
    epoch_micros,
)
from botfleet.domain.instants import elapsed_after

MARKER = "[botfleet]"
#: Description keys, in the order they are written.
_FIELDS = ("contact_id", "contact_name", "service_key", "service_name")
#: Google private extended property of each field, and of the idempotency tag.
GOOGLE_PROPS = {field: f"botfleet_{field}" for field in _FIELDS}
GOOGLE_IDEMPOTENCY = "botfleet_idempotency"
#: iCalendar property of each field, and of the idempotency tag.
ICAL_PROPS = {field: f"X-BOTFLEET-{field.upper().replace('_', '-')}" for field in _FIELDS}
ICAL_IDEMPOTENCY = "X-BOTFLEET-IDEMPOTENCY"


def idempotency_tag(key: str) -> str:
    """A short, opaque stand-in for an idempotency key (keys hold contact ids)."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def event_id_for_key(key: str) -> str:
    """The event id / UID of the booking made by request `key` (lowercase hex: valid for both
    Google's base32hex ids and CalDAV UIDs)."""
    return f"bf{idempotency_tag(key)}"


def new_event_id() -> str:
    """A fresh event id for a booking made without an idempotency key."""
    return f"bf{uuid.uuid4().hex}"


# ---------------------------------------------------------------- metadata


def _one_line(value: str) -> str:
    return " ".join(value.split())


def booking_fields(appointment: Appointment) -> dict[str, str]:
    return {
        "contact_id": _one_line(appointment.contact_id),
        "contact_name": _one_line(appointment.contact_name),
        "service_key": _one_line(appointment.service_key),
        "service_name": _one_line(appointment.service_name),
    }


def summary(appointment: Appointment, texts: CalendarTexts = ENGLISH) -> str:
    """Event title staff read: ``"Haircut · Ana"`` (``"Cita · Ana"`` without a service, in
    Spanish)."""
    who = appointment.contact_name or appointment.contact_id
    return f"{appointment.label or texts.event_title} · {who}"


def description(appointment: Appointment, texts: CalendarTexts = ENGLISH) -> str:
    fields = booking_fields(appointment)
    lines = [f"{key}: {value}" for key, value in fields.items() if value]
    return "\n".join([texts.event_note, "", MARKER, *lines])


def parse_description(text: str) -> dict[str, str]:
    """The ``key: value`` lines after the ``[botfleet]`` marker (empty when there is none)."""
    found: dict[str, str] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    try:
        start = [line.strip() for line in lines].index(MARKER) + 1
    except ValueError:
        return found
    for line in lines[start:]:
        key, sep, value = line.partition(":")
        if not sep or key.strip() not in _FIELDS:
            break
        found[key.strip()] = value.strip()
    return found


def _appointment(
    fields: Mapping[str, str], event_id: str, start: datetime, end: datetime
) -> Appointment | None:
    contact = fields.get("contact_id", "")
    if not contact:
        return None  # not a booking made through the bot
    return Appointment(
        event_id=event_id,
        contact_id=contact,
        start=start,
        end=end,
        service_key=fields.get("service_key", ""),
        contact_name=fields.get("contact_name", ""),
        service_name=fields.get("service_name", ""),
    )


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


# ---------------------------------------------------------------- Google Calendar JSON


def google_time(moment: datetime, tz: ZoneInfo) -> dict[str, str]:
    """``{"dateTime": ..., "timeZone": ...}`` of an instant, written in the calendar's zone."""
    return {"dateTime": moment.astimezone(tz).isoformat(), "timeZone": tz.key}


def google_body(
    appointment: Appointment,
    tz: ZoneInfo,
    *,
    idempotency_key: str,
    texts: CalendarTexts = ENGLISH,
) -> dict[str, Any]:
    """The `events.insert` body of a booking (its id comes from the idempotency key; what staff
    read besides the fields, in `texts`' language)."""
    private = {GOOGLE_PROPS[k]: v for k, v in booking_fields(appointment).items() if v}
    if idempotency_key:
        private[GOOGLE_IDEMPOTENCY] = idempotency_tag(idempotency_key)
    return {
        "id": event_id_for_key(idempotency_key) if idempotency_key else new_event_id(),
        "summary": summary(appointment, texts),
        "description": description(appointment, texts),
        "start": google_time(appointment.start, tz),
        "end": google_time(appointment.end, tz),
        "transparency": "opaque",
        "extendedProperties": {"private": private},
    }


def _google_moment(value: Mapping[str, Any], tz: ZoneInfo) -> datetime | date:
    if "dateTime" in value:
        moment = datetime.fromisoformat(str(value["dateTime"]))
        zone = value.get("timeZone")
        return _aware(moment, ZoneInfo(zone) if zone else tz)
    return date.fromisoformat(str(value["date"]))


def _google_parsed(item: Mapping[str, Any], tz: ZoneInfo) -> CalendarEvent | None:
    """An item's times and title, free or busy alike; None for cancelled or shapeless ones."""
    if item.get("status") == "cancelled":
        return None
    start = _google_moment(item.get("start", {}), tz)
    end = _google_moment(item.get("end", {}), tz)
    title = str(item.get("summary", ""))
    event_id = str(item.get("id", ""))
    if isinstance(start, datetime) and isinstance(end, datetime):
        return _busy(start, end, title, event_id)
    if isinstance(start, date) and isinstance(end, date) and end > start:
        return AllDayEvent(start, end, title=title, event_id=event_id)
    return None


def _busy(start: datetime, end: datetime, title: str, event_id: str) -> BusyEvent:
    """A timed event; one that ends before it starts (a CalDAV server may keep such an event,
    or a negative DURATION) blocks the time between its two ends. Refused, it would fail every
    read of the calendar, so nobody could book; skipped, a booking could land on it."""
    if epoch_micros(end) < epoch_micros(start):
        start, end = end, start
    return BusyEvent(start, end, title=title, event_id=event_id)


def _declined(item: Mapping[str, Any]) -> bool:
    """Whether the calendar's own attendee entry (``self``) declined the invitation: Google
    lists such an event, but it holds no time, as free/busy says."""
    attendees = item.get("attendees")
    if not isinstance(attendees, list):
        return False
    return any(
        isinstance(a, Mapping) and a.get("self") is True and a.get("responseStatus") == "declined"
        for a in attendees
    )


def google_event(item: Mapping[str, Any], tz: ZoneInfo) -> CalendarEvent | None:
    """An `events.list` item as a slot-rule event; None for cancelled, "free" or declined timed
    events. A booking made through the bot is a `BookedEvent` (one place of a class)."""
    event = _google_parsed(item, tz)
    if not isinstance(event, BusyEvent):
        return event
    if item.get("transparency") == "transparent" or _declined(item):
        return None
    private = item.get("extendedProperties", {}).get("private", {})
    contact = private.get(GOOGLE_PROPS["contact_id"]) or _described_contact(item.get("description"))
    return _booked(event, str(contact)) if contact else event


def _described_contact(text: Any) -> str:
    """The contact of a booking's description (its ``[botfleet]`` lines), else ``""``."""
    return parse_description(str(text)).get("contact_id", "") if text else ""


def _booked(event: BusyEvent, contact: str) -> BookedEvent:
    return BookedEvent(
        event.start, event.end, title=event.title, event_id=event.event_id, contact_id=contact
    )


def google_appointment(item: Mapping[str, Any], tz: ZoneInfo) -> Appointment | None:
    """A booking made through the bot, or None (someone else's event, cancelled, all-day).

    Shown as free or busy alike: staff mark a booking "free" to fit someone in beside it (a
    colour's processing time), and it stays the contact's to see, cancel and move.
    """
    event = _google_parsed(item, tz)
    if not isinstance(event, BusyEvent):
        return None
    private = item.get("extendedProperties", {}).get("private", {})
    fields = parse_description(str(item.get("description", "")))
    fields.update({k: str(private[p]) for k, p in GOOGLE_PROPS.items() if private.get(p)})
    return _appointment(fields, event.event_id, event.start, event.end)


def google_deleted_appointment(item: Mapping[str, Any], tz: ZoneInfo) -> Appointment | None:
    """A booking made through the bot that was deleted, as `events.get` still answers it
    (``status: cancelled``), else None. Google guarantees only a deleted event's ``id``: one
    that no longer carries its times or its contact is None too."""
    if item.get("status") != "cancelled":
        return None
    start, end = item.get("start"), item.get("end")
    if not isinstance(start, Mapping) or not isinstance(end, Mapping):
        return None
    try:
        return google_appointment({**item, "status": "confirmed"}, tz)
    except (KeyError, TypeError, ValueError):  # times left half-written: nothing to go on
        return None


# ---------------------------------------------------------------- iCalendar (CalDAV)


def _ical_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _ical_x_text(value: Any) -> str:
    """An ``X-`` property's text: icalendar keeps unknown properties raw (still escaped)."""
    if type(value).__name__ == "vText":  # already unescaped
        return str(value)
    out: list[str] = []
    chars = iter(str(value))
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in "nN" and nxt else nxt)
        else:
            out.append(char)
    return "".join(out)


def _ical_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ical_text(
    appointment: Appointment,
    *,
    uid: str,
    idempotency_key: str,
    now: datetime,
    texts: CalendarTexts = ENGLISH,
) -> str:
    """A VCALENDAR holding the booking as one VEVENT (times in UTC: no VTIMEZONE needed; what
    staff read besides the fields, in `texts`' language)."""
    props = [
        ("UID", uid),
        ("DTSTAMP", _ical_utc(now)),
        ("DTSTART", _ical_utc(appointment.start)),
        ("DTEND", _ical_utc(appointment.end)),
        ("SUMMARY", _ical_escape(summary(appointment, texts))),
        ("DESCRIPTION", _ical_escape(description(appointment, texts))),
        ("TRANSP", "OPAQUE"),
    ]
    props += [(ICAL_PROPS[k], _ical_escape(v)) for k, v in booking_fields(appointment).items() if v]
    if idempotency_key:
        props.append((ICAL_IDEMPOTENCY, idempotency_tag(idempotency_key)))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//botfleet//calendar connector//EN",
        "BEGIN:VEVENT",
        *(f"{name}:{value}" for name, value in props),
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def _ical_times(component: Any, tz: ZoneInfo) -> tuple[datetime | date, datetime | date]:
    start = component.decoded("dtstart")
    if isinstance(start, datetime):
        start = _aware(start, tz)
    if "dtend" in component:
        end = component.decoded("dtend")
    elif "duration" in component:
        end = _after(start, component.decoded("duration"))
    else:  # RFC 5545: a date lasts one day, a date-time has no duration
        end = start + timedelta(days=1) if not isinstance(start, datetime) else start
    if isinstance(end, datetime):
        end = _aware(end, tz)
    return start, end


def _after(start: datetime | date, duration: timedelta) -> datetime | date:
    """`start` + an iCalendar DURATION. RFC 5545 (3.3.6): days and weeks are nominal, the same
    wall time on a later date; hours, minutes and seconds are exact, elapsed time. Python's
    `+` on a zone's time is all wall-clock, so ``PT2H`` from 01:30 on the night the clocks go
    forward would end at 03:30, one real hour later.

    The parsed duration no longer tells ``PT24H`` from ``P1D`` (`timedelta` folds hours into
    days), so whole days count as nominal: only a duration of 24 hours or more written in
    hours, across a change, ends an hour off.
    """
    if not isinstance(start, datetime):
        return start + duration
    days = timedelta(days=duration.days)
    return elapsed_after(start + days, duration - days)


def _ical_parsed(component: Any, tz: ZoneInfo) -> CalendarEvent | None:
    """A VEVENT's times and title, free or busy alike; None for cancelled or shapeless ones."""
    if str(component.get("status", "")).upper() == "CANCELLED":
        return None
    start, end = _ical_times(component, tz)
    title = str(component.get("summary", ""))
    uid = str(component.get("uid", ""))
    if isinstance(start, datetime) and isinstance(end, datetime):
        return _busy(start, end, title, uid)
    if not isinstance(start, datetime) and not isinstance(end, datetime) and end > start:
        return AllDayEvent(start, end, title=title, event_id=uid)
    return None


def calendar_user_address(value: str) -> str:
    """A calendar user address (an ATTENDEE's value, an entry of a principal's
    ``calendar-user-address-set``) in the form compared: a ``mailto:`` address lowercased,
    scheme and address alike (mail systems treat them so), any other URI as written."""
    address = value.strip()
    if address[:7].lower() == "mailto:":
        return f"mailto:{address[7:].strip().lower()}"
    return address


def _ical_answers(component: Any) -> list[tuple[str, str]]:
    """``(address, PARTSTAT)`` of each ATTENDEE (RFC 5545: no PARTSTAT is NEEDS-ACTION)."""
    found = component.get("attendee", [])
    attendees = found if isinstance(found, list) else [found]
    return [
        (
            calendar_user_address(str(attendee)),
            str(getattr(attendee, "params", {}).get("PARTSTAT", "NEEDS-ACTION")).upper(),
        )
        for attendee in attendees
    ]


def ical_has_declines(component: Any) -> bool:
    """Whether any ATTENDEE of the VEVENT declined it (``PARTSTAT=DECLINED``)."""
    return any(answer == "DECLINED" for _, answer in _ical_answers(component))


def _ical_declined(component: Any, own: frozenset[str]) -> bool:
    """Whether the calendar itself declined the invitation: it is an ATTENDEE under one of its
    `own` addresses and every such entry says DECLINED (an alias that accepted still holds the
    time). Another guest declining frees nothing."""
    answers = [answer for address, answer in _ical_answers(component) if address in own]
    return bool(answers) and all(answer == "DECLINED" for answer in answers)


def ical_event(
    component: Any, tz: ZoneInfo, *, own: frozenset[str] = frozenset()
) -> CalendarEvent | None:
    """A VEVENT (icalendar component) as a slot-rule event; None for cancelled, "free" or
    declined timed events. A booking made through the bot is a `BookedEvent`.

    Args:
        component: the VEVENT.
        tz: the zone of floating times.
        own: the calendar's own addresses (`calendar_user_address` form): an invitation it
            declined under one of them holds no time. Empty: no invitation counts as declined.
    """
    event = _ical_parsed(component, tz)
    if not isinstance(event, BusyEvent):
        return event
    if str(component.get("transp", "")).upper() == "TRANSPARENT" or (
        own and _ical_declined(component, own)
    ):
        return None
    prop = component.get(ICAL_PROPS["contact_id"])
    contact = _ical_x_text(prop) if prop else _described_contact(component.get("description"))
    return _booked(event, contact) if contact else event


def ical_appointment(component: Any, tz: ZoneInfo) -> Appointment | None:
    """A booking made through the bot (shown as free or busy alike), or None."""
    event = _ical_parsed(component, tz)
    if not isinstance(event, BusyEvent):
        return None
    fields = parse_description(str(component.get("description", "")))
    fields.update(
        {k: _ical_x_text(component[p]) for k, p in ICAL_PROPS.items() if component.get(p)}
    )
    return _appointment(fields, event.event_id, event.start, event.end)


def ical_idempotency(component: Any) -> str:
    return _ical_x_text(component.get(ICAL_IDEMPOTENCY, ""))
