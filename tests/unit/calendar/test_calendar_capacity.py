"""Places per slot (`capacity`): a yoga class, a group lesson, a tour.

The same scenario on every back end (memory; Google against `calendar_fakes.FakeGoogleCalendar`;
CalDAV against a local Radicale): a class of 3 places is offered until 3 contacts booked it,
the 4th is refused `slot_taken`, a cancel frees a place, one contact cannot take two places of
one class, and a staff event still blocks the slot whole. Then the races: two bookings of the
last place at once in one process (the lock), and another writer booking it between the
re-check and the write (Google, CalDAV: the booking just written is deleted again).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_fakes import USER, CalDavServer, FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar import memory as memory_adapter
from botfleet.adapters.connectors.calendar import slots
from botfleet.adapters.connectors.calendar.service import (
    ALREADY_BOOKED,
    SLOT_TAKEN,
    CalendarService,
)
from botfleet.domain.calendar import Appointment, BusyEvent, epoch_micros

LISBON = ZoneInfo("Europe/Lisbon")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=LISBON)  # Monday
CLASS = datetime(2024, 5, 11, 10, 0, tzinfo=LISBON)  # Saturday's hatha class
SLOT = "2024-05-11_1000"
SCHEDULE = {"sat": ["10:00-11:00"]}
SETTINGS: dict[str, Any] = {"schedule": SCHEDULE, "slot_duration_min": 60, "capacity": 3}
CAL = "yoga@group.calendar.google.com"


class StoppedClock:
    def now(self) -> datetime:
        return NOW


def memory_calendar(**extra: Any) -> CalendarService:
    return memory_adapter.build(
        {**SETTINGS, **extra}, timezone="Europe/Lisbon", clock=StoppedClock()
    )


def google_calendar(api: FakeGoogleCalendar, **extra: Any) -> CalendarService:
    raw = {**SETTINGS, "calendar_id": CAL, "api_base_url": "http://127.0.0.1:9/calendar/v3/"}
    return google_adapter.build(
        {**raw, **extra}, timezone="Europe/Lisbon", clock=StoppedClock(), http=api
    )


def caldav_calendar(server: CalDavServer, url: str, **extra: Any) -> CalendarService:
    raw = {**SETTINGS, "url": server.url, "username": USER, "password": "x", "calendar_id": url}
    return caldav_adapter.build({**raw, **extra}, timezone="Europe/Lisbon", clock=StoppedClock())


def connect(kind: str, request: pytest.FixtureRequest, **extra: Any) -> CalendarService:
    if kind == "memory":
        return memory_calendar(**extra)
    if kind == "google":
        return google_calendar(FakeGoogleCalendar(CAL), **extra)
    server: CalDavServer = request.getfixturevalue("caldav_server")
    return caldav_calendar(server, server.make_calendar("Classes"), **extra)


async def book(calendar: CalendarService, contact: str, key: str | None = None) -> Any:
    params = {"slot": SLOT, "contact_id": contact, "service_key": "hatha"}
    return await calendar.call("book_appointment", params, idempotency_key=key or f"b-{contact}")


async def offered(calendar: CalendarService) -> list[dict[str, Any]]:
    items = await calendar.call("get_slots_for_day", {"date_str": "2024-05-11"}, idempotency_key="")
    return list(items)


async def days(calendar: CalendarService) -> list[str]:
    items = await calendar.call(
        "get_available_days", {"from_date": "2024-05-06"}, idempotency_key=""
    )
    return [item["id"] for item in items]


BACKENDS = ["memory", "google", "caldav"]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_class_is_offered_until_its_places_are_booked(
    kind: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request)
    slot = {"id": f"hour_{SLOT}", "title": "10:00"}
    assert await offered(calendar) == [{**slot, "places_left": 3, "description": "3 places left"}]
    first = await book(calendar, "ana")
    assert first["success"] is True, first
    assert await offered(calendar) == [{**slot, "places_left": 2, "description": "2 places left"}]
    assert (await book(calendar, "bruno"))["success"] is True
    assert await offered(calendar) == [{**slot, "places_left": 1, "description": "1 place left"}]
    assert "day_2024-05-11" in await days(calendar)
    assert (await book(calendar, "carla"))["success"] is True
    # Full: no longer offered, and the 4th student is told it is taken.
    assert await offered(calendar) == []
    assert "day_2024-05-11" not in await days(calendar)
    fourth = await book(calendar, "duarte")
    assert fourth == {
        "success": False,
        "event_id": "",
        "reason": "slot_taken",
        "message": SLOT_TAKEN,
    }
    # Each student sees and cancels only their own place; a cancel frees it.
    mine = await calendar.call("list_appointments", {"contact_id": "ana"}, idempotency_key="")
    assert [(a["event_id"], a["contact_id"]) for a in mine] == [(first["event_id"], "ana")]
    assert (
        await calendar.call("list_appointments", {"contact_id": "duarte"}, idempotency_key="")
    ) == []
    stranger = await calendar.call(
        "cancel_event", {"event_id": first["event_id"], "contact_id": "bruno"}, idempotency_key="x"
    )
    assert stranger["reason"] == "not_found"
    cancel = {"event_id": first["event_id"], "contact_id": "ana"}
    assert (await calendar.call("cancel_event", cancel, idempotency_key="c"))["success"] is True
    assert await offered(calendar) == [{**slot, "places_left": 1, "description": "1 place left"}]
    assert (await book(calendar, "duarte", key="b-duarte-2"))["success"] is True


@pytest.mark.parametrize("kind", BACKENDS)
async def test_one_contact_cannot_take_two_places_of_one_class(
    kind: str, request: pytest.FixtureRequest
) -> None:
    calendar = connect(kind, request)
    assert (await book(calendar, "ana"))["success"] is True
    again = await book(calendar, "ana", key="another-turn")
    assert again == {
        "success": False,
        "event_id": "",
        "reason": "already_booked",
        "message": ALREADY_BOOKED,
    }
    # Also when the class is full meanwhile: being in it already says more than "taken".
    assert (await book(calendar, "bruno"))["success"] is True
    assert (await book(calendar, "carla"))["success"] is True
    assert (await book(calendar, "ana", key="third-turn"))["reason"] == "already_booked"
    listed = await calendar.call("list_appointments", {"contact_id": "ana"}, idempotency_key="")
    assert len(listed) == 1


async def test_the_same_request_retried_is_still_one_place() -> None:
    calendar = memory_calendar()
    first = await book(calendar, "ana", key="turn-1")
    assert await book(calendar, "ana", key="turn-1") == first  # idempotent, not already_booked
    assert (await offered(calendar))[0]["places_left"] == 2


async def test_a_staff_event_blocks_the_class_whole_and_all_day_notes_do_not() -> None:
    calendar = memory_adapter.build(
        {
            **SETTINGS,
            "busy": [
                {
                    "start": "2024-05-11T10:00:00",
                    "end": "2024-05-11T11:00:00",
                    "title": "Teacher ill",
                },
                {"day": "2024-05-11", "title": "Remember the mats"},
            ],
        },
        timezone="Europe/Lisbon",
        clock=StoppedClock(),
    )
    assert await offered(calendar) == []
    assert (await book(calendar, "ana"))["reason"] == "slot_taken"
    calendar.memory.events.pop(0)  # staff delete the block; the all-day note stays
    assert (await offered(calendar))[0]["places_left"] == 3


async def test_a_move_into_a_full_class_or_one_already_held_is_refused() -> None:
    calendar = memory_adapter.build(
        {**SETTINGS, "schedule": {"sat": ["10:00-12:00"]}},
        timezone="Europe/Lisbon",
        clock=StoppedClock(),
    )
    for contact in ("ana", "bruno", "carla"):
        assert (await book(calendar, contact))["success"] is True
    params = {"slot": "2024-05-11_1100", "contact_id": "duarte", "service_key": "hatha"}
    later = await calendar.call("book_appointment", params, idempotency_key="d")
    assert later["success"] is True
    move = {"event_id": later["event_id"], "contact_id": "duarte", "slot": SLOT}
    refused = await calendar.call("reschedule_appointment", move, idempotency_key="m1")
    assert (refused["reason"], refused["event_id"]) == ("slot_taken", later["event_id"])
    ana = (await calendar.call("list_appointments", {"contact_id": "ana"}, idempotency_key=""))[0]
    params = {"slot": "2024-05-11_1100", "contact_id": "ana", "service_key": "hatha"}
    assert (await calendar.call("book_appointment", params, idempotency_key="a2"))["success"]
    own = {"event_id": ana["event_id"], "contact_id": "ana", "slot": "2024-05-11_1100"}
    held = await calendar.call("reschedule_appointment", own, idempotency_key="m2")
    assert held["reason"] == "already_booked"
    # Moving within the class it is in (the same time) is no conflict with itself.
    same = {"event_id": ana["event_id"], "contact_id": "ana", "slot": SLOT}
    assert (await calendar.call("reschedule_appointment", same, idempotency_key="m3"))["success"]


async def test_with_one_place_nothing_changes() -> None:
    calendar = memory_adapter.build(
        {**SETTINGS, "capacity": 1}, timezone="Europe/Lisbon", clock=StoppedClock()
    )
    assert await offered(calendar) == [{"id": f"hour_{SLOT}", "title": "10:00"}]
    assert (await book(calendar, "ana"))["success"] is True
    assert await offered(calendar) == []
    assert (await book(calendar, "ana", key="again"))["reason"] == "slot_taken"


# ---------------------------------------------------------------- races for the last place


async def test_two_bookings_of_the_last_place_at_once_give_one() -> None:
    calendar = memory_calendar()
    assert isinstance(calendar, memory_adapter.InMemoryCalendar)
    assert (await book(calendar, "ana"))["success"] is True
    assert (await book(calendar, "bruno"))["success"] is True
    store = calendar.memory
    check = store.busy_between

    async def slow_check(start: datetime, end: datetime, *, ignore: str | None = None) -> Any:
        await asyncio.sleep(0)  # suspends: the other booking runs meanwhile if nothing stops it
        return await check(start, end, ignore=ignore)

    store.busy_between = slow_check  # type: ignore[method-assign]
    replies = await asyncio.gather(book(calendar, "carla"), book(calendar, "duarte"))
    assert sorted(r["success"] for r in replies) == [False, True]
    assert [r["reason"] for r in replies if not r["success"]] == ["slot_taken"]
    assert len(store.bookings) == 3


def other_booking(contact: str, uid: str) -> Appointment:
    return Appointment(uid, contact, CLASS, CLASS + timedelta(hours=1), service_key="hatha")


async def test_on_google_a_booking_that_overfills_the_class_is_deleted_again() -> None:
    api = FakeGoogleCalendar(CAL)
    calendar = google_calendar(api)
    assert (await book(calendar, "ana"))["success"] is True
    assert (await book(calendar, "bruno"))["success"] is True
    # Another writer (a second binding on this calendar) takes the last place between the
    # re-check and the insert.
    rival = other_booking("carla", "rival1")
    api.before_next(
        "POST",
        lambda: api.put({**wire.google_body(rival, LISBON, idempotency_key=""), "id": "rival1"}),
    )
    api.requests.clear()
    reply = await book(calendar, "duarte")
    assert reply == {
        "success": False,
        "event_id": "",
        "reason": "slot_taken",
        "message": SLOT_TAKEN,
    }
    own = wire.event_id_for_key("b-duarte")
    # The re-check's list, the insert, the list after it, the delete of its own event only.
    assert [(s.method, s.path.rsplit("/", 1)[-1]) for s in api.requests] == [
        ("GET", "events"),  # booking_for_key
        ("GET", "events"),  # the day, for the slot rules
        ("GET", "events"),  # the re-check right before the write
        ("POST", "events"),
        ("GET", "events"),  # read again after the write: 4 bookings for 3 places
        ("DELETE", own),
    ]
    assert api.events[own]["status"] == "cancelled"
    live = {e["extendedProperties"]["private"]["botfleet_contact_id"] for e in api.live().values()}
    assert live == {"ana", "bruno", "carla"}


async def test_on_google_bookings_and_others_events_are_told_apart() -> None:
    api = FakeGoogleCalendar(CAL)
    calendar = google_calendar(api)
    assert (await book(calendar, "ana"))["success"] is True
    (inserted,) = api.live().values()
    # The event written is the booking as before (`transparency: opaque`, the contact in the
    # private properties): the places are counted from such events.
    assert inserted["transparency"] == "opaque"
    assert inserted["extendedProperties"]["private"]["botfleet_contact_id"] == "ana"
    event = wire.google_event(inserted, LISBON)
    assert isinstance(event, slots.BookedEvent) and event.contact_id == "ana"
    # A booking whose properties a client dropped is still one, by its description.
    bare = {k: v for k, v in inserted.items() if k != "extendedProperties"}
    described = wire.google_event(bare, LISBON)
    assert isinstance(described, slots.BookedEvent) and described.contact_id == "ana"
    staff = {**bare, "description": "Mats to clean"}
    assert type(wire.google_event(staff, LISBON)) is BusyEvent
    api.put({**staff, "id": "staff1"})  # staff's own event in the class: it blocks it whole
    assert await offered(calendar) == []


async def test_on_caldav_a_booking_that_overfills_the_class_is_deleted_again(
    caldav_server: CalDavServer,
) -> None:
    url = caldav_server.make_calendar("Classes")
    calendar = caldav_calendar(caldav_server, url)
    assert (await book(calendar, "ana"))["success"] is True
    assert (await book(calendar, "bruno"))["success"] is True
    rival = wire.ical_text(
        other_booking("carla", "rival1"), uid="rival1", idempotency_key="", now=NOW
    )
    caldav_server.before_next("PUT", lambda: caldav_server.put_event(url, rival))
    reply = await book(calendar, "duarte")
    assert reply["reason"] == "slot_taken"
    own = wire.event_id_for_key("b-duarte")
    assert own not in caldav_server.uids(url)
    assert caldav_server.uids(url) == {
        wire.event_id_for_key("b-ana"),
        wire.event_id_for_key("b-bruno"),
        "rival1",
    }
    assert [s.method for s in caldav_server.sent("DELETE")] == ["DELETE"]


def test_ical_bookings_are_places_and_other_events_are_not() -> None:
    import icalendar

    text = wire.ical_text(other_booking("carla", "u1"), uid="u1", idempotency_key="", now=NOW)
    (component,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    event = wire.ical_event(component, LISBON)
    assert isinstance(event, slots.BookedEvent) and event.contact_id == "carla"
    del component["X-BOTFLEET-CONTACT-ID"]
    described = wire.ical_event(component, LISBON)
    assert isinstance(described, slots.BookedEvent) and described.contact_id == "carla"
    component["DESCRIPTION"] = "Mats"
    assert type(wire.ical_event(component, LISBON)) is BusyEvent


# ---------------------------------------------------------------- the counting rule


def spans(*pairs: tuple[int, int]) -> list[tuple[int, int]]:
    base = epoch_micros(CLASS)
    return [(base + a * 60_000_000, base + b * 60_000_000) for a, b in pairs]


@pytest.mark.parametrize(
    ("booked", "taken"),
    [
        ([], 0),
        ([(0, 60)], 1),
        ([(0, 60), (0, 60), (0, 60)], 3),
        ([(0, 30), (30, 60)], 1),  # one after the other: one place at any moment
        ([(0, 40), (20, 60)], 2),
        ([(-60, 0), (60, 120)], 0),  # before and after the slot
        ([(0, 60), (59.5, 120)], 1),  # within the minute calendar apps round to
    ],
)
def test_places_taken_counts_bookings_at_once(booked: list[Any], taken: int) -> None:
    low, high = spans((0, 60))[0]
    assert slots.places_taken(spans(*booked), low, high) == taken


# ---------------------------------------------------------------- bad settings


@pytest.mark.parametrize("value", [0, -1, "x", True, 2.5, None])
def test_a_bad_capacity_is_a_boot_error_naming_the_key(value: Any) -> None:
    from botfleet.adapters.connectors.catalog import build_connector
    from botfleet.domain.errors import ConfigError
    from botfleet.domain.tenant_config import Binding
    from botfleet.testing.runtime import FrozenClock

    tenant = tenant_config({"calendar.hatha": {"type": "mock_calendar", "capacity": value}})
    binding = tenant.connectors["calendar.hatha"]
    assert isinstance(binding, Binding)
    with pytest.raises(ConfigError) as caught:
        build_connector(tenant, "calendar.hatha", binding, clock=FrozenClock())
    problems = dict(caught.value.problems)
    assert "connectors.calendar.hatha.capacity" in problems, problems
    assert "whole number, 1 or more" in problems["connectors.calendar.hatha.capacity"]
    if value is True:  # as the tenant file spells it
        assert problems["connectors.calendar.hatha.capacity"].endswith("got true")


@pytest.mark.parametrize("kind", ["mock_calendar", "google_calendar", "caldav"])
@pytest.mark.parametrize("value", [0, -1, "x"])
def test_the_control_plane_refuses_a_bad_capacity_naming_the_key(kind: str, value: Any) -> None:
    from botfleet.control_plane.binding_schemas import validate_connectors
    from botfleet.control_plane.errors import InvalidInput

    binding: dict[str, Any] = {"type": kind, "capacity": value}
    if kind == "google_calendar":
        binding["calendar_id"] = CAL
    if kind == "caldav":
        binding["url"] = "https://dav.example/cal/"
    with pytest.raises(InvalidInput) as caught:
        validate_connectors({"calendar": binding})
    assert "connectors.calendar.capacity" in str(caught.value)
    assert "whole number, 1 or more" in str(caught.value)
    assert (
        validate_connectors({"calendar": {**binding, "capacity": 12}})["calendar"]["capacity"] == 12
    )


def tenant_config(connectors: dict[str, Any]) -> Any:
    from botfleet.domain.tenant_config import TenantConfig

    return TenantConfig.model_validate(
        {"tenant_id": "yoga", "timezone": "Europe/Lisbon", "connectors": connectors}
    )


def test_capacity_is_in_the_schema_editors_get() -> None:
    from botfleet.adapters.connectors.calendar.config import calendar_settings_json_schema

    schema = calendar_settings_json_schema()
    for model in ("MockCalendarSettings", "GoogleCalendarSettings", "CalDavSettings"):
        field = schema["$defs"][model]["properties"]["capacity"]
        assert (field["type"], field["minimum"], field["default"]) == ("integer", 1, 1)


@pytest.mark.parametrize(
    ("language", "three", "one"),
    [("en", "3 places left", "1 place left"), ("pt", "Restam 3 lugares", "Resta 1 lugar"),
     ("es", "Quedan 3 plazas", "Queda 1 plaza"), ("fr", "3 places restantes", "1 place restante"),
     ("de", "3 Plätze frei", "1 Platz frei"), ("it", "3 posti liberi", "1 posto libero"),
     ("ca", "Queden 3 places", "Queda 1 plaça")],
)  # fmt: skip
def test_places_left_are_said_in_the_calendars_language(
    language: str, three: str, one: str
) -> None:
    """A studio's customers see "Restam 3 lugares" under each class time (the slot item's
    description, which send_dynamic_options shows): a flow need not write its own list."""
    from datetime import datetime

    from botfleet.adapters.connectors.calendar.formatting import slot_items_with_places
    from botfleet.adapters.connectors.calendar.texts import calendar_texts

    start = datetime(2024, 5, 11, 10, 0)
    items = slot_items_with_places(
        [(start, 3), (start.replace(hour=11), 1)], calendar_texts(language)
    )
    assert [(i["places_left"], i["description"]) for i in items] == [(3, three), (1, one)]
