"""A call's `language` param: the titles and messages of that call in the language a flow passes
(a bilingual flow's `data.lang`), the binding's language otherwise; ids, reasons and machine
fields unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar import InMemoryCalendar, build
from botfleet.adapters.connectors.calendar.params import Params
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.connectors.calendar.texts import (
    CALENDAR_TEXTS,
    ENGLISH,
    Refusal,
    texts_of,
)
from botfleet.domain.errors import ConnectorRejected
from botfleet.testing.clock import FrozenClock

MADRID = ZoneInfo("Europe/Madrid")
#: Friday 5 January 2024, noon in Madrid.
NOW = datetime(2024, 1, 5, 12, 0, tzinfo=MADRID)
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
SPANISH = CALENDAR_TEXTS["es"]


def make(language: str = "en") -> InMemoryCalendar:
    raw = {"type": "mock_calendar", "schedule": SCHEDULE, "language": language}
    return build(raw, timezone="Europe/Madrid", clock=FrozenClock(NOW))


_keys = iter(range(1_000_000))


async def call(calendar: InMemoryCalendar, operation: str, **params: Any) -> Any:
    return await calendar.call(operation, params, idempotency_key=f"k{next(_keys)}")


async def book(calendar: InMemoryCalendar, slot: str, contact: str = "ana", **extra: Any) -> Any:
    return await call(
        calendar,
        "book_appointment",
        slot=slot,
        contact_id=contact,
        service_key="corte",
        service_name="Corte",
        **extra,
    )


# ------------------------------------------------------------------ reading the param


@pytest.mark.parametrize(
    ("value", "language"),
    [("es", "es"), ("ES", "es"), (" es ", "es"), ("pt-BR", "pt"), ("ca_ES", "ca"), ("de", "de")],
)
def test_a_language_the_calendar_writes_gives_its_texts(value: str, language: str) -> None:
    texts = Params("get_available_days", {"language": value}).texts(ENGLISH)
    assert texts is CALENDAR_TEXTS[language]


@pytest.mark.parametrize("raw", [{}, {"language": None}, {"language": ""}, {"language": "  "}])
def test_a_missing_or_blank_language_keeps_the_bindings(raw: dict[str, Any]) -> None:
    assert Params("get_available_days", raw).texts(SPANISH) is SPANISH


@pytest.mark.parametrize("value", ["nl", "zh-TW", "english", "{{ data.lang }}", "e"])
def test_a_language_the_calendar_does_not_write_keeps_the_bindings(value: str) -> None:
    # Not refused: the value usually comes from the contact, whose booking must still work.
    assert texts_of(value) is None
    assert Params("book_appointment", {"language": value}).texts(SPANISH) is SPANISH


@pytest.mark.parametrize(
    ("value", "kind"), [(7, "int"), (True, "bool"), (["es"], "list"), ({"es": 1}, "dict")]
)
def test_a_language_that_is_not_text_is_refused_naming_the_param(value: Any, kind: str) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        Params("book_appointment", {"language": value}).texts(ENGLISH)
    assert str(caught.value) == f"param 'language' must be a language code such as 'es', got {kind}"


# ------------------------------------------------------------------ each operation


async def test_days_are_titled_in_the_calls_language_with_the_same_ids() -> None:
    calendar = make("en")
    english = await call(calendar, "get_available_days", lookahead_days=7)
    spanish = await call(calendar, "get_available_days", lookahead_days=7, language="es")
    assert (
        [d["id"] for d in spanish]
        == [d["id"] for d in english]
        == [
            "day_2024-01-08",
            "day_2024-01-09",
        ]
    )
    assert [d["title"] for d in english] == ["Mon 8 Jan", "Tue 9 Jan"]
    assert [d["title"] for d in spanish] == ["Lun 8 ene", "Mar 9 ene"]
    # The override is for that call only.
    assert await call(calendar, "get_available_days", lookahead_days=7) == english


async def test_a_spanish_calendar_answers_one_call_in_english() -> None:
    calendar = make("es")
    days = await call(calendar, "get_available_days", lookahead_days=7, language="en")
    assert [d["title"] for d in days] == ["Mon 8 Jan", "Tue 9 Jan"]
    unknown = await call(calendar, "get_available_days", lookahead_days=7, language="nl")
    assert [d["title"] for d in unknown] == ["Lun 8 ene", "Mar 9 ene"]  # the binding's, not English


async def test_slots_are_the_same_in_every_language() -> None:
    calendar = make("en")
    plain = await call(calendar, "get_slots_for_day", date_str="2024-01-08")
    assert plain
    assert await call(calendar, "get_slots_for_day", date_str="2024-01-08", language="es") == plain


async def test_a_booking_and_its_refusals_answer_in_the_calls_language() -> None:
    calendar = make("en")
    booked = await book(calendar, "2024-01-08_1000", language="es")
    assert booked["success"] is True
    assert booked["message"] == "Reservada: Lun 8 ene · 10:00 · Corte."
    record = booked["appointment"]
    assert record["title"] == "Lun 8 ene · 10:00 · Corte"
    assert (record["date"], record["time"], record["slot"], record["event_id"]) == (
        "2024-01-08",
        "10:00",
        "2024-01-08_1000",
        booked["event_id"],
    )

    taken_es = await book(calendar, "2024-01-08_1000", contact="bea", language="es")
    taken_en = await book(calendar, "2024-01-08_1000", contact="bea")
    assert taken_es == {**taken_en, "message": SPANISH.refusal(Refusal.SLOT_TAKEN)}
    closed = await book(calendar, "2024-01-10_1000", language="es")  # Wednesday: closed
    assert closed["reason"] == "unavailable"
    assert closed["message"] == "Lo sentimos, esa hora no está disponible para reservar."


async def test_a_booking_retried_after_a_restart_answers_in_the_retrys_language() -> None:
    calendar = make("en")
    params = {"slot": "2024-01-08_1000", "contact_id": "ana", "service_name": "Corte"}
    first = await calendar.call("book_appointment", params, idempotency_key="same")
    # A new process over the same calendar: only the store remembers the key.
    restarted = CalendarService(calendar.settings, calendar.memory, clock=FrozenClock(NOW))
    again = await restarted.call(
        "book_appointment", {**params, "language": "es"}, idempotency_key="same"
    )
    assert again["event_id"] == first["event_id"]
    assert again["message"] == "Reservada: Lun 8 ene · 10:00 · Corte."
    assert len(calendar.appointments) == 1


async def test_appointment_lists_title_in_the_calls_language() -> None:
    calendar = make("en")
    booked = await book(calendar, "2024-01-09_1030")
    items = await call(calendar, "get_future_appointments", contact_id="ana", language="es")
    assert items == [
        {"id": f"cancel_appt_{booked['event_id']}", "title": "Mar 9 ene · 10:30 · Corte"}
    ]
    english = await call(calendar, "list_appointments", contact_id="ana")
    spanish = await call(calendar, "list_appointments", contact_id="ana", language="es")
    assert [r["title"] for r in spanish] == ["Mar 9 ene · 10:30 · Corte"]
    assert [{**r, "title": ""} for r in spanish] == [{**r, "title": ""} for r in english]


async def test_a_move_answers_in_the_calls_language() -> None:
    calendar = make("en")
    booked = await book(calendar, "2024-01-08_1000")
    mine = {"event_id": booked["event_id"], "contact_id": "ana"}
    moved = await call(
        calendar, "reschedule_appointment", slot="2024-01-09_1100", language="es", **mine
    )
    assert moved["success"] is True
    assert moved["message"] == "Nueva hora: Mar 9 ene · 11:00 · Corte."
    refused = await call(
        calendar, "reschedule_appointment", slot="2024-01-10_1100", language="es", **mine
    )
    assert refused["reason"] == "unavailable"
    assert refused["event_id"] == booked["event_id"]
    assert refused["message"] == "Lo sentimos, esa hora no está disponible para reservar."
    not_hers = await call(
        calendar,
        "reschedule_appointment",
        slot="2024-01-09_1200",
        event_id=booked["event_id"],
        contact_id="bea",
        language="es",
    )
    assert not_hers["message"] == "No hemos encontrado esa cita."


async def test_a_cancellation_answers_in_the_calls_language() -> None:
    calendar = make("en")
    booked = await book(calendar, "2024-01-08_1000")
    not_hers = await call(
        calendar, "cancel_event", event_id=booked["event_id"], contact_id="bea", language="es"
    )
    assert not_hers == {
        "success": False,
        "reason": "not_found",
        "message": "No hemos encontrado esa cita.",
    }
    cancelled = await call(
        calendar, "cancel_appointment", event_id=booked["event_id"], contact_id="ana", language="es"
    )
    assert cancelled == {"success": True, "message": "Cancelada: Lun 8 ene · 10:00 · Corte."}


async def test_a_language_that_is_not_text_fails_the_call_and_books_nothing() -> None:
    calendar = make("en")
    with pytest.raises(ConnectorRejected, match="param 'language' must be a language code"):
        await book(calendar, "2024-01-08_1000", language=7)
    assert calendar.appointments == ()
