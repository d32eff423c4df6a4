"""The calendar store port: what a calendar back end must do for `CalendarService`.

A store reads and writes events; the service does everything else (params, slot rules,
ownership, the lock, idempotency). Times are aware datetimes. Every method may raise a
`ConnectorError` (translated from the back end's own errors at this boundary).

Three refusals have a meaning of their own, so that what the user is told matches what
happened: `EventGone` and `EventChanged` (someone, usually staff, removed or edited the booking
while the bot was writing it: the user is told, the back end is fine; the service answers
reasons `not_found` and `changed`, which flows treat differently) and `CalendarNotFound`
(the configured calendar itself is missing: an operator's problem, never the user's missing
appointment). All are `ConnectorRejected`: never retried, never counted by the breaker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from botfleet.adapters.connectors.refusals import MisconfiguredBinding
from botfleet.domain.calendar import Appointment, BusyEvent, CalendarEvent
from botfleet.domain.errors import ConnectorRejected


class EventGone(ConnectorRejected):
    """The booking disappeared between reading it and writing it (HTTP 404/410 on the event)."""


class EventChanged(ConnectorRejected):
    """Someone changed the booking between reading it and writing it, and the back end refused
    the write (HTTP 412 Precondition Failed on an If-Match request): nothing was changed."""


class CalendarNotFound(MisconfiguredBinding):
    """The configured calendar does not exist or the account cannot see it (a wrong
    `calendar_id` / `calendar_name`, a calendar deleted or no longer shared). The message names
    the setting to check, never its value (messages stay free of URLs and addresses); with
    `log_fields` (`type`, `setting`, the identifier configured, `request`) the resilience layer
    logs `calendar_not_found` naming the binding, the tenant and the contact."""

    log_event = "calendar_not_found"


class CalendarStore(Protocol):
    async def events_between(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        """Timed events (bookings included, with their `event_id`) and all-day events that
        overlap ``[start, end)``. Cancelled and "free" (transparent) timed events are left out."""
        ...

    async def appointments_from(
        self, contact_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        """The contact's bookings that end after `start` and begin before `end` (any order)."""
        ...

    async def appointment(self, event_id: str) -> Appointment | None:
        """One booking made through the bot, or None (missing, cancelled, not a booking)."""
        ...

    async def cancelled(self, event_id: str) -> Appointment | None:
        """A booking made through the bot that was cancelled (deleted), as it was, when the
        back end still knows of it, else None. Asked right after `appointment` found no live
        event of that id, so a store may answer from that read (Google) or from its own record
        of what it deleted (`cancelled.py`); none answers for a booking that exists again."""
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
        """Remove a booking; False when it was already gone. Raises `EventChanged` when the
        back end refused because the booking changed since it was read."""
        ...

    async def move(self, appointment: Appointment, start: datetime, end: datetime) -> Appointment:
        """Give a booking new times, keeping its event id. Raises `EventGone` when it no longer
        exists and `EventChanged` when the back end refused because it changed meanwhile."""
        ...
