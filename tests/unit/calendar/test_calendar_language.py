"""The calendar's language: day and appointment titles and answers' messages in each language
the platform knows, ids, reasons and machine fields the same in all of them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar import InMemoryCalendar, build, formatting
from botfleet.adapters.connectors.calendar.store import EventChanged
from botfleet.adapters.connectors.calendar.texts import (
    CALENDAR_TEXTS,
    ENGLISH,
    LANGUAGES,
    Refusal,
)
from botfleet.testing.clock import FrozenClock

MADRID = ZoneInfo("Europe/Madrid")
#: Friday 5 January 2024, noon in Madrid.
NOW = datetime(2024, 1, 5, 12, 0, tzinfo=MADRID)
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
#: Monday 10 March 2025, Wednesday 17 September 2025, Sunday 1 December 2024.
DAYS = (date(2025, 3, 10), date(2025, 9, 17), date(2024, 12, 1))
DAY_TITLES = {
    "en": ["Mon 10 Mar", "Wed 17 Sep", "Sun 1 Dec"],
    "es": ["Lun 10 mar", "Mié 17 sept", "Dom 1 dic"],
    "pt": ["Seg 10 mar", "Qua 17 set", "Dom 1 dez"],
    "fr": ["Lun. 10 mars", "Mer. 17 sept.", "Dim. 1 déc."],
    "de": ["Mo., 10. März", "Mi., 17. Sept.", "So., 1. Dez."],
    "it": ["Lun 10 mar", "Mer 17 set", "Dom 1 dic"],
    "ca": ["Dl. 10 de març", "Dc. 17 de set.", "Dg. 1 de des."],
}
#: The answer to booking Monday 8 January 2024 at 10:00 (service "Corte").
BOOKED = {
    "en": "Booked: Mon 8 Jan · 10:00 · Corte.",
    "es": "Reservada: Lun 8 ene · 10:00 · Corte.",
    "pt": "Marcado: Seg 8 jan · 10:00 · Corte.",
    "fr": "Réservé\u00a0: Lun. 8 janv. · 10:00 · Corte.",
    "de": "Gebucht: Mo., 8. Jan. · 10:00 · Corte.",
    "it": "Prenotato: Lun 8 gen · 10:00 · Corte.",
    "ca": "Reservada: Dl. 8 de gen. · 10:00 · Corte.",
}
#: The refusal of a time something else holds.
SLOT_TAKEN = {
    "en": "Sorry, that slot was just taken. Please choose another time.",
    "es": "Lo sentimos, esa hora se acaba de ocupar. Hay que elegir otra.",
    "pt": "Lamentamos, mas esse horário acabou de ser ocupado. É preciso escolher outro.",
    "fr": "Désolé, ce créneau vient d'être pris. Merci de choisir un autre horaire.",
    "de": "Leider wurde dieser Termin gerade vergeben. Bitte eine andere Uhrzeit wählen.",
    "it": "Ci dispiace, quell'orario è appena stato preso. Bisogna sceglierne un altro.",
    "ca": "Ho sentim, aquesta hora s'acaba d'ocupar. Cal triar-ne una altra.",
}
#: The refusal of a cancellation of an appointment the contact does not have.
NOT_FOUND = {
    "en": "No such appointment was found for you.",
    "es": "No hemos encontrado esa cita.",
    "pt": "Não encontramos essa marcação.",
    "fr": "Nous n'avons pas trouvé ce rendez-vous.",
    "de": "Wir haben diesen Termin nicht gefunden.",
    "it": "Non abbiamo trovato questo appuntamento.",
    "ca": "No hem trobat aquesta cita.",
}
#: WhatsApp's limit on a reply button's title, the shortest place a day title is shown.
BUTTON_TITLE_MAX = 20


def make(language: str | None) -> InMemoryCalendar:
    raw: dict[str, Any] = {"type": "mock_calendar", "schedule": SCHEDULE}
    if language is not None:
        raw["language"] = language
    return build(raw, timezone="Europe/Madrid", clock=FrozenClock(NOW))


_keys = iter(range(1_000_000))


async def call(calendar: InMemoryCalendar, operation: str, **params: Any) -> Any:
    return await calendar.call(operation, params, idempotency_key=f"k{next(_keys)}")


async def book(calendar: InMemoryCalendar, slot: str, contact: str = "ana") -> Any:
    return await call(
        calendar,
        "book_appointment",
        slot=slot,
        contact_id=contact,
        service_key="corte",
        service_name="Corte",
    )


def test_the_platforms_languages_each_have_every_text() -> None:
    assert LANGUAGES == ("ca", "de", "en", "es", "fr", "it", "pt")
    for texts in CALENDAR_TEXTS.values():
        assert set(texts.refusals) == set(Refusal)
        assert len(set(texts.weekdays)) == 7
        assert len(set(texts.months)) == 12
        for template in (texts.booked, texts.moved, texts.cancelled, texts.already_cancelled):
            assert template.count("{title}") == 1


@pytest.mark.parametrize("language", sorted(DAY_TITLES))
def test_day_items_keep_their_ids_and_title_the_day_in_the_language(language: str) -> None:
    items = formatting.day_items(DAYS, CALENDAR_TEXTS[language])
    assert [item["id"] for item in items] == [item["id"] for item in formatting.day_items(DAYS)]
    assert [item["title"] for item in items] == DAY_TITLES[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_day_title_fits_a_button(language: str) -> None:
    texts = CALENDAR_TEXTS[language]
    days = [date(2028, 1, 1) + timedelta(days=n) for n in range(366)]
    longest = max((texts.day_title(day) for day in days), key=len)
    assert len(longest) <= BUTTON_TITLE_MAX, longest


def test_english_is_the_default_and_unchanged() -> None:
    assert formatting.day_title(date(2025, 3, 10)) == "Mon 10 Mar"
    assert make(None).texts is ENGLISH


@pytest.mark.parametrize("language", sorted(BOOKED))
async def test_answers_are_in_the_calendars_language(language: str) -> None:
    calendar = make(language)
    booked = await book(calendar, "2024-01-08_1000")
    assert booked["message"] == BOOKED[language]
    record = booked["appointment"]
    assert record["title"] == BOOKED[language].split(": ", 1)[1].removesuffix(".")
    assert (record["date"], record["time"], record["slot"]) == (
        "2024-01-08",
        "10:00",
        "2024-01-08_1000",
    )

    taken = await book(calendar, "2024-01-08_1000", contact="bea")
    assert taken == {
        "success": False,
        "event_id": "",
        "reason": "slot_taken",
        "message": SLOT_TAKEN[language],
    }
    not_hers = await call(calendar, "cancel_event", event_id=booked["event_id"], contact_id="bea")
    assert not_hers == {"success": False, "reason": "not_found", "message": NOT_FOUND[language]}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
async def test_every_message_differs_from_english_and_every_reason_is_the_same(
    language: str,
) -> None:
    english, other = make("en"), make(language)
    answers: list[tuple[Any, Any]] = []
    for calendar in (english, other):
        booked = await book(calendar, "2024-01-08_1000")
        event_id = booked["event_id"]
        replies = [
            booked,
            await book(calendar, "2024-01-08_1000", contact="bea"),  # taken
            await book(calendar, "2024-01-10_1000"),  # Wednesday: closed
            await call(
                calendar,
                "reschedule_appointment",
                event_id=event_id,
                contact_id="ana",
                slot="2024-01-09_1100",
            ),
        ]

        async def edited(event_id: str) -> bool:
            raise EventChanged(event_id)

        calendar.memory.delete = edited  # type: ignore[method-assign]  # staff edited it meanwhile
        replies.append(await call(calendar, "cancel_event", event_id=event_id, contact_id="ana"))
        answers.append(tuple(replies))
    for in_english, translated in zip(*answers, strict=True):
        assert translated.get("reason") == in_english.get("reason")
        assert translated.get("event_id") == in_english.get("event_id")
        assert translated["message"] != in_english["message"]
    assert [r.get("reason") for r in answers[1]] == [
        None,
        "slot_taken",
        "unavailable",
        None,
        "changed",
    ]
    texts = CALENDAR_TEXTS[language]
    assert answers[1][2]["message"] == texts.refusal(Refusal.SLOT_UNAVAILABLE)
    assert answers[1][3]["message"].startswith(texts.moved.split("{title}")[0])
    assert answers[1][4]["message"] == texts.refusal(Refusal.CHANGED)


async def test_appointment_lists_title_in_the_language_and_keep_their_ids() -> None:
    spanish, english = make("es"), make("en")
    for calendar in (spanish, english):
        await book(calendar, "2024-01-09_1030")
    items = await call(spanish, "get_future_appointments", contact_id="ana", id_prefix="move_")
    assert [item["title"] for item in items] == ["Mar 9 ene · 10:30 · Corte"]
    (listed,) = await call(spanish, "list_appointments", contact_id="ana")
    (listed_in_english,) = await call(english, "list_appointments", contact_id="ana")
    assert listed["title"] == "Mar 9 ene · 10:30 · Corte"
    assert {k: v for k, v in listed.items() if k not in ("title", "event_id")} == {
        k: v for k, v in listed_in_english.items() if k not in ("title", "event_id")
    }
    cancelled = await call(spanish, "cancel_event", event_id=items[0]["id"][5:], contact_id="ana")
    assert cancelled == {"success": True, "message": "Cancelada: Mar 9 ene · 10:30 · Corte."}


async def test_available_days_are_titled_in_the_language() -> None:
    days = await call(make("de"), "get_available_days", lookahead_days=5)
    assert days == [
        {"id": "day_2024-01-08", "title": "Mo., 8. Jan."},
        {"id": "day_2024-01-09", "title": "Di., 9. Jan."},
    ]
