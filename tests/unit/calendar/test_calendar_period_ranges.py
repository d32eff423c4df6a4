"""`period` as a range of start times ("20:00-23:30"), alike on every calendar back end.

A restaurant serving lunch 13:00-16:00 and dinner 20:00-23:30 has 13 slots a day, over
WhatsApp's 10 list rows, and the 14:00 split of morning/afternoon cuts lunch in two. Memory,
Google (`calendar_fakes.FakeGoogleCalendar`) and CalDAV (a local Radicale) must give the same
lunch and dinner lists, keep the words working and refuse a malformed range the way they
refuse any bad param (`ConnectorRejected`, which a flow's `on_error` sees as `rejected`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from calendar_fakes import USER, CalDavServer, FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar import memory as memory_adapter
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.domain.errors import ConnectorRejected

# In UTC on purpose: the ranges are the calendar's local time (Madrid, UTC+2 in May).
NOW = datetime(2024, 5, 3, 10, 0, tzinfo=UTC)  # Friday
MONDAY = "2024-05-06"
SCHEDULE = {"mon": ["13:00-16:00", "20:00-23:30"]}
CAL = "bistro@group.calendar.google.com"
BACKENDS = ["memory", "google", "caldav"]

LUNCH = ["13:00", "13:30", "14:00", "14:30", "15:00", "15:30"]
DINNER = ["20:00", "20:30", "21:00", "21:30", "22:00", "22:30", "23:00"]


class StoppedClock:
    def now(self) -> datetime:
        return NOW


def connect(kind: str, request: pytest.FixtureRequest, **settings: Any) -> CalendarService:
    raw = {"schedule": SCHEDULE, **settings}
    if kind == "memory":
        return memory_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock())
    if kind == "google":
        return google_adapter.build(
            {**raw, "calendar_id": CAL, "api_base_url": "http://127.0.0.1:9/calendar/v3/"},
            timezone="Europe/Madrid",
            clock=StoppedClock(),
            http=FakeGoogleCalendar(CAL),
        )
    server: CalDavServer = request.getfixturevalue("caldav_server")
    url = server.make_calendar("Tables")
    return caldav_adapter.build(
        {**raw, "url": server.url, "username": USER, "password": "x", "calendar_id": url},
        timezone="Europe/Madrid",
        clock=StoppedClock(),
    )


async def titles(calendar: CalendarService, period: str) -> list[str]:
    params = {"date_str": MONDAY, "period": period}
    items = await calendar.call("get_slots_for_day", params, idempotency_key="")
    return [item["title"] for item in items]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_lunch_and_dinner_are_lists_of_their_own(
    kind: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request)
    assert await titles(calendar, "13:00-16:00") == LUNCH
    assert await titles(calendar, "20:00-23:30") == DINNER
    assert await titles(calendar, " 20:00 - 24:00 ") == DINNER
    assert await titles(calendar, "21:15-22:00") == ["21:30"]  # starts within, end excluded
    assert await titles(calendar, "16:00-20:00") == []
    # The words still split at 14:00, as before.
    assert await titles(calendar, "") == LUNCH + DINNER
    assert await titles(calendar, "morning") == ["13:00", "13:30"]
    assert await titles(calendar, "tarde") == LUNCH[2:] + DINNER


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_range_leaves_out_what_is_booked(kind: str, request: pytest.FixtureRequest) -> None:
    calendar = connect(kind, request)
    booking = {"slot": f"{MONDAY}_2100", "contact_id": "c1", "service_key": "table"}
    reply = await calendar.call("book_appointment", booking, idempotency_key="b1")
    assert reply["success"] is True
    assert await titles(calendar, "20:00-23:30") == [t for t in DINNER if t != "21:00"]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_range_applies_to_places_left_too(
    kind: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request, capacity=4)  # tables of a set menu
    params = {"date_str": MONDAY, "period": "13:00-14:00"}
    items = await calendar.call("get_slots_for_day", params, idempotency_key="")
    assert [(i["title"], i["places_left"]) for i in items] == [("13:00", 4), ("13:30", 4)]


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize(
    ("period", "why"),
    [
        ("20-23", "'20' is not a time"),
        ("25:00-26:00", "'25:00' is not a valid time of day"),
        ("21:00-20:00", "starting before it ends"),
    ],
)
async def test_a_malformed_range_is_rejected_naming_it(
    kind: str, period: str, why: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request)
    params = {"date_str": MONDAY, "period": period}
    with pytest.raises(ConnectorRejected) as caught:
        await calendar.call("get_slots_for_day", params, idempotency_key="")
    message = str(caught.value)
    assert message.startswith("param 'period' must be a time range HH:MM-HH:MM")
    assert f"got {period!r}" in message
    assert why in message
    assert caught.value.kind == "rejected"
    assert caught.value.retryable is False


# ---------------------------------------------------------------- days offered for a period

NEXT_MONDAY = "2024-05-13"


async def days_for(calendar: CalendarService, period: str | None) -> list[str]:
    params: dict[str, Any] = {"from_date": MONDAY, "lookahead_days": 8}
    if period is not None:
        params["period"] = period
    items = await calendar.call("get_available_days", params, idempotency_key="")
    return [item["id"].removeprefix("day_") for item in items]


async def book_at(calendar: CalendarService, hhmm: str, contact: str) -> None:
    booking = {"slot": f"{MONDAY}_{hhmm}", "contact_id": contact, "service_key": "table"}
    reply = await calendar.call("book_appointment", booking, idempotency_key=f"{hhmm}-{contact}")
    assert reply["success"] is True


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_day_whose_dinner_is_booked_is_not_offered_for_dinner(
    kind: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request)
    # Before: a fresh Monday's first slot is lunch, and it is still offered for dinner.
    assert await days_for(calendar, "20:00-23:30") == [MONDAY, NEXT_MONDAY]
    for number, hhmm in enumerate(DINNER):
        await book_at(calendar, hhmm.replace(":", ""), f"guest{number}")
    assert await days_for(calendar, "20:00-23:30") == [NEXT_MONDAY]
    assert await days_for(calendar, "13:00-16:00") == [MONDAY, NEXT_MONDAY]
    assert await days_for(calendar, None) == [MONDAY, NEXT_MONDAY]
    assert await days_for(calendar, "") == [MONDAY, NEXT_MONDAY]
    assert await days_for(calendar, "tarde") == [MONDAY, NEXT_MONDAY]  # lunch from 14:00


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_day_is_offered_for_a_period_while_a_place_is_left_in_it(
    kind: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request, capacity=2)
    late = "22:00-23:30"
    for hhmm in ("2200", "2230", "2300"):
        await book_at(calendar, hhmm, "a")
    for hhmm in ("2200", "2230"):
        await book_at(calendar, hhmm, "b")
    assert await days_for(calendar, late) == [MONDAY, NEXT_MONDAY]  # one place at 23:00
    await book_at(calendar, "2300", "b")
    assert await days_for(calendar, late) == [NEXT_MONDAY]
    assert await days_for(calendar, "20:00-23:30") == [MONDAY, NEXT_MONDAY]


@pytest.mark.parametrize("kind", BACKENDS)
@pytest.mark.parametrize(
    ("period", "why"),
    [
        ("20-23", "'20' is not a time"),
        ("21:00-20:00", "starting before it ends"),
    ],
)
async def test_a_malformed_range_is_rejected_by_available_days_too(
    kind: str, period: str, why: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request)
    # Past the horizon too, where no day would be looked at: the flow's mistake still shows.
    for params in ({"period": period}, {"from_date": "2030-01-07", "period": period}):
        with pytest.raises(ConnectorRejected) as caught:
            await calendar.call("get_available_days", params, idempotency_key="")
        message = str(caught.value)
        assert message.startswith("param 'period' must be a time range HH:MM-HH:MM")
        assert f"got {period!r}" in message
        assert why in message
        assert caught.value.kind == "rejected"
        assert caught.value.retryable is False
