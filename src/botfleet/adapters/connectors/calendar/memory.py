"""`mock_calendar`: a calendar kept in memory, implementing every operation of the category.

It is the dev/demo back end and the reference the other back ends are compared with. Slots
follow `slots.py`; bookings are checked and written under one `asyncio.Lock`, so two contacts
racing for a slot get exactly one booking.

Durations: `service_duration_min` / `duration_min` (how long the calendar is blocked) default to
`default_service_duration_min`, else `slot_duration_min`; `presence_min` defaults to the
service duration. Mutations (`book_appointment`, `cancel_event`, `cancel_appointment`,
`reschedule_appointment`) remember their successful replies by idempotency key: a retry with the
same key gets the first reply back and changes nothing. `reschedule_appointment` keeps the
appointment's `event_id`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from botfleet.adapters.connectors.calendar import formatting, slots
from botfleet.adapters.connectors.calendar.config import (
    CalendarSettings,
    MockCalendarSettings,
    SeedEvent,
    with_tenant_timezone,
)
from botfleet.adapters.connectors.calendar.params import Params
from botfleet.domain.calendar import AllDayEvent, Appointment, BusyEvent, CalendarEvent
from botfleet.domain.errors import UnknownOperation
from botfleet.ports.clock import Clock

CATEGORY = "calendar"
SLOT_TAKEN = "Sorry, that slot was just taken. Please choose another time."
SLOT_UNAVAILABLE = "Sorry, that time is not available for booking."
NOT_FOUND = "No such appointment was found for you."

Reply = dict[str, Any]
_MUTATIONS = frozenset(
    {"book_appointment", "cancel_event", "cancel_appointment", "reschedule_appointment"}
)


class InMemoryCalendar:
    """The tenant's calendar, in memory. Satisfies `botfleet.ports.connectors.Connector`."""

    category = CATEGORY

    def __init__(
        self,
        settings: CalendarSettings,
        *,
        clock: Clock,
        events: Iterable[CalendarEvent] = (),
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._events: list[CalendarEvent] = list(events)
        self._appointments: dict[str, Appointment] = {}
        self._replies: dict[tuple[str, str], Reply] = {}
        self._ids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._handlers: dict[str, Callable[[Params], Any]] = {
            "get_available_days": self._get_available_days,
            "get_slots_for_day": self._get_slots_for_day,
            "book_appointment": self._book_appointment,
            "get_future_appointments": self._get_future_appointments,
            "cancel_event": self._cancel,
            "list_appointments": self._list_appointments,
            "cancel_appointment": self._cancel,
            "reschedule_appointment": self._reschedule_appointment,
        }

    # ------------------------------------------------------------------ the port

    def operations(self) -> frozenset[str]:
        return frozenset(self._handlers)

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        """Run one operation; bad params raise `ConnectorRejected` naming the param."""
        handler = self._handlers.get(operation)
        if handler is None:
            raise UnknownOperation(CATEGORY, operation, self._handlers)
        request = Params(operation, params)
        if operation not in _MUTATIONS:
            return handler(request)
        async with self._lock:
            key = (operation, idempotency_key)
            if idempotency_key and key in self._replies:
                return dict(self._replies[key])
            reply: Reply = handler(request)
            if idempotency_key and reply.get("success"):
                self._replies[key] = dict(reply)
            return reply

    # ------------------------------------------------------------------ inspection (tests, demos)

    @property
    def appointments(self) -> tuple[Appointment, ...]:
        """Every appointment, ordered by start."""
        return tuple(sorted(self._appointments.values(), key=lambda a: a.start))

    def add_event(self, event: CalendarEvent) -> None:
        """Add a busy or all-day event, as staff would in their calendar app."""
        self._events.append(event)

    # ------------------------------------------------------------------ reads

    def _now(self) -> datetime:
        return self._clock.now().astimezone(self.settings.tz)

    def _calendar_events(self, *, ignore: str | None = None) -> list[CalendarEvent]:
        booked = [a.as_busy_event() for a in self._appointments.values() if a.event_id != ignore]
        return [*self._events, *booked]

    def _durations(self, request: Params, service_param: str) -> tuple[int, int]:
        service = request.minutes(service_param, self.settings.fallback_duration_min)
        return service, request.minutes("presence_min", service)

    def _get_available_days(self, request: Params) -> list[formatting.Item]:
        now = self._now()
        from_date = request.day("from_date", default=now.date())
        lookahead = request.positive_int(
            "lookahead_days", self.settings.lookahead_days_client, upper=3660
        )
        service, presence = self._durations(request, "service_duration_min")
        days = slots.available_days(
            from_date, self.settings, self._calendar_events(), now, lookahead, service, presence
        )
        return formatting.day_items(days)

    def _get_slots_for_day(self, request: Params) -> list[formatting.Item]:
        day = request.day("date_str")
        period = request.period()
        service, presence = self._durations(request, "service_duration_min")
        offered = slots.slots_for_day(
            day, self.settings, self._calendar_events(), self._now(), service, presence
        )
        return formatting.slot_items(s for s in offered if slots.in_period(s, period))

    def _future_of(self, contact_id: str) -> list[Appointment]:
        now = self._now()
        return [a for a in self.appointments if a.contact_id == contact_id and a.start >= now]

    def _get_future_appointments(self, request: Params) -> list[formatting.Item]:
        own = self._future_of(request.text("contact_id"))
        return formatting.appointment_items(own, self.settings.tz)

    def _list_appointments(self, request: Params) -> list[dict[str, Any]]:
        own = self._future_of(request.text("contact_id"))
        return [formatting.appointment_record(a, self.settings.tz) for a in own]

    # ------------------------------------------------------------------ writes (under the lock)

    def _refusal(
        self, wall: datetime, service: int, presence: int, *, ignore: str | None = None
    ) -> tuple[datetime | None, str | None]:
        """The aware start of `wall` and, if it cannot be booked, why not."""
        day = wall.date()
        start = slots.local_instant(day, wall.hour * 60 + wall.minute, self.settings.tz)
        if start is None:
            return None, SLOT_UNAVAILABLE
        now = self._now()
        events = self._calendar_events(ignore=ignore)
        if start in slots.slots_for_day(day, self.settings, events, now, service, presence):
            return start, None
        all_day = [e for e in events if isinstance(e, AllDayEvent)]
        if start in slots.slots_for_day(day, self.settings, all_day, now, service, presence):
            return start, SLOT_TAKEN  # open hours allow it: something else holds the time
        return start, SLOT_UNAVAILABLE

    def _book_appointment(self, request: Params) -> Reply:
        wall = request.slot("slot")
        contact_id = request.text("contact_id")
        # `duration_min` is the seed's name here; `service_duration_min` is accepted too.
        service = request.minutes(
            "duration_min",
            request.minutes("service_duration_min", self.settings.fallback_duration_min),
        )
        presence = request.minutes("presence_min", service)
        start, refusal = self._refusal(wall, service, presence)
        if start is None or refusal is not None:
            return {"success": False, "event_id": "", "message": refusal}
        appointment = Appointment(
            event_id=f"mem{next(self._ids)}",
            contact_id=contact_id,
            start=start,
            end=start + timedelta(minutes=service),
            service_key=request.text("service_key", default=""),
            contact_name=request.text("contact_name", default=""),
            service_name=request.text("service_name", default=""),
        )
        self._appointments[appointment.event_id] = appointment
        title = formatting.appointment_title(appointment, self.settings.tz)
        return {"success": True, "event_id": appointment.event_id, "message": f"Booked: {title}."}

    def _owned(self, request: Params) -> Appointment | None:
        event_id = request.event_id()
        appointment = self._appointments.get(event_id)
        # Someone else's appointment answers like a missing one: ids must not leak bookings.
        if appointment is None or appointment.contact_id != request.text("contact_id"):
            return None
        return appointment

    def _cancel(self, request: Params) -> Reply:
        appointment = self._owned(request)
        if appointment is None:
            return {"success": False, "message": NOT_FOUND}
        del self._appointments[appointment.event_id]
        title = formatting.appointment_title(appointment, self.settings.tz)
        return {"success": True, "message": f"Cancelled: {title}."}

    def _reschedule_appointment(self, request: Params) -> Reply:
        wall = request.slot("slot")
        appointment = self._owned(request)
        if appointment is None:
            return {"success": False, "event_id": "", "message": NOT_FOUND}
        current = int((appointment.end - appointment.start).total_seconds() // 60)
        service = request.minutes("duration_min", current)
        presence = request.minutes("presence_min", service)
        start, refusal = self._refusal(wall, service, presence, ignore=appointment.event_id)
        if start is None or refusal is not None:
            return {"success": False, "event_id": appointment.event_id, "message": refusal}
        moved = replace(appointment, start=start, end=start + timedelta(minutes=service))
        self._appointments[moved.event_id] = moved
        title = formatting.appointment_title(moved, self.settings.tz)
        return {"success": True, "event_id": moved.event_id, "message": f"Moved to: {title}."}


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
