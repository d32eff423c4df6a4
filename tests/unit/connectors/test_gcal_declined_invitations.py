"""Google Calendar: an invitation the calendar declined holds no time.

Google's `events.list` returns events the calendar was invited to whatever its answer; its own
attendee entry (``"self": true``) carries ``responseStatus``. A declined one is not busy time
(free/busy leaves it out too), so a salon that declined a supplier's meeting can still be booked.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.domain.calendar import BusyEvent

MADRID = ZoneInfo("Europe/Madrid")


def invitation(answer: str, *, self_entry: bool = True) -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "id": "meet",
        "status": "confirmed",
        "summary": "Supplier visit",
        "start": {"dateTime": "2024-01-08T10:00:00+01:00"},
        "end": {"dateTime": "2024-01-08T11:00:00+01:00"},
        "attendees": [
            {"email": "rep@supplier.example", "organizer": True, "responseStatus": "accepted"},
            {"email": "salon@example.com", "self": self_entry, "responseStatus": answer},
        ],
    }


def test_an_invitation_the_calendar_declined_is_not_busy() -> None:
    assert wire.google_event(invitation("declined"), MADRID) is None


@pytest.mark.parametrize("answer", ["accepted", "tentative", "needsAction"])
def test_an_invitation_not_declined_is_busy(answer: str) -> None:
    event = wire.google_event(invitation(answer), MADRID)
    assert isinstance(event, BusyEvent)
    assert event.start == datetime(2024, 1, 8, 10, tzinfo=MADRID)


def test_only_the_calendars_own_answer_counts() -> None:
    # Another guest declining does not free the calendar's time.
    assert isinstance(
        wire.google_event(invitation("declined", self_entry=False), MADRID), BusyEvent
    )
