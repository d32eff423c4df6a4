"""`mock_calendar`: a calendar kept in memory, implementing every operation of the category.

It is the dev/demo back end and the reference the other back ends are compared with: the
operations are `CalendarService`'s, shared with Google Calendar and CalDAV, over a store that
keeps events and bookings in memory. `reschedule_appointment` keeps the appointment's
`event_id`. The bookings it cancelled are remembered (the last 4096, `cancelled.py`), so a
cancel repeated with its answer lost is still a success, as on Google Calendar; staff-like
removals (a test deleting from `bookings`) are not, and answer `not_found`.

Event ids are ``mem1``, ``mem2``... with a suffix that keeps them apart from other calendars'
ids: under the system clock (a data plane, served) a random one per calendar built
(``mem1-3fa9c2e1``), so two bindings, or the same one after a restart (which forgets its
bookings but not the reminders keyed by their ids), never hand out the same id; under a test's
clock the binding's name (``mem1`` for `calendar`, ``mem1-hatha`` for `calendar.hatha`), so
tests and `botfleet test` see the same ids on every run.
"""

from __future__ import annotations

import itertools
import secrets
from bisect import bisect_left, bisect_right
from collections import Counter, UserDict
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import replace
from datetime import datetime, timedelta
from operator import is_
from typing import Any

import structlog

from botfleet.adapters.connectors.calendar.cancelled import CancelledBookings
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
from botfleet.adapters.connectors.calendar.slots import BusySpans, PreparedEvents, booked_event
from botfleet.adapters.connectors.calendar.store import EventGone
from botfleet.domain.calendar import (
    AllDayEvent,
    Appointment,
    BusyEvent,
    CalendarEvent,
    epoch_micros,
)
from botfleet.flows.connector_names import SEPARATOR
from botfleet.ports.clock import Clock, SystemClock

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

log = structlog.get_logger("botfleet.connectors.calendar")


class _Spans:
    """Busy events sorted by start, as integer microseconds, so a range query bisects instead
    of converting and comparing every event. Kept up to date one event at a time."""

    __slots__ = ("ends", "events", "lengths", "longest", "spans", "starts")

    def __init__(self, events: Iterable[BusyEvent] = ()) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.events: list[BusyEvent] = []
        self.spans: list[tuple[int, int]] = []  # the events' spans
        self.lengths: Counter[int] = Counter()  # how many events last each length
        self.longest = 0
        for event in sorted(events, key=lambda e: e.span):
            self.add(event)

    def add(self, event: BusyEvent) -> None:
        start, end = event.span
        at = bisect_right(self.starts, start)
        self.starts.insert(at, start)
        self.ends.insert(at, end)
        self.events.insert(at, event)
        self.spans.insert(at, event.span)
        self.lengths[end - start] += 1
        self.longest = max(self.longest, end - start)

    def remove(self, event: BusyEvent) -> None:
        at = bisect_left(self.starts, event.span[0])
        while self.events[at] is not event:
            at += 1
        start, end = event.span
        del self.starts[at], self.ends[at], self.events[at], self.spans[at]
        self.lengths[end - start] -= 1
        if not self.lengths[end - start]:
            del self.lengths[end - start]
            self.longest = max(self.lengths, default=0)

    def between(self, low: int, high: int) -> list[BusyEvent]:
        """The events that overlap ``(low, high)``, in start order."""
        first = bisect_left(self.starts, low - self.longest)
        last = bisect_left(self.starts, high)
        ends, events = self.ends, self.events
        return [events[i] for i in range(first, last) if ends[i] > low]

    def window(
        self, low: int, high: int
    ) -> tuple[list[BusyEvent], list[tuple[int, int]], list[int]]:
        """`between`, and the spans and starts of those events in the same order."""
        starts, spans, events = self.starts, self.spans, self.events
        first = bisect_left(starts, low - self.longest)
        last = bisect_left(starts, high)
        # From `inside` on an event starts after `low`, so it also ends after it.
        inside = bisect_right(starts, low, first, last)
        if first == inside:
            return events[inside:last], spans[inside:last], starts[inside:last]
        ends = self.ends
        head = [i for i in range(first, inside) if ends[i] > low]
        return (
            [events[i] for i in head] + events[inside:last],
            [spans[i] for i in head] + spans[inside:last],
            [starts[i] for i in head] + starts[inside:last],
        )


