"""The demo flow's reminders over HTTP: booking schedules one the day before, rescheduling moves
it (same `reminder:<event_id>` key), cancelling removes it, and when due it reaches the chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar.formatting import day_title
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

DEMO = Path(__file__).parents[3] / "examples" / "tenants" / "demo.yaml"
MADRID = ZoneInfo("Europe/Madrid")
CONTACT = "+34600111222"
#: Monday 6 May 2024, 09:00 in Madrid (the calendar opens at 10:00).
START = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)


def options(replies: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for reply in replies:
        ids += [b["id"] for b in reply.get("buttons", [])]
        for section in reply.get("sections", []):
            ids += [r["id"] for r in section["rows"]]
    return ids


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if r["type"] == "text"]


@pytest.fixture
async def demo() -> AsyncIterator[tuple[ChatClient, ManualScheduler]]:
    clock = FrozenClock(START.astimezone(UTC))
    scheduler = ManualScheduler(clock, tenant_id="demo")
    config = load_tenant_config(DEMO)
    async with running_app(
        config, settings=make_settings(), clock=clock, scheduler=scheduler
    ) as chat:
        yield chat, scheduler


async def book(chat: ChatClient, *, day_index: int) -> tuple[str, str]:
    """Book a haircut on the `day_index`-th offered day at its first time; (date, HH:MM)."""
    days = options(await chat.press(CONTACT, "menu_book"))
    assert days == ["service_haircut", "service_colour", "service_beard"]
    days = options(await chat.press(CONTACT, "service_haircut", kind="list_reply"))
    day = days[day_index]
    slots = options(await chat.press(CONTACT, day, kind="list_reply"))
    slot = slots[0]
    await chat.press(CONTACT, slot, kind="list_reply")
    booked = texts(await chat.press(CONTACT, "confirm_yes"))
    date, hhmm = slot.removeprefix("hour_").split("_")
    time = f"{hhmm[:2]}:{hhmm[2:]}"
    on = day_title(datetime.fromisoformat(date).date())  # "Tue 7 May", as the list of days
    assert booked[0].startswith(f"✅ Booked: Haircut on {on} at {time}")
    return date, time


async def reminders(chat: ChatClient) -> list[dict[str, Any]]:
    response = await chat.http.get("/tasks", params={"contact_id": CONTACT, "task": "reminder"})
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()["tasks"]
    return tasks


def day_before(date: str, time: str) -> datetime:
    return datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=MADRID) - timedelta(days=1)


async def test_booking_schedules_a_reminder_the_day_before(
    demo: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = demo
    date, time = await book(chat, day_index=3)
    [job] = await reminders(chat)
    assert job["key"].startswith("reminder:")
    event_id = job["key"].removeprefix("reminder:")
    assert job["data"] == {"service": "Haircut", "time": time, "event_id": event_id}
    assert datetime.fromisoformat(job["next_run_at"]) == day_before(date, time)


async def test_rescheduling_moves_the_reminder_and_cancelling_removes_it(
    demo: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = demo
    await book(chat, day_index=2)
    [before] = await reminders(chat)
    event_id = before["key"].removeprefix("reminder:")

    [appointment] = options(await chat.press(CONTACT, "menu_reschedule"))
    assert appointment == f"move_appt_{event_id}"
    days = options(await chat.press(CONTACT, appointment, kind="list_reply"))
    new_day = days[5]
    new_slot = options(await chat.press(CONTACT, new_day, kind="list_reply"))[-1]
    await chat.press(CONTACT, new_slot, kind="list_reply")
    moved = texts(await chat.press(CONTACT, "move_yes"))
    assert moved[0].startswith("✅ Moved")
    date, hhmm = new_slot.removeprefix("hour_").split("_")
    [after] = await reminders(chat)
    assert after["key"] == before["key"]
    assert datetime.fromisoformat(after["next_run_at"]) == day_before(
        date, f"{hhmm[:2]}:{hhmm[2:]}"
    )

    [cancellable] = options(await chat.press(CONTACT, "menu_cancel"))
    await chat.press(CONTACT, cancellable, kind="list_reply")
    assert texts(await chat.press(CONTACT, "cancel_yes")) == ["✅ Your appointment is cancelled."]
    assert await reminders(chat) == []


async def test_the_reminder_reaches_the_chat_when_due(
    demo: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, scheduler = demo
    date, time = await book(chat, day_index=3)
    seen = len(await chat.messages(CONTACT))
    await scheduler.advance_to(day_before(date, time) - timedelta(minutes=1))
    assert len(await chat.messages(CONTACT)) == seen
    await scheduler.advance(minutes=2)
    new = [m["output"]["text"] for m in (await chat.messages(CONTACT))[seen:]]
    assert new == [
        f"Reminder: your Haircut appointment is tomorrow at {time}. Reply 'menu' to manage it."
    ]
    assert await reminders(chat) == []
