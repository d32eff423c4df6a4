"""`mock_calendar`: a calendar kept in memory, implementing every operation of the category.

It is the dev/demo back end and the reference the other back ends are compared with: the
operations are `CalendarService`'s, shared with Google Calendar and CalDAV, over a store that
keeps events and bookings in memory. `reschedule_appointment` keeps the appointment's
`event_id`.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections import UserDict
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from botfleet.adapters.connectors.calendar.config import (
    CalendarSettings,
    MockCalendarSettings,
    SeedEvent,
    with_tenant_timezone,
)
from botfleet.adapters.connectors.calendar.service import (
    CATEGORY,
    NOT_FOUND,
    SLOT_TAKEN,
    SLOT_UNAVAILABLE,
    CalendarService,
)
from botfleet.domain.calendar import (
    AllDayEvent,
    Appointment,
    BusyEvent,
    CalendarEvent,
    epoch_micros,
)
from botfleet.ports.clock import Clock

__all__ = [
    "CATEGORY",
    "NOT_FOUND",
    "SLOT_TAKEN",
    "SLOT_UNAVAILABLE",
    "InMemoryCalendar",
    "InMemoryCalendarStore",
    "build",
    "seed_event",
]


class _Bookings(UserDict[str, Appointment]):
    """The bookings by event id, counting changes so the store's index knows when to rebuild
    (tests and staff-like edits change the mapping directly). Every mutation of a `UserDict`
    (`pop`, `update`, `clear`...) goes through these two methods."""

    changes = 0

    def __setitem__(self, key: str, value: Appointment) -> None:
        self.changes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changes += 1
        super().__delitem__(key)


@dataclass(frozen=True, slots=True)
class _Index:
    """Busy events (seed events and bookings) sorted by start, as integer microseconds, so a
    range query bisects instead of converting and comparing every booking ever made."""

    version: tuple[int, int]
    starts: list[int]
    ends: list[int]
    busy: list[BusyEvent]
    longest: int
    all_day: list[AllDayEvent]

    def between(self, start: datetime, end: datetime) -> list[BusyEvent]:
        low, high = epoch_micros(start), epoch_micros(end)
        first = bisect_left(self.starts, low - self.longest)
        last = bisect_left(self.starts, high)
        return [self.busy[i] for i in range(first, last) if self.ends[i] > low]


class InMemoryCalendarStore:
    """Events and bookings in memory. Satisfies `CalendarStore`."""

    def __init__(self, events: Iterable[CalendarEvent] = ()) -> None:
        self.events: list[CalendarEvent] = list(events)
        self.bookings: MutableMapping[str, Appointment] = _Bookings()
        self._keys: dict[str, str] = {}  # idempotency key -> event id
        self._ids = itertools.count(1)
        self._index: _Index | None = None

    def _indexed(self) -> _Index:
        changes = self.bookings.changes if isinstance(self.bookings, _Bookings) else -1
        version = (changes, len(self.events))
        if self._index is None or self._index.version != version or changes < 0:
            busy = [e for e in self.events if isinstance(e, BusyEvent)]
            busy += [a.as_busy_event() for a in self.bookings.values()]
            keyed = sorted([(e.span, e) for e in busy], key=lambda k: k[0])
            self._index = _Index(
                version=version,
                starts=[span[0] for span, _ in keyed],
                ends=[span[1] for span, _ in keyed],
                busy=[event for _, event in keyed],
                longest=max((span[1] - span[0] for span, _ in keyed), default=0),
                all_day=[e for e in self.events if isinstance(e, AllDayEvent)],
            )
        return self._index

    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        index = self._indexed()
        first, last = start.date(), end.date()
        all_day = [e for e in index.all_day if e.end > first and e.start <= last]
        return [*all_day, *index.between(start, end)]

    async def appointments_from(self, contact_id: str, start: datetime) -> list[Appointment]:
        return [a for a in self.bookings.values() if a.contact_id == contact_id and a.end > start]

    async def appointment(self, event_id: str) -> Appointment | None:
        return self.bookings.get(event_id)

    async def booking_for_key(self, idempotency_key: str) -> Appointment | None:
        event_id = self._keys.get(idempotency_key)
        return None if event_id is None else self.bookings.get(event_id)

    async def busy_between(
        self, start: datetime, end: datetime, *, ignore: str | None = None
    ) -> list[BusyEvent]:
        found = self._indexed().between(start, end)
        return [e for e in found if ignore is None or e.event_id != ignore]

    async def create(self, appointment: Appointment, idempotency_key: str) -> Appointment:
        created = replace(appointment, event_id=f"mem{next(self._ids)}")
        self.bookings[created.event_id] = created
        if idempotency_key:
            self._keys[idempotency_key] = created.event_id
        return created

    async def delete(self, event_id: str) -> bool:
        return self.bookings.pop(event_id, None) is not None

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        moved = replace(appointment, start=start, end=end)
        self.bookings[moved.event_id] = moved
        return moved


class InMemoryCalendar(CalendarService):
    """The tenant's calendar, in memory. Satisfies `botfleet.ports.connectors.Connector`."""

    def __init__(
        self,
        settings: CalendarSettings,
        *,
        clock: Clock,
        events: Iterable[CalendarEvent] = (),
    ) -> None:
        self.memory = InMemoryCalendarStore(events)
        super().__init__(settings, self.memory, clock=clock)

    @property
    def appointments(self) -> tuple[Appointment, ...]:
        """Every appointment, ordered by start."""
        return tuple(sorted(self.memory.bookings.values(), key=lambda a: a.start))

    def add_event(self, event: CalendarEvent) -> None:
        """Add a busy or all-day event, as staff would in their calendar app."""
        self.memory.events.append(event)


def seed_event(seed: SeedEvent, settings: CalendarSettings) -> CalendarEvent:
    """A settings `busy` entry as a domain event (naive times read in the calendar's zone)."""
    if seed.day is not None:
        end_day = seed.end_day or seed.day + timedelta(days=1)
        return AllDayEvent(seed.day, end_day, title=seed.title)
    assert seed.start is not None and seed.end is not None  # guaranteed by SeedEvent
    return BusyEvent(_aware(seed.start, settings), _aware(seed.end, settings), title=seed.title)


def _aware(moment: datetime, settings: CalendarSettings) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=settings.tz)


def build(settings: Mapping[str, Any], *, timezone: str, clock: Clock) -> InMemoryCalendar:
    """The `mock_calendar` connector from raw tenant settings.

    Raises:
        pydantic.ValidationError: the settings are invalid (the caller reports a config error).
    """
    parsed = MockCalendarSettings.model_validate(
        {"type": "mock_calendar", **with_tenant_timezone(settings, timezone)}
    )
    return InMemoryCalendar(
        parsed, clock=clock, events=[seed_event(s, parsed) for s in parsed.busy]
    )
