"""The demo's reminder reads the appointment from the calendar when it is sent, over HTTP with a
ManualScheduler: staff edit the in-memory calendar behind the bot's back after the booking.

A moved appointment is reminded at its new time (and day), a deleted one not at all; the
calendar down, or a job stored by an earlier version of the flow (no `event_id`), gets the
reminder as booked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.adapters.connectors.calendar.formatting import day_title
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

DEMO = Path(__file__).parents[3] / "examples" / "tenants" / "demo.yaml"
MADRID = ZoneInfo("Europe/Madrid")
CONTACT = "+34600111222"
#: Monday 6 May 2024, 09:00 in Madrid (the salon opens at 10:00).
START = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)


@dataclass
class Salon:
    chat: ChatClient
    scheduler: ManualScheduler
    calendar: InMemoryCalendar


@dataclass(frozen=True)
class Booking:
    event_id: str
    start: datetime  # wall time in Madrid

    @property
    def time(self) -> str:
        return self.start.strftime("%H:%M")


@pytest.fixture
async def salon() -> AsyncIterator[Salon]:
    clock = FrozenClock(START.astimezone(UTC))
    scheduler = ManualScheduler(clock, tenant_id="demo")
    config = load_tenant_config(DEMO)
    async with running_app(
        config, settings=make_settings(), clock=clock, scheduler=scheduler
    ) as chat:
        calendar = chat.runtime.connectors.get("calendar")
        assert isinstance(calendar, InMemoryCalendar)
        yield Salon(chat, scheduler, calendar)


def options(replies: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for reply in replies:
        ids += [b["id"] for b in reply.get("buttons", [])]
        for section in reply.get("sections", []):
            ids += [r["id"] for r in section["rows"]]
    return ids


async def book(chat: ChatClient) -> Booking:
    """A haircut on the fourth day offered (Thursday 9 May), at its first time (10:00)."""
    await chat.press(CONTACT, "menu_book")
    day = options(await chat.press(CONTACT, "service_haircut", kind="list_reply"))[3]
    slot = options(await chat.press(CONTACT, day, kind="list_reply"))[0]
    await chat.press(CONTACT, slot, kind="list_reply")
    booked = await chat.press(CONTACT, "confirm_yes")
    assert booked[0]["text"].startswith("✅ Booked: Haircut")
    [job] = await reminders(chat)
    start = datetime.strptime(slot.removeprefix("hour_"), "%Y-%m-%d_%H%M").replace(tzinfo=MADRID)
    assert (start.date().isoformat(), start.strftime("%H:%M")) == ("2024-05-09", "10:00")
    return Booking(job["key"].removeprefix("reminder:"), start)


async def reminders(chat: ChatClient) -> list[dict[str, Any]]:
    response = await chat.http.get("/tasks", params={"contact_id": CONTACT, "task": "reminder"})
    assert response.status_code == 200, response.text
    tasks: list[dict[str, Any]] = response.json()["tasks"]
    return tasks


async def sent_when_due(salon: Salon, booking: Booking) -> list[str]:
    """What the contact gets once the reminder's time (the day before, same wall time) passed."""
    seen = len(await salon.chat.messages(CONTACT))
    await salon.scheduler.advance_to(booking.start - timedelta(days=1) + timedelta(minutes=1))
    assert await reminders(salon.chat) == []  # it ran
    return [m["output"]["text"] for m in (await salon.chat.messages(CONTACT))[seen:]]


def staff_move(calendar: InMemoryCalendar, event_id: str, by: timedelta) -> datetime:
    """Staff drag the appointment in their calendar app; its new start."""
    appointment = calendar.memory.bookings[event_id]
    calendar.memory.bookings[event_id] = replace(
        appointment, start=appointment.start + by, end=appointment.end + by
    )
    return (appointment.start + by).astimezone(MADRID)


def as_booked(time: str) -> str:
    return f"Reminder: your Haircut appointment is tomorrow at {time}. Reply 'menu' to manage it."


async def test_the_reminder_carries_the_appointments_event_id_when_booked_and_moved(
    salon: Salon,
) -> None:
    booking = await book(salon.chat)
    [job] = await reminders(salon.chat)
    assert job["data"] == {"event_id": booking.event_id, "service": "Haircut", "time": "10:00"}

    [appointment] = options(await salon.chat.press(CONTACT, "menu_reschedule"))
    days = options(await salon.chat.press(CONTACT, appointment, kind="list_reply"))
    slot = options(await salon.chat.press(CONTACT, days[5], kind="list_reply"))[-1]
    await salon.chat.press(CONTACT, slot, kind="list_reply")
    assert (await salon.chat.press(CONTACT, "move_yes"))[0]["text"].startswith("✅ Moved")
    [moved] = await reminders(salon.chat)
    assert moved["data"]["event_id"] == booking.event_id


async def test_an_appointment_staff_moved_is_reminded_at_its_new_time(salon: Salon) -> None:
    booking = await book(salon.chat)
    staff_move(salon.calendar, booking.event_id, timedelta(hours=2, minutes=30))
    assert await sent_when_due(salon, booking) == [
        "Reminder: your Haircut appointment is tomorrow at 12:30. Reply 'menu' to manage it."
    ]


async def test_an_appointment_staff_moved_to_another_day_is_reminded_with_that_day(
    salon: Salon,
) -> None:
    booking = await book(salon.chat)
    start = staff_move(salon.calendar, booking.event_id, timedelta(days=1, hours=1))
    day = day_title(start.date())
    assert day == "Fri 10 May"
    assert await sent_when_due(salon, booking) == [
        f"Reminder: your Haircut appointment is on {day} at 11:00. Reply 'menu' to manage it."
    ]


async def test_an_appointment_staff_deleted_gets_no_reminder(salon: Salon) -> None:
    booking = await book(salon.chat)
    del salon.calendar.memory.bookings[booking.event_id]
    assert await sent_when_due(salon, booking) == []


async def test_the_calendar_down_sends_the_reminder_as_booked(
    salon: Salon, monkeypatch: pytest.MonkeyPatch
) -> None:
    booking = await book(salon.chat)
    # Moved too: the bot cannot know, and says what it was told at the booking.
    staff_move(salon.calendar, booking.event_id, timedelta(hours=2))

    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise ConnectorUnavailable("the calendar does not answer")

    monkeypatch.setattr(salon.calendar.memory, "appointments_from", unreachable)
    assert await sent_when_due(salon, booking) == [as_booked("10:00")]


async def test_a_job_of_an_earlier_version_without_event_id_sends_the_reminder_as_booked(
    salon: Salon,
) -> None:
    booking = await book(salon.chat)
    # The job as the flow stored it before reminders carried `event_id`, under the same key.
    await salon.scheduler.schedule(
        ScheduleTask(
            task="reminder",
            run_at=booking.start - timedelta(days=1),
            idempotency_key=f"reminder:{booking.event_id}",
            contact_id=CONTACT,
            data={"service": "Haircut", "time": booking.time},
            run_late_within=timedelta(hours=3),
        )
    )
    [job] = await reminders(salon.chat)
    assert "event_id" not in job["data"]
    # Staff moved it: the old job cannot tell which appointment it was, so it keeps its text.
    staff_move(salon.calendar, booking.event_id, timedelta(hours=2))
    assert await sent_when_due(salon, booking) == [as_booked("10:00")]
