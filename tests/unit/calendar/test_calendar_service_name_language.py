"""The service's part of an appointment's title shown to a contact is in the call's language.

A podiatry clinic's flow books in Spanish (`service_name: "Uña encarnada"`, the staff's
language) and passes its `services` table, with `name_en`, on every calendar call. An English
patient listing, cancelling or moving the appointment read "Tue 7 May · 10:00 · Uña encarnada":
the title took the name stored with the event. Now a booking tied to a service of the table (by
its stored key, else by its stored name being one of the service's names) is titled with the
name in the call's language; what the calendar holds for staff stays as booked.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_fakes import USER, CalDavServer, FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar import memory as memory_adapter
from botfleet.adapters.connectors.calendar.pool import CalendarPool
from botfleet.adapters.connectors.calendar.pool import build as build_pool
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.calendar.texts import CALENDAR_TEXTS
from botfleet.domain.errors import ConnectorRejected

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
CAL = "podologia@group.calendar.google.com"
#: The flow's `services` table, as a flow passes it (`services: *services`).
SERVICES: dict[str, Any] = {
    "ingrown": {"name": "Uña encarnada", "name_en": "Ingrown toenail", "duration_min": 30},
    "insoles": {"name": "Plantillas", "name_en": "Insoles", "price": 80},
}
SPANISH = CALENDAR_TEXTS["es"]
TUESDAY_EN = "Tue 7 May · 10:00"
TUESDAY_ES = "Mar 7 may · 10:00"


class StoppedClock:
    def now(self) -> datetime:
        return NOW


_keys = itertools.count()


async def call(connector: Any, operation: str, **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=f"k{next(_keys)}")


@dataclass
class Backend:
    connector: CalendarService
    #: The titles of the events in the calendar, as staff see them.
    staff_titles: Callable[[], list[str]]


def memory() -> memory_adapter.InMemoryCalendar:
    """A Spanish clinic's calendar, in memory."""
    return memory_adapter.build(
        {"schedule": SCHEDULE, "language": "es"}, timezone="Europe/Madrid", clock=StoppedClock()
    )


def make_backend(kind: str, request: pytest.FixtureRequest) -> Backend:
    raw = {"schedule": SCHEDULE, "language": "es"}
    clock = StoppedClock()
    if kind == "memory":
        mem = memory()
        # What Google and CalDAV write for it (the memory store keeps the appointment).
        return Backend(mem, lambda: [wire.summary(a, SPANISH) for a in mem.appointments])
    if kind == "google":
        api = FakeGoogleCalendar(CAL)
        google = google_adapter.build(
            {**raw, "calendar_id": CAL, "api_base_url": "http://127.0.0.1:8777/calendar/v3/"},
            timezone="Europe/Madrid",
            clock=clock,
            http=api,
        )
        return Backend(google, lambda: [e["summary"] for e in api.live().values()])
    server: CalDavServer = request.getfixturevalue("caldav_server")
    url = server.make_calendar("Citas")
    dav = caldav_adapter.build(
        {**raw, "url": server.url, "username": USER, "password": "x", "calendar_name": "Citas"},
        timezone="Europe/Madrid",
        clock=clock,
    )

    def caldav_titles() -> list[str]:
        with server.staff() as client:
            found = client.calendar(url=url).events()
            return [str(e.icalendar_component["summary"]) for e in found]

    return Backend(dav, caldav_titles)


async def book_in_spanish(connector: Any, slot: str = "2024-05-07_1000", **extra: Any) -> Any:
    params = {
        "slot": slot,
        "contact_id": "john",
        "contact_name": "John",
        "service_key": "ingrown",
        "service_name": "Uña encarnada",
        "language": "es",
        **extra,
    }
    reply = await call(connector, "book_appointment", **params)
    assert reply["success"] is True, reply
    return reply


