"""Transcripts of the demo flow through `step` with the in-memory calendar: book, view, cancel."""

from __future__ import annotations

from pathlib import Path

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.adapters.connectors.calendar import build as build_calendar
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.outputs import ListMenu
from botfleet.flows import effects
from botfleet.flows.effects import CallConnector
from botfleet.flows.events import Event
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import (
    Conversation,
    answer_with,
    button,
    connector_answer,
    flow_from_file,
    list_reply,
)

FLOW = flow_from_file(Path(__file__).parents[3] / "flows/peluqueria_flow.yaml")
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-12:00"]}
MENU_TEXT = "Hi! Welcome to Test Salon. What would you like to do?"


def salon() -> tuple[FrozenClock, InMemoryCalendar]:
    clock = FrozenClock()  # Monday 2024-01-08, 10:00 in Madrid
    return clock, build_calendar({"schedule": SCHEDULE}, timezone="Europe/Madrid", clock=clock)


def chat_with(calendar: InMemoryCalendar, clock: FrozenClock, contact: str = "ana") -> Conversation:
    return Conversation(
        FLOW, contact_id=contact, clock=clock, answer=connector_answer({"calendar": calendar})
    )


def book_until_confirm(chat: Conversation) -> None:
    chat.send("hola")
    chat.send("1")
    chat.send("haircut")
    chat.send(list_reply("day_2024-01-09"))
    chat.send("10:30")


def test_booking_viewing_and_cancelling_an_appointment() -> None:
    clock, calendar = salon()
    chat = chat_with(calendar, clock)

    hello = chat.send("hola")
    assert (hello.texts, hello.option_ids) == (
        [MENU_TEXT],
        ["menu_book", "menu_view", "menu_cancel"],
    )

    services = chat.send("1")
    assert services.option_ids == ["service_haircut", "service_colour", "service_beard"]

    days = chat.send("haircut")
    assert days.calls[0].params == {
        "from_date": "2024-01-08",
        "service_duration_min": 30,
        "presence_min": 30,
        "lookahead_days": 14,
    }
    assert days.texts == ["Which day works for you for a haircut?"]
    assert days.option_ids[:3] == ["day_2024-01-08", "day_2024-01-09", "day_2024-01-15"]

    slots = chat.send(list_reply("day_2024-01-09"))
    assert slots.texts == ["What time on Tue 9 Jan?"]
    assert isinstance(slots.outputs[0], ListMenu)
    assert slots.option_ids == [
        "hour_2024-01-09_1000",
        "hour_2024-01-09_1030",
        "hour_2024-01-09_1100",
        "hour_2024-01-09_1130",
    ]

    confirm = chat.send("10:30")
    assert confirm.texts == ["Haircut on Tue 9 Jan at 10:30 (18 €). Shall I book it?"]

    booked = chat.send("yes, book it")
    assert booked.texts == ["✅ Booked: Haircut on Tue 9 Jan at 10:30. See you then!", MENU_TEXT]
    assert booked.state.node == "MENU"
    [reminder] = [e for e in booked.effects if isinstance(e, effects.ScheduleTask)]
    assert reminder.task == "reminder"
    assert reminder.run_at.isoformat() == "2024-01-08T10:30:00+01:00"
    assert reminder.idempotency_key == "reminder:mem1"
    assert reminder.data == {"service": "Haircut", "time": "10:30", "event_id": "mem1"}
    [appointment] = calendar.appointments
    assert (appointment.contact_id, appointment.service_key) == ("ana", "haircut")

    view = chat.press("menu_view")
    assert view.texts[0].startswith("Your upcoming appointments:\n• ")
    assert "10:30" in view.texts[0]
    assert view.state.node == "MENU"

    cancel = chat.press("menu_cancel")
    assert cancel.option_ids == ["cancel_appt_mem1"]
    assert chat.send("1").texts == ["Cancel your appointment on Tue 9 Jan · 10:30 · Haircut?"]
    cancelled = chat.send("yes, cancel it")
    assert cancelled.texts == ["✅ Your appointment is cancelled.", MENU_TEXT]
    assert effects.CancelTask("reminder:mem1", "ana") in cancelled.effects
    assert calendar.appointments == ()


def test_the_reminder_task_speaks_with_the_carried_data() -> None:
    clock, calendar = salon()
    chat = chat_with(calendar, clock)
    exchange = chat.fire_task("reminder", {"service": "Haircut", "time": "10:30"})
    assert exchange.texts == [
        "Reminder: your Haircut appointment is tomorrow at 10:30. Reply 'menu' to manage it."
    ]
    assert "service" not in exchange.state.data


def test_a_slot_taken_meanwhile_offers_the_remaining_times() -> None:
    clock, calendar = salon()
    ana, bea = chat_with(calendar, clock, "ana"), chat_with(calendar, clock, "bea")
    book_until_confirm(ana)
    book_until_confirm(bea)
    assert bea.send("yes, book it").state.node == "MENU"
    taken = ana.send("yes, book it")
    assert taken.texts == [
        "Sorry, that time was just taken by someone else. Here are the times still free:",
        "What time on Tue 9 Jan?",
    ]
    assert "hour_2024-01-09_1030" not in taken.option_ids
    assert taken.state.node == "BOOK_SLOT"
    assert [a.contact_id for a in calendar.appointments] == ["bea"]


def test_a_calendar_outage_sends_the_user_back_to_the_menu_with_an_explanation() -> None:
    down = answer_with({"get_available_days": ConnectorUnavailable("breaker open")})
    chat = Conversation(FLOW, answer=down)
    chat.send("hola")
    chat.press("menu_book")
    exchange = chat.choose("service_colour")
    assert exchange.texts == [
        "Our calendar is not reachable right now. Please try again in a few minutes.",
        MENU_TEXT,
    ]
    assert exchange.state.node == "MENU"
    assert exchange.diagnostic_events() == ["connector_failed"]


def test_no_free_days_says_so_and_returns_to_the_menu() -> None:
    chat = Conversation(FLOW, answer=answer_with({"get_available_days": []}))
    chat.press("menu_book")
    exchange = chat.choose("service_beard")
    assert exchange.texts == ["Sorry, there are no free days in the next two weeks.", MENU_TEXT]
    assert exchange.state.node == "MENU"


def test_menu_is_a_global_word_from_anywhere() -> None:
    def calls_never_answered(call: CallConnector) -> Event:
        raise AssertionError(f"unexpected call {call.operation}")

    chat = Conversation(FLOW, answer=calls_never_answered)
    chat.send(button("menu_book"))
    assert chat.send(" Menu ").state.node == "MENU"
    chat.send(button("menu_book"))
    assert chat.press("back_to_menu").texts == [MENU_TEXT]
