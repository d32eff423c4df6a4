"""The demo booking flow through the data plane runtime against a real Radicale calendar.

Book, view, reschedule (the reminder moves with it) and cancel; a slot taken by someone else
meanwhile; a calendar that is down. Everything the flow does goes through the real bootstrap,
the resilience layer and the CalDAV adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from caldav.davclient import DAVClient

from botfleet.domain.outputs import Buttons, ListMenu, Output, Text
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import ScheduledJob
from botfleet.testing.runtime import (
    MADRID,
    bootstrap_test_runtime,
    choice_message,
    make_tenant_config,
    text_message,
)

FLOW = Path(__file__).parents[3] / "flows" / "peluqueria_flow.yaml"
WEEKDAYS = {day: ["10:00-14:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
MENU_IDS = ["menu_book", "menu_view", "menu_cancel"]
USER = "salon"


@dataclass
class RecordingScheduler:
    """A bare `TaskScheduler`: one job per idempotency key, as the real ones keep them."""

    jobs_by_key: dict[str, ScheduleTask] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)

    async def schedule(self, request: ScheduleTask) -> None:
        self.jobs_by_key[request.idempotency_key] = request

    async def cancel(self, idempotency_key: str) -> bool:
        self.cancelled.append(idempotency_key)
        return self.jobs_by_key.pop(idempotency_key, None) is not None

    async def jobs(self, **_filters: Any) -> list[ScheduledJob]:
        return []

    def wanted(self, run_id: str) -> bool:
        return True


def texts(outputs: tuple[Output, ...]) -> list[str]:
    found: list[str] = []
    for output in outputs:
        if isinstance(output, Text):
            found.append(output.text)
        elif isinstance(output, Buttons | ListMenu):
            found.append(output.body)
    return found


def options(output: Output) -> list[str]:
    if isinstance(output, Buttons):
        return [b.id for b in output.buttons]
    if isinstance(output, ListMenu):
        return [row.id for section in output.sections for row in section.rows]
    raise AssertionError(f"no options in {output!r}")


def is_menu(outputs: tuple[Output, ...]) -> bool:
    return options(outputs[-1]) == MENU_IDS


def caldav_tenant(url: str, calendar_name: str, **resilience: Any) -> Any:
    calendar: dict[str, Any] = {
        "type": "caldav",
        "url": url,
        "username": USER,
        "password": "secret",
        "calendar_name": calendar_name,
        "schedule": WEEKDAYS,
    }
    if resilience:
        calendar["resilience"] = resilience
    return make_tenant_config(FLOW, name="Bella Hair Studio", connectors={"calendar": calendar})


class Chat:
    def __init__(self, runtime: Any, contact: str) -> None:
        self.runtime, self.contact = runtime, contact

    async def say(self, text: str) -> tuple[Output, ...]:
        return (await self.runtime.handle(text_message(self.contact, text))).outputs

    async def press(self, payload: str) -> tuple[Output, ...]:
        return (await self.runtime.handle(choice_message(self.contact, payload))).outputs


def server_events(url: str, name: str) -> list[Any]:
    with DAVClient(url=url, username=USER, password="x", auth_type="basic") as client:
        calendar = next(c for c in client.principal().calendars() if c.get_display_name() == name)
        return [c for item in calendar.events() for c in item.icalendar_instance.walk("VEVENT")]


async def book_tuesday(chat: Chat, slot: str = "hour_2024-05-07_1000") -> tuple[Output, ...]:
    assert is_menu(await chat.say("hola"))
    await chat.press("menu_book")
    days = await chat.press("service_haircut")
    assert "day_2024-05-07" in options(days[-1])
    hours = await chat.press("day_2024-05-07")
    assert slot in options(hours[-1])
    confirm = await chat.press(slot)
    assert texts(confirm) == [
        f"Haircut on Tue 7 May at {slot[-4:-2]}:{slot[-2:]} (18 €). Shall I book it?"
    ]
    return await chat.press("confirm_yes")


async def test_book_view_reschedule_and_cancel(radicale_url: str, calendar_name: str) -> None:
    scheduler = RecordingScheduler()
    config = caldav_tenant(radicale_url, calendar_name)
    async with bootstrap_test_runtime(config, scheduler=scheduler) as runtime:
        chat = Chat(runtime, "+34600111222")

        booked = await book_tuesday(chat)
        assert texts(booked)[0] == "✅ Booked: Haircut on Tue 7 May at 10:00. See you then!"
        assert is_menu(booked)
        (event,) = server_events(radicale_url, calendar_name)
        uid = str(event["uid"])
        assert str(event["x-botfleet-contact-id"]) == "+34600111222"
        assert event.decoded("dtstart") == datetime(2024, 5, 7, 10, tzinfo=MADRID)
        reminder = scheduler.jobs_by_key[f"reminder:{uid}"]
        assert reminder.run_at == datetime(2024, 5, 6, 10, tzinfo=MADRID)

        view = await chat.press("menu_view")
        assert texts(view)[0] == "Your upcoming appointments:\n• Tue 7 May · 10:00 · Haircut"
        assert options(view[1]) == ["menu_reschedule"]
        assert is_menu(view)

        pick = await chat.press("menu_reschedule")
        assert texts(pick) == ["Which appointment do you want to move?"]
        assert options(pick[-1]) == [f"move_appt_{uid}"]
        days = await chat.press(f"move_appt_{uid}")
        assert texts(days)[0] == "Which day would suit you better?"
        hours = await chat.press("day_2024-05-08")
        assert "hour_2024-05-08_1200" in options(hours[-1])
        confirm = await chat.press("hour_2024-05-08_1200")
        assert texts(confirm) == ["Move your haircut appointment to Wed 8 May at 12:00?"]
        moved = await chat.press("move_yes")
        assert texts(moved)[0] == "✅ Moved: your haircut appointment is now on Wed 8 May at 12:00."
        assert is_menu(moved)
        (event,) = server_events(radicale_url, calendar_name)
        assert str(event["uid"]) == uid  # the same event, moved
        assert event.decoded("dtstart") == datetime(2024, 5, 8, 12, tzinfo=MADRID)
        # The same `reminder:<event_id>` key: the reminder moved instead of doubling.
        assert list(scheduler.jobs_by_key) == [f"reminder:{uid}"]
        reminder = scheduler.jobs_by_key[f"reminder:{uid}"]
        assert reminder.run_at == datetime(2024, 5, 7, 12, tzinfo=MADRID)
        assert reminder.data == {"service": "Haircut", "time": "12:00", "event_id": uid}

        choose = await chat.press("menu_cancel")
        assert options(choose[-1]) == [f"cancel_appt_{uid}"]
        confirm = await chat.press(f"cancel_appt_{uid}")
        assert texts(confirm) == ["Cancel your appointment on Wed 8 May · 12:00 · Haircut?"]
        cancelled = await chat.press("cancel_yes")
        assert texts(cancelled)[0] == "✅ Your appointment is cancelled."
        assert server_events(radicale_url, calendar_name) == []
        # (the move cancelled the old reminder before scheduling the new one)
        assert scheduler.cancelled == [f"reminder:{uid}", f"reminder:{uid}"]
        assert texts(await chat.press("menu_view"))[0] == "You have no upcoming appointments."


async def test_a_slot_taken_meanwhile_is_refused_and_the_rest_offered(
    radicale_url: str, calendar_name: str
) -> None:
    config = caldav_tenant(radicale_url, calendar_name)
    async with bootstrap_test_runtime(config, scheduler=RecordingScheduler()) as runtime:
        ana, bea = Chat(runtime, "ana"), Chat(runtime, "bea")
        for chat in (ana, bea):  # both reach the confirmation of Tuesday 10:00
            await chat.say("hola")
            await chat.press("menu_book")
            await chat.press("service_haircut")
            await chat.press("day_2024-05-07")
            await chat.press("hour_2024-05-07_1000")
        assert texts(await bea.press("confirm_yes"))[0].startswith("✅ Booked")
        taken = await ana.press("confirm_yes")
        assert texts(taken)[:2] == [
            "Sorry, that time was just taken by someone else. Here are the times still free:",
            "What time on Tue 7 May?",
        ]
        assert "hour_2024-05-07_1000" not in options(taken[-1])
        assert "hour_2024-05-07_1030" in options(taken[-1])
        assert len(server_events(radicale_url, calendar_name)) == 1


async def test_a_calendar_that_is_down_gets_an_apology_and_the_menu() -> None:
    config = caldav_tenant("http://127.0.0.1:9/", "Salon", max_attempts=2, backoff_initial_s=0.01)
    async with bootstrap_test_runtime(config, scheduler=RecordingScheduler()) as runtime:
        chat = Chat(runtime, "c1")
        await chat.say("hola")
        await chat.press("menu_book")
        replies = await chat.press("service_haircut")
        assert texts(replies)[0] == (
            "Our calendar is not reachable right now. Please try again in a few minutes."
        )
        assert is_menu(replies)