@pytest.mark.parametrize("kind", ["memory", "google", "caldav"])
async def test_an_english_patient_sees_the_english_name_of_a_booking_made_in_spanish(
    kind: str, request: pytest.FixtureRequest
) -> None:
    backend = make_backend(kind, request)
    cal = backend.connector
    booked = await book_in_spanish(cal)
    event_id = booked["event_id"]
    assert booked["message"] == f"Reservada: {TUESDAY_ES} · Uña encarnada."

    english = {"contact_id": "john", "services": SERVICES, "language": "en"}
    [record] = await call(cal, "list_appointments", **english)
    assert record["title"] == f"{TUESDAY_EN} · Ingrown toenail"
    assert record["service_name"] == "Ingrown toenail"
    assert record["service"] == "ingrown"
    options = await call(cal, "get_future_appointments", **english)
    assert options == [
        {"id": f"cancel_appt_{event_id}", "title": f"{TUESDAY_EN} · Ingrown toenail"}
    ]
    # In Spanish, the Spanish name; without `services`, the stored one, as before.
    spanish = await call(cal, "list_appointments", **{**english, "language": "es"})
    assert spanish[0]["title"] == f"{TUESDAY_ES} · Uña encarnada"
    bare = await call(cal, "list_appointments", contact_id="john", language="en")
    assert bare[0]["title"] == f"{TUESDAY_EN} · Uña encarnada"

    moved = await call(
        cal, "reschedule_appointment", event_id=event_id, slot="2024-05-07_1100", **english
    )
    assert moved["success"] is True, moved
    assert moved["message"] == "Moved to: Tue 7 May · 11:00 · Ingrown toenail."
    assert moved["appointment"]["service_name"] == "Ingrown toenail"
    # The business's calendar keeps the staff's language, after the move too.
    assert backend.staff_titles() == ["Uña encarnada · John"]

    cancelled = await call(cal, "cancel_event", event_id=moved["event_id"], **english)
    assert cancelled == {
        "success": True,
        "message": "Cancelled: Tue 7 May · 11:00 · Ingrown toenail.",
    }


async def test_a_booking_without_its_key_is_tied_to_a_service_by_its_name() -> None:
    cal = memory()
    await book_in_spanish(cal, service_key="")
    [record] = await call(
        cal, "list_appointments", contact_id="john", services=SERVICES, language="en"
    )
    assert record["title"] == f"{TUESDAY_EN} · Ingrown toenail"
    assert record["service"] == ""


@pytest.mark.parametrize(
    ("stored", "language", "shown"),
    [
        # Booked in English: in Spanish the table's `name` (its default), in English its own.
        ("Ingrown toenail", "es", "Uña encarnada"),
        ("ingrown toenail", "es", "Uña encarnada"),  # case and spaces do not matter
        ("Ingrown toenail", "en", "Ingrown toenail"),
        # Without a `language`, the calendar's (Spanish here): the title's days are Spanish too.
        ("Ingrown toenail", None, "Uña encarnada"),
        # A language the table has no name in: the default name.
        ("Uña encarnada", "fr", "Uña encarnada"),
        ("Ingrown toenail", "de", "Uña encarnada"),
    ],
)
async def test_the_name_follows_the_call_s_language(
    stored: str, language: str | None, shown: str
) -> None:
    cal = memory()
    await book_in_spanish(cal, service_name=stored)
    params: dict[str, Any] = {"contact_id": "john", "services": SERVICES}
    if language is not None:
        params["language"] = language
    [record] = await call(cal, "list_appointments", **params)
    assert record["service_name"] == shown
    assert record["title"].endswith(f" · {shown}")


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("pt-BR", "Unha encravada"),  # its own region first
        ("pt_br", "Unha encravada"),
        ("pt-PT", "Unha encarnada"),  # else its language
        ("PT", "Unha encarnada"),
        ("en-GB", "Ingrown toenail"),
        # A language the calendar does not write: its days in the calendar's, the service in it.
        ("nl", "Ingegroeide teennagel"),
    ],
)
async def test_names_are_found_by_language_tag(language: str, shown: str) -> None:
    services = {
        "ingrown": {
            "name": "Uña encarnada",
            "name_en": "Ingrown toenail",
            "name_pt": "Unha encarnada",
            "name_pt_BR": "Unha encravada",
            "name_nl": "Ingegroeide teennagel",
        }
    }
    cal = memory()
    await book_in_spanish(cal)
    [item] = await call(
        cal, "get_future_appointments", contact_id="john", services=services, language=language
    )
    assert item["title"].endswith(f" · {shown}")