class _Bookings(UserDict[str, Appointment]):
    """The bookings by event id. Every mutation of a `UserDict` (`pop`, `update`, `clear`...)
    goes through `__setitem__` and `__delitem__`, which keep two indexes in step with the
    mapping: the bookings' busy spans (`spans`) and each contact's bookings (`of_contact`), so
    tests and staff-like edits that change the mapping directly are indexed like the bot's
    writes. A write updates them in place; no read rebuilds or converts anything."""

    def __init__(self, initial: Mapping[str, Appointment] | None = None) -> None:
        self.spans = _Spans()
        self._busy: dict[str, BusyEvent] = {}  # event id -> its entry in `spans`
        self._by_contact: dict[str, dict[str, None]] = {}  # contact -> event ids, in order
        super().__init__(initial)

    def copy(self) -> _Bookings:
        return _Bookings(self.data)  # indexes of its own (UserDict's copy would share them)

    __copy__ = copy

    def __setitem__(self, key: str, value: Appointment) -> None:
        old = self.data.get(key)
        super().__setitem__(key, value)
        if old is not None:
            self.spans.remove(self._busy[key])
        busy = self._busy[key] = booked_event(value)
        self.spans.add(busy)
        if old is None:
            self._by_contact.setdefault(value.contact_id, {})[key] = None
        elif old.contact_id != value.contact_id:
            self._unlist(old.contact_id, key)
            # kept in the order of the mapping, which a changed value does not move
            mapping = self.data.items()
            listed = {k: None for k, a in mapping if a.contact_id == value.contact_id}
            self._by_contact[value.contact_id] = listed

    def __delitem__(self, key: str) -> None:
        old = self.data[key]
        super().__delitem__(key)
        self.spans.remove(self._busy.pop(key))
        self._unlist(old.contact_id, key)

    def _unlist(self, contact_id: str, key: str) -> None:
        listed = self._by_contact[contact_id]
        del listed[key]
        if not listed:
            del self._by_contact[contact_id]

    def of_contact(self, contact_id: str) -> list[Appointment]:
        """The contact's bookings, in the mapping's order."""
        return [self.data[key] for key in self._by_contact.get(contact_id, ())]


