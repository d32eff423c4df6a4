"""A Spanish salon (tenant `language: es`) running the demo flow on the in-memory calendar: the
calendar's days, appointments and refusals reach the contact in Spanish, through the runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.domain.outputs import Buttons, ListMenu, Output, Text
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

FLOW = Path(__file__).parents[3] / "flows" / "peluqueria_flow.yaml"
WEEKDAYS = {day: ["10:00-14:00"] for day in ("mon", "tue", "wed", "thu", "fri")}


def config(**calendar: Any) -> Any:
    binding = {"type": "mock_calendar", "schedule": WEEKDAYS, **calendar}
    return make_tenant_config(
        FLOW, name="Peluquería Bella", language="es", connectors={"calendar": binding}
    )


def texts(outputs: tuple[Output, ...]) -> list[str]:
    return [o.text if isinstance(o, Text) else getattr(o, "body", "") for o in outputs]


def rows(output: Output) -> list[tuple[str, str]]:
    """(id, title) of each option of a list or buttons."""
    if isinstance(output, Buttons):
        return [(b.id, b.title) for b in output.buttons]
    if isinstance(output, ListMenu):
        return [(row.id, row.title) for section in output.sections for row in section.rows]
    raise AssertionError(f"no options in {output!r}")


class Chat:
    def __init__(self, runtime: Any, contact: str) -> None:
        self.runtime, self.contact = runtime, contact

    async def say(self, text: str) -> tuple[Output, ...]:
        return (await self.runtime.handle(text_message(self.contact, text))).outputs

    async def press(self, payload: str) -> tuple[Output, ...]:
        return (await self.runtime.handle(choice_message(self.contact, payload))).outputs


async def test_a_spanish_salons_client_books_sees_and_cancels_in_spanish() -> None:
    async with bootstrap_test_runtime(config()) as runtime:
        calendar = runtime.connectors.get("calendar")
        assert isinstance(calendar, InMemoryCalendar)
        ana = Chat(runtime, "ana")
        await ana.say("hola")
        await ana.press("menu_book")
        days = await ana.press("service_haircut")  # Monday 6 May 2024, 09:00
        assert rows(days[-1])[:3] == [
            ("day_2024-05-06", "Lun 6 may"),
            ("day_2024-05-07", "Mar 7 may"),
            ("day_2024-05-08", "Mié 8 may"),
        ]
        assert texts(await ana.press("day_2024-05-07"))[0] == "What time on Mar 7 may?"
        await ana.press("hour_2024-05-07_1000")
        booked = await ana.press("confirm_yes")
        assert texts(booked)[0] == "✅ Booked: Haircut on Mar 7 may at 10:00. See you then!"

        listed = await ana.press("menu_view")
        assert texts(listed)[0] == "Your upcoming appointments:\n• Mar 7 may · 10:00 · Haircut"

        (mine,) = calendar.appointments
        choices = await ana.press("menu_cancel")
        assert rows(choices[-1]) == [
            (f"cancel_appt_{mine.event_id}", "Mar 7 may · 10:00 · Haircut")
        ]
        asked = await ana.press(f"cancel_appt_{mine.event_id}")
        assert texts(asked)[0] == "Cancel your appointment on Mar 7 may · 10:00 · Haircut?"
        del calendar.memory.bookings[mine.event_id]  # staff deleted it in their calendar
        gone = await ana.press("cancel_yes")
        assert texts(gone)[0] == "No hemos encontrado esa cita."


async def test_a_move_of_an_appointment_gone_meanwhile_is_explained_in_spanish() -> None:
    async with bootstrap_test_runtime(config()) as runtime:
        calendar = runtime.connectors.get("calendar")
        assert isinstance(calendar, InMemoryCalendar)
        ana = Chat(runtime, "ana")
        await ana.say("hola")
        await ana.press("menu_book")
        await ana.press("service_haircut")
        await ana.press("day_2024-05-07")
        await ana.press("hour_2024-05-07_1000")
        await ana.press("confirm_yes")
        (mine,) = calendar.appointments
        await ana.press("menu_reschedule")
        await ana.press(f"move_appt_{mine.event_id}")
        await ana.press("day_2024-05-08")
        await ana.press("hour_2024-05-08_1200")
        del calendar.memory.bookings[mine.event_id]
        gone = await ana.press("move_yes")
        assert texts(gone)[0] == "No hemos encontrado esa cita."


async def test_a_spanish_salon_can_keep_its_calendar_in_english() -> None:
    async with bootstrap_test_runtime(config(language="en")) as runtime:
        ana = Chat(runtime, "ana")
        await ana.say("hola")
        await ana.press("menu_book")
        days = await ana.press("service_haircut")
        assert rows(days[-1])[0] == ("day_2024-05-06", "Mon 6 May")
