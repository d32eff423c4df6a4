"""Rescheduling in the demo flow, through the runtime with the in-memory calendar: the failure
paths (time taken meanwhile, appointment gone, calendar down) and the typed shortcut."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.domain.outputs import Buttons, ListMenu, Output, Text
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

FLOW = Path(__file__).parents[3] / "flows" / "peluqueria_flow.yaml"
WEEKDAYS = {day: ["10:00-14:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
MENU_IDS = ["menu_book", "menu_view", "menu_cancel"]


def config() -> Any:
    calendar = {"type": "mock_calendar", "schedule": WEEKDAYS}
    return make_tenant_config(FLOW, name="Bella Hair Studio", connectors={"calendar": calendar})


def texts(outputs: tuple[Output, ...]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


def options(output: Output) -> list[str]:
    if isinstance(output, Buttons):
        return [b.id for b in output.buttons]
    if isinstance(output, ListMenu):
        return [row.id for section in output.sections for row in section.rows]
    raise AssertionError(f"no options in {output!r}")


class Chat:
    def __init__(self, runtime: Any, contact: str) -> None:
        self.runtime, self.contact = runtime, contact

    async def say(self, text: str) -> tuple[Output, ...]:
        return (await self.runtime.handle(text_message(self.contact, text))).outputs

    async def press(self, payload: str) -> tuple[Output, ...]:
        return (await self.runtime.handle(choice_message(self.contact, payload))).outputs


async def book(chat: Chat, day: str, slot: str) -> None:
    await chat.say("hola")
    await chat.press("menu_book")
    await chat.press("service_haircut")
    await chat.press(f"day_{day}")
    await chat.press(f"hour_{slot}")
    assert texts(await chat.press("confirm_yes"))[0].startswith("✅ Booked")


async def to_move_confirmation(chat: Chat, event_id: str, day: str, slot: str) -> None:
    await chat.press("menu_reschedule")
    await chat.press(f"move_appt_{event_id}")
    await chat.press(f"day_{day}")
    assert texts(await chat.press(f"hour_{slot}"))[0].startswith("Move your haircut appointment to")


async def test_a_time_taken_meanwhile_offers_the_remaining_ones() -> None:
    async with bootstrap_test_runtime(config()) as runtime:
        calendar = runtime.connectors.get("calendar")
        assert isinstance(calendar, InMemoryCalendar)
        ana, bea = Chat(runtime, "ana"), Chat(runtime, "bea")
        await book(ana, "2024-05-07", "2024-05-07_1000")
        (mine,) = calendar.appointments
        await to_move_confirmation(ana, mine.event_id, "2024-05-08", "2024-05-08_1200")
        await book(bea, "2024-05-08", "2024-05-08_1200")
        taken = await ana.press("move_yes")
        assert texts(taken)[:2] == [
            "Sorry, that time was just taken by someone else. Here are the times still free:",
            "What time on Wed 8 May?",
        ]
        assert "hour_2024-05-08_1200" not in options(taken[-1])
        assert "hour_2024-05-08_1230" in options(taken[-1])
        assert calendar.appointments[0].event_id == mine.event_id  # ana's is unchanged
        assert calendar.appointments[0].start == mine.start


async def test_an_appointment_gone_meanwhile_is_explained() -> None:
    async with bootstrap_test_runtime(config()) as runtime:
        calendar = runtime.connectors.get("calendar")
        assert isinstance(calendar, InMemoryCalendar)
        ana = Chat(runtime, "ana")
        await book(ana, "2024-05-07", "2024-05-07_1000")
        (mine,) = calendar.appointments
        await to_move_confirmation(ana, mine.event_id, "2024-05-08", "2024-05-08_1200")
        del calendar.memory.bookings[mine.event_id]  # staff deleted it in their calendar
        gone = await ana.press("move_yes")
        assert texts(gone)[0] == "No such appointment was found for you."
        assert options(gone[-1]) == MENU_IDS


async def test_change_can_be_typed_and_nothing_to_move_says_so() -> None:
    async with bootstrap_test_runtime(config()) as runtime:
        chat = Chat(runtime, "ana")
        await chat.say("hola")
        replies = await chat.say("Change")
        assert texts(replies)[0] == "You have no upcoming appointments to move."
        assert options(replies[-1]) == MENU_IDS


async def test_a_calendar_down_while_moving_changes_nothing_and_says_so() -> None:
    down = OperationScript(fail_always=True, error="unavailable")
    calendar = ScriptedConnector(
        {
            "get_future_appointments": OperationScript(
                result=[{"id": "move_appt_e1", "title": "Tue 7 May · 10:00 · haircut"}]
            ),
            "list_appointments": OperationScript(
                result=[{"event_id": "e1", "service": "haircut", "service_name": "Haircut"}]
            ),
            "get_available_days": OperationScript(result=[{"id": "day_2024-05-08", "title": "W"}]),
            "get_slots_for_day": OperationScript(
                result=[{"id": "hour_2024-05-08_1200", "title": "12:00"}]
            ),
            "reschedule_appointment": down,
        },
        category="calendar",
    )
    async with bootstrap_test_runtime(config(), connectors={"calendar": calendar}) as runtime:
        chat = Chat(runtime, "ana")
        await chat.say("hola")
        await to_move_confirmation(chat, "e1", "2024-05-08", "2024-05-08_1200")
        replies = await chat.press("move_yes")
        assert texts(replies)[0] == (
            "I couldn't reach our calendar, so your appointment was not changed. "
            "Please try again later."
        )
        assert options(replies[-1]) == MENU_IDS
        calls = calendar.calls_to("reschedule_appointment")
        assert {c.params["event_id"] for c in calls} == {"e1"}
        assert len({c.idempotency_key for c in calls}) == 1  # retries reuse the key
