"""The calendar store port: what a calendar back end must do for `CalendarService`.

A store reads and writes events; the service does everything else (params, slot rules,
ownership, the lock, idempotency). Times are aware datetimes. Every method may raise a
`ConnectorError` (translated from the back end's own errors at this boundary).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from botfleet.domain.calendar import Appointment, BusyEvent, CalendarEvent


class CalendarStore(Protocol):
    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        """Timed events (bookings included, with their `event_id`) and all-day events that
        overlap ``[start, end)``. Cancelled and "free" (transparent) timed events are left out."""
        ...

    async def appointments_from(self, contact_id: str, start: datetime) -> list[Appointment]:
        """The contact's bookings that end after `start` (any order)."""
        ...

    async def appointment(self, event_id: str) -> Appointment | None:
        """One booking made through the bot, or None (missing, cancelled, not a booking)."""
        ...

    async def booking_for_key(self, idempotency_key: str) -> Appointment | None:
        """The booking an earlier attempt of the same request made, if any."""
        ...

    async def busy_between(
        self, start: datetime, end: datetime, *, ignore: str | None = None
    ) -> list[BusyEvent]:
        """Free/busy re-check right before a write: what blocks ``[start, end)`` now (the
        event `ignore` left out)."""
        ...

    async def create(self, appointment: Appointment, idempotency_key: str) -> Appointment:
        """Write a new booking; returns it with the back end's event id."""
        ...

    async def delete(self, event_id: str) -> bool:
        """Remove a booking; False when it was already gone."""
        ...

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        """Give a booking new times, keeping its event id."""
        ...
