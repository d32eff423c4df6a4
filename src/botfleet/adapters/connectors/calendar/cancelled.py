"""Bookings known to be cancelled, kept so a repeated cancel can answer "already cancelled".

A cancel whose answer was lost (the event was deleted, then the process died before the turn
was committed) runs again after a restart with the same idempotency key. The service's memory
of replies is gone by then, and the appointment no longer exists: without this record the
contact would be told it was never found. A store keeps here the bookings it deleted (memory,
CalDAV: process memory only) or read back as deleted (Google keeps deleted events readable with
``status: cancelled``, across restarts). Bounded: the oldest are forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict

from botfleet.domain.calendar import Appointment

#: How many cancelled bookings are remembered. A repeated turn follows within minutes.
REMEMBERED_CANCELLED = 4096


class CancelledBookings:
    """Event id -> the booking as it was when cancelled, newest last. Not thread-safe: touch it
    on the event loop only, never in worker threads."""

    def __init__(self, limit: int = REMEMBERED_CANCELLED) -> None:
        self._limit = limit
        self._bookings: OrderedDict[str, Appointment] = OrderedDict()

    def remember(self, appointment: Appointment) -> None:
        self._bookings.pop(appointment.event_id, None)
        self._bookings[appointment.event_id] = appointment
        while len(self._bookings) > self._limit:
            self._bookings.popitem(last=False)

    def get(self, event_id: str) -> Appointment | None:
        return self._bookings.get(event_id)

    def forget(self, event_id: str) -> None:
        """The event exists again (staff restored it): it is no longer cancelled."""
        self._bookings.pop(event_id, None)