class InMemoryCalendarStore:
    """Events and bookings in memory. Satisfies `CalendarStore`.

    `events` (seed and staff events) is a plain list: its index is rebuilt whenever the list
    no longer holds the same events. `bookings` indexes itself on every change; assigning
    another mapping to it works too, and then every read scans it. `events_between` hands the
    slot rules their `BusySpans` taken from the indexes (`slots.PreparedEvents`)."""

    def __init__(self, events: Iterable[CalendarEvent] = (), *, id_suffix: str = "") -> None:
        self.events: list[CalendarEvent] = list(events)
        self.bookings: MutableMapping[str, Appointment] = _Bookings()
        self._keys: dict[str, str] = {}  # idempotency key -> event id
        self._key_of: dict[str, str] = {}  # event id -> its idempotency key
        self._cancelled = CancelledBookings()  # what `delete` removed
        self._ids = itertools.count(1)
        self._id_suffix = id_suffix  # `event_id_suffix`
        self._events_index: tuple[list[CalendarEvent], _Spans, list[AllDayEvent]] | None = None

    def _events_indexed(self) -> tuple[_Spans, list[AllDayEvent]]:
        index = self._events_index
        events = self.events
        # Rebuilt unless the list holds the very same (frozen) events: the snapshot keeps them
        # alive, so no new event can take an old one's identity.
        if index is None or len(index[0]) != len(events) or not all(map(is_, index[0], events)):
            busy = _Spans(e for e in events if isinstance(e, BusyEvent))
            all_day = [e for e in events if isinstance(e, AllDayEvent)]
            index = self._events_index = (list(events), busy, all_day)
        return index[1], index[2]

    def _busy(self, start: datetime, end: datetime) -> list[BusyEvent]:
        low, high = epoch_micros(start), epoch_micros(end)
        found = self._events_indexed()[0].between(low, high)
        bookings = self.bookings
        if isinstance(bookings, _Bookings):
            return found + bookings.spans.between(low, high)
        scanned = (booked_event(a) for a in bookings.values())
        return found + [e for e in scanned if e.span[1] > low and e.span[0] < high]

    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        first, last = start.date(), end.date()
        staff, all_day_events = self._events_indexed()
        all_day = [e for e in all_day_events if e.end > first and e.start <= last]
        bookings = self.bookings
        if not isinstance(bookings, _Bookings):
            return [*all_day, *self._busy(start, end)]
        # The slot rules' `BusySpans` straight from the indexes (each one's `longest` bounds
        # its spans' lengths).
        low, high = epoch_micros(start), epoch_micros(end)
        found, spans, starts = staff.window(low, high)
        booked, booked_spans, booked_starts = bookings.spans.window(low, high)
        if found:
            found += booked
            spans += booked_spans
            spans.sort()
            starts = [begins for begins, _ in spans]
        else:
            found, spans, starts = booked, booked_spans, booked_starts
            spans.sort()  # (as `BusySpans.of` does: equal starts by end; `starts` is the same)
        longest = max(staff.longest, bookings.spans.longest)
        busy = BusySpans(spans, starts, longest, tuple(all_day))
        return PreparedEvents([*all_day, *found], busy)

    async def appointments_from(
        self, contact_id: str, start: datetime, end: datetime | None = None
    ) -> list[Appointment]:
        """As the port says; without `end` (direct callers, tests) there is no upper bound."""
        # Compared as instants: in the repeated hour of a change to winter time, two times of
        # the tenant's zone compare by their wall clock, not by which comes first.
        low = epoch_micros(start)
        bookings = self.bookings
        if isinstance(bookings, _Bookings):
            mine = [a for a in bookings.of_contact(contact_id) if epoch_micros(a.end) > low]
        else:
            mine = [
                a
                for a in bookings.values()
                if a.contact_id == contact_id and epoch_micros(a.end) > low
            ]
        if end is None:
            return mine
        high = epoch_micros(end)  # (`Appointment.starts_before`, `end` converted once)
        return [a for a in mine if epoch_micros(a.start) < high]

    async def appointment(self, event_id: str) -> Appointment | None:
        return self.bookings.get(event_id)

    async def cancelled(self, event_id: str) -> Appointment | None:
        return None if event_id in self.bookings else self._cancelled.get(event_id)

    async def booking_for_key(self, idempotency_key: str) -> Appointment | None:
        event_id = self._keys.get(idempotency_key)
        return None if event_id is None else self.bookings.get(event_id)

    async def busy_between(
        self, start: datetime, end: datetime, *, ignore: str | None = None
    ) -> list[BusyEvent]:
        found = self._busy(start, end)
        return [e for e in found if ignore is None or e.event_id != ignore]

    async def create(self, appointment: Appointment, idempotency_key: str) -> Appointment:
        created = replace(appointment, event_id=f"mem{next(self._ids)}{self._id_suffix}")
        self.bookings[created.event_id] = created
        if idempotency_key:
            self._keys[idempotency_key] = created.event_id
            self._key_of[created.event_id] = idempotency_key
        return created

    async def delete(self, event_id: str) -> bool:
        removed = self.bookings.pop(event_id, None)
        if removed is None:
            return False
        # Its key finds nothing any more (`booking_for_key` reads `bookings`); kept, every
        # booking ever cancelled left an entry for the process's life (found by bench/soak.py).
        key = self._key_of.pop(event_id, None)
        if key is not None and self._keys.get(key) == event_id:
            del self._keys[key]
        self._cancelled.remember(removed)
        return True

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        if appointment.event_id not in self.bookings:
            # Removed meanwhile (staff, a test): writing it back would resurrect it.
            raise EventGone("the appointment disappeared while it was being moved")
        moved = replace(appointment, start=start, end=end)
        self.bookings[moved.event_id] = moved
        return moved