async def test_a_name_of_its_own_or_of_no_single_service_is_shown_as_stored() -> None:
    services = {
        **SERVICES,
        # Two services named alike in some language: a booking by that name alone is neither.
        "check": {"name": "Revisión", "name_en": "Check-up"},
        "recheck": {"name": "Revisión", "name_en": "Follow-up"},
        # Not a language: no name of the service.
        "nails": {"name": "Uñas", "name_en": "Nails", "name_short": "Corte"},
    }
    cal = memory()
    await book_in_spanish(cal, "2024-05-07_1000", service_name="Uña encarnada (las dos)")
    await book_in_spanish(cal, "2024-05-07_1100", service_key="", service_name="Revisión")
    await book_in_spanish(cal, "2024-05-07_1200", service_key="recheck", service_name="Revisión")
    await book_in_spanish(cal, "2024-05-07_1300", service_key="", service_name="Corte")
    await book_in_spanish(cal, "2024-05-07_1330", service_key="insoles", service_name="")
    records = await call(
        cal, "list_appointments", contact_id="john", services=services, language="en"
    )
    assert [r["service_name"] for r in records] == [
        "Uña encarnada (las dos)",  # the flow's own label for the service: kept
        "Revisión",  # two services have that name, and it kept no key
        "Follow-up",  # its key tells which
        "Corte",
        "Insoles",  # kept only its key: named from the table, in the call's language
    ]


async def test_the_booking_and_the_repeated_cancel_name_it_in_the_call_s_language() -> None:
    cal = memory()
    english = {"services": SERVICES, "language": "en"}
    booked = await book_in_spanish(cal, **english)
    assert booked["message"] == f"Booked: {TUESDAY_EN} · Ingrown toenail."
    assert booked["appointment"]["service_name"] == "Ingrown toenail"
    assert [a.service_name for a in cal.appointments] == ["Uña encarnada"]  # as booked
    cancel = {"event_id": booked["event_id"], "contact_id": "john", **english}
    first = await call(cal, "cancel_appointment", **cancel)
    again = await call(cal, "cancel_appointment", **cancel)
    assert first["message"] == f"Cancelled: {TUESDAY_EN} · Ingrown toenail."
    assert again == {
        "success": True,
        "message": f"That appointment was already cancelled: {TUESDAY_EN} · Ingrown toenail.",
    }


async def test_a_pool_passes_the_table_and_the_language_to_its_members() -> None:
    members = {
        f"calendar.{name}": memory_adapter.build(
            {"schedule": SCHEDULE, "language": "es"},
            timezone="Europe/Madrid",
            clock=StoppedClock(),
            binding=f"calendar.{name}",
        )
        for name in ("ana", "rui")
    }
    pool: CalendarPool = build_pool(
        {"type": "calendar_pool", "members": list(members), "language": "es"},
        binding="calendar.anyone",
    )
    pool.attach(members)
    await book_in_spanish(pool)
    [item] = await call(
        pool, "get_future_appointments", contact_id="john", services=SERVICES, language="en"
    )
    assert item["title"] == f"{TUESDAY_EN} · Ingrown toenail"


async def test_a_name_in_a_language_must_be_text_when_given() -> None:
    cal = memory()
    services = {"ingrown": {"name": "Uña encarnada", "name_en": ["Ingrown toenail"]}}
    with pytest.raises(ConnectorRejected, match=r"'services' \['ingrown'\] name_en"):
        await call(cal, "list_appointments", contact_id="john", services=services, language="en")
