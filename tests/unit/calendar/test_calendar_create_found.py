"""A booking whose every attempt timed out, but which the back end made anyway, is found by its
idempotency key (`CalendarService.find_created`) and reported as booked.

The back ends: memory, Google (a local fake of the API) and CalDAV (a local Radicale). Their
inserts are made to time out at the client, the first one landing at the back end only when the
retry's insert is sent, after the retry's own lookup by key missed it: the order a slow back
end gives (`request_timeout_s` shorter than the insert takes). The memory calendar also runs
the plain case: an insert slower than the policy's `timeout_s`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_fakes import USER, CalDavServer, FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar import memory as memory_adapter
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.data_plane.resilience import BreakerState, ResiliencePolicy, ResilientConnector
from botfleet.domain.calendar import Appointment
from botfleet.domain.errors import ConnectorTimeout
from botfleet.ports.connectors import FindsCreated

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
CAL = "salon@group.calendar.google.com"
KEY = "turn-7:book"
PARAMS = {"slot": "2024-05-07_1100", "contact_id": "c1", "service_name": "Haircut"}
NO_WAIT = {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0}


class StoppedClock:
    def now(self) -> datetime:
        return NOW


def memory_calendar(_: pytest.FixtureRequest | None = None) -> CalendarService:
    return memory_adapter.build(
        {"schedule": SCHEDULE}, timezone="Europe/Madrid", clock=StoppedClock()
    )


def google_calendar(_: pytest.FixtureRequest) -> CalendarService:
    raw = {
        "schedule": SCHEDULE,
        "calendar_id": CAL,
        "api_base_url": "http://127.0.0.1:9/calendar/v3/",
    }
    return google_adapter.build(
        raw, timezone="Europe/Madrid", clock=StoppedClock(), http=FakeGoogleCalendar(CAL)
    )


def caldav_calendar(request: pytest.FixtureRequest) -> CalendarService:
    server: CalDavServer = request.getfixturevalue("caldav_server")
    server.make_calendar("Bookings")
    raw = {
        "schedule": SCHEDULE,
        "url": server.url,
        "username": USER,
        "password": "x",
        "calendar_name": "Bookings",
    }
    return caldav_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock())


BACK_ENDS = {"memory": memory_calendar, "google": google_calendar, "caldav": caldav_calendar}


class LateInserts:
    """The store's inserts time out at the client; when `lands`, the first one reaches the back
    end only as the retry's insert is sent. Counts the lookups by key."""

    def __init__(self, calendar: CalendarService, monkeypatch: pytest.MonkeyPatch, *, lands: bool):
        self.lookups = 0
        self._sent: list[tuple[Appointment, str]] = []
        store = calendar.store
        create, booking_for_key = store.create, store.booking_for_key

        async def late_create(appointment: Appointment, key: str) -> Appointment:
            if self._sent and lands:
                await create(*self._sent[0])  # the first insert lands, only now
            self._sent.append((appointment, key))
            raise ConnectorTimeout("the back end did not answer the insert in time")

        async def counted(key: str) -> Appointment | None:
            self.lookups += 1
            return await booking_for_key(key)

        monkeypatch.setattr(store, "create", late_create)
        monkeypatch.setattr(store, "booking_for_key", counted)


def resilient(calendar: CalendarService, **policy: Any) -> ResilientConnector:
    settings: dict[str, Any] = {"timeout_s": 5, "max_attempts": 2, **NO_WAIT, **policy}
    return ResilientConnector(calendar, ResiliencePolicy(**settings))


async def own_appointments(calendar: CalendarService) -> list[Any]:
    found: list[Any] = await calendar.call(
        "list_appointments", {"contact_id": "c1"}, idempotency_key=""
    )
    return found


@pytest.fixture(params=sorted(BACK_ENDS))
def calendar(request: pytest.FixtureRequest) -> CalendarService:
    return BACK_ENDS[request.param](request)


async def test_every_calendar_back_end_offers_the_lookup(calendar: CalendarService) -> None:
    assert isinstance(calendar, FindsCreated)


async def test_a_booking_made_after_the_last_timeout_is_found(
    calendar: CalendarService, monkeypatch: pytest.MonkeyPatch
) -> None:
    inserts = LateInserts(calendar, monkeypatch, lands=True)

    reply = await resilient(calendar).call("book_appointment", PARAMS, idempotency_key=KEY)

    assert reply["success"] is True
    assert reply["appointment"]["start"].startswith("2024-05-07T11:00")
    assert inserts.lookups == 3  # each attempt's, then the one after the last timeout
    assert [a["event_id"] for a in await own_appointments(calendar)] == [reply["event_id"]]
    # The answer a booking under the same key gives from now on.
    assert await calendar.call("book_appointment", PARAMS, idempotency_key=KEY) == reply


async def test_a_booking_that_never_happened_is_still_a_timeout(
    calendar: CalendarService, monkeypatch: pytest.MonkeyPatch
) -> None:
    inserts = LateInserts(calendar, monkeypatch, lands=False)

    with pytest.raises(ConnectorTimeout, match="did not answer the insert"):
        await resilient(calendar).call("book_appointment", PARAMS, idempotency_key=KEY)

    assert inserts.lookups == 3
    assert await own_appointments(calendar) == []


async def test_no_lookup_when_the_breaker_opened(
    calendar: CalendarService, monkeypatch: pytest.MonkeyPatch
) -> None:
    inserts = LateInserts(calendar, monkeypatch, lands=True)
    wrapped = resilient(calendar, failure_threshold=2)

    with pytest.raises(ConnectorTimeout):
        await wrapped.call("book_appointment", PARAMS, idempotency_key=KEY)

    assert wrapped.breaker.state is BreakerState.OPEN
    assert inserts.lookups == 2  # the attempts' own, none after


async def test_only_bookings_are_looked_up(calendar: CalendarService) -> None:
    params = {"event_id": "cancel_appt_x", "contact_id": "c1"}
    assert await calendar.find_created("cancel_event", params, idempotency_key=KEY) is None
    assert await calendar.find_created("book_appointment", PARAMS, idempotency_key="") is None
    assert await calendar.find_created("book_appointment", PARAMS, idempotency_key=KEY) is None


async def test_an_insert_slower_than_the_timeout_is_found_once_it_lands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calendar = memory_calendar()
    store = calendar.store
    create = store.create

    async def slow_create(appointment: Appointment, key: str) -> Appointment:
        await asyncio.sleep(0.7)
        return await create(appointment, key)

    monkeypatch.setattr(store, "create", slow_create)
    # Attempts end at 0.3 s and 0.6 s; the lookup waits for the write still running (0.7 s).
    wrapped = resilient(calendar, timeout_s=0.3)

    reply = await wrapped.call("book_appointment", PARAMS, idempotency_key=KEY)

    assert reply["success"] is True
    assert len(await own_appointments(calendar)) == 1