class InMemoryCalendar(CalendarService):
    """The tenant's calendar, in memory. Satisfies `botfleet.ports.connectors.Connector`."""

    inline_writes = True  # its store never suspends (tests may slow it down: still fine)

    def __init__(
        self,
        settings: CalendarSettings,
        *,
        clock: Clock,
        events: Iterable[CalendarEvent] = (),
        binding: str = "calendar",
    ) -> None:
        self.memory = InMemoryCalendarStore(events, id_suffix=event_id_suffix(clock, binding))
        super().__init__(settings, self.memory, clock=clock)
        self.binding = binding
        # Said at the first call, not when built: `botfleet validate` builds the tenant's
        # connectors on the system clock too, and its output (JSON for editors) must stay clean.
        self._warn_not_kept = isinstance(clock, SystemClock)

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if self._warn_not_kept:
            self._warn_not_kept = False
            log.warning(
                "mock_calendar_bookings_not_kept",
                connector=self.binding,
                hint="an in-memory calendar forgets every booking when the process stops, "
                "while the scheduled tasks (reminders) are kept; bind google_calendar or "
                "caldav for bookings that last",
            )
        return await super().call(operation, params, idempotency_key=idempotency_key)

    @property
    def appointments(self) -> tuple[Appointment, ...]:
        """Every appointment, ordered by start."""
        return tuple(sorted(self.memory.bookings.values(), key=lambda a: epoch_micros(a.start)))

    def add_event(self, event: CalendarEvent) -> None:
        """Add a busy or all-day event, as staff would in their calendar app."""
        self.memory.events.append(event)


def event_id_suffix(clock: Clock, binding: str) -> str:
    """What follows ``mem<n>`` in the event ids of the calendar bound as `binding`: random
    under the system clock (unique across bindings and restarts), else the binding's name after
    its category (none for the category's own binding), the same on every run of a test."""
    if isinstance(clock, SystemClock):
        return f"-{secrets.token_hex(4)}"
    _, _, name = binding.partition(SEPARATOR)
    return f"-{name}" if name else ""


def seed_event(seed: SeedEvent, settings: CalendarSettings) -> CalendarEvent:
    """A settings `busy` entry as a domain event (naive times read in the calendar's zone)."""
    if seed.day is not None:
        end_day = seed.end_day or seed.day + timedelta(days=1)
        return AllDayEvent(seed.day, end_day, title=seed.title)
    assert seed.start is not None and seed.end is not None  # guaranteed by SeedEvent
    return BusyEvent(_aware(seed.start, settings), _aware(seed.end, settings), title=seed.title)


def _aware(moment: datetime, settings: CalendarSettings) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=settings.tz)


def build(
    settings: Mapping[str, Any], *, timezone: str, clock: Clock, binding: str = "calendar"
) -> InMemoryCalendar:
    """The `mock_calendar` connector from raw tenant settings.

    Args:
        settings: the raw `connectors.calendar` mapping.
        timezone: the tenant's time zone (used when the settings give none).
        clock: the runtime's clock; the system clock means a data plane, whose log is told
            (at the calendar's first call) that it forgets its bookings when the process stops.
        binding: the binding's name (`calendar`, `calendar.hatha`): in its event ids under a
            test's clock (`event_id_suffix`) and in the log line.

    Raises:
        pydantic.ValidationError: the settings are invalid (the caller reports a config error).
    """
    parsed = MockCalendarSettings.model_validate(
        {"type": "mock_calendar", **with_tenant_timezone(settings, timezone)}
    )
    return InMemoryCalendar(
        parsed, clock=clock, events=[seed_event(s, parsed) for s in parsed.busy], binding=binding
    )
