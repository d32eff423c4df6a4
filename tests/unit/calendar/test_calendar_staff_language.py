"""What staff read in their calendar app of a booking the bot made (the description's first
line, the title of a booking with no service) is in the calendar's language, on Google and
CalDAV; the `[botfleet]` lines the bot reads back are the same in every language."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_fakes import USER, CalDavServer, FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar.texts import CALENDAR_TEXTS, calendar_texts
from botfleet.domain.calendar import Appointment

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
SCHEDULE = {"mon": ["10:00-14:00"]}
CAL = "salon@example.com"
#: Booked with no service: the title falls back to the calendar's word for an appointment.
NO_SERVICE = Appointment("", "c1", NOW.replace(hour=10), NOW.replace(hour=10, minute=30), "", "Ana")


class StoppedClock:
    def now(self) -> datetime:
        return NOW


async def book(connector: Any) -> None:
    params = {"slot": "2024-05-06_1000", "contact_id": "c1", "contact_name": "Ana"}
    reply = await connector.call("book_appointment", params, idempotency_key="book")
    assert reply["success"] is True


@pytest.mark.parametrize("language", sorted(CALENDAR_TEXTS))
def test_every_language_writes_its_own_words_and_the_fields_parse_back(language: str) -> None:
    texts = calendar_texts(language)
    assert wire.summary(NO_SERVICE, texts) == f"{texts.event_title} · Ana"
    text = wire.description(NO_SERVICE, texts)
    assert text.startswith(f"{texts.event_note}\n\n[botfleet]\n")
    assert wire.parse_description(text) == {"contact_id": "c1", "contact_name": "Ana"}
    if language != "en":
        assert texts.event_title != "Appointment"
        assert texts.event_note != CALENDAR_TEXTS["en"].event_note


def test_a_service_names_the_event_in_any_language() -> None:
    booked = Appointment("", "c1", NO_SERVICE.start, NO_SERVICE.end, "cut", "Ana", "Corte")
    assert wire.summary(booked, calendar_texts("es")) == "Corte · Ana"


async def test_a_spanish_google_calendars_events_are_in_spanish() -> None:
    api = FakeGoogleCalendar(CAL)
    settings = {
        "calendar_id": CAL,
        "schedule": SCHEDULE,
        "api_base_url": "http://127.0.0.1:8777/calendar/v3/",
        "language": "es",
    }
    connector = google_adapter.build(
        settings, timezone="Europe/Madrid", clock=StoppedClock(), http=api
    )
    await book(connector)
    (event,) = api.live().values()
    assert event["summary"] == "Cita · Ana"
    assert event["description"].startswith("Reservada a través del asistente de reservas.\n")


async def test_a_catalan_caldav_calendars_events_are_in_catalan(
    caldav_server: CalDavServer,
) -> None:
    url = caldav_server.make_calendar("Bookings")
    raw = {
        "url": caldav_server.url,
        "username": USER,
        "password": "secret",
        "schedule": SCHEDULE,
        "calendar_name": "Bookings",
        "language": "ca",
    }
    connector = caldav_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock())
    await book(connector)
    with caldav_server.staff() as client:
        (resource,) = client.calendar(url=url).events()
        event = resource.icalendar_component
    assert str(event["summary"]) == "Cita · Ana"
    assert str(event["description"]).startswith("Reservada a través de l'assistent de reserves.\n")


async def test_an_english_calendar_keeps_its_words() -> None:
    api = FakeGoogleCalendar(CAL)
    settings = {
        "calendar_id": CAL,
        "schedule": SCHEDULE,
        "api_base_url": "http://127.0.0.1:8777/calendar/v3/",
    }
    connector = google_adapter.build(
        settings, timezone="Europe/Madrid", clock=StoppedClock(), http=api
    )
    await book(connector)
    (event,) = api.live().values()
    assert event["summary"] == "Appointment · Ana"
    assert event["description"].startswith("Booked through the booking assistant.\n")
