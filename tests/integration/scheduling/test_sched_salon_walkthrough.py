"""A salon's booking flow as the owner runs it: a reminder 24 h before the appointment and a
follow-up 2 h after, moved or cancelled with it; what happens across DST changes, downtime,
a deleted conversation; what the operator sees in `GET /tasks`.

The demo's own reminder (one task, the calendar's event id as key) is covered by
`test_demo_reminders.py`; here a booking has two jobs, keyed by the contact.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, make_tenant_config, running_app
from botfleet.testing.scheduling import ManualJobStore, ManualScheduler

MADRID = ZoneInfo("Europe/Madrid")
#: Monday 6 May 2024, 09:00 in Madrid.
MONDAY = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)
ANA = "+34600111222"


def schedule(task: str, run_at: str) -> dict[str, Any]:
    return {
        "action": "schedule_task",
        "task": task,
        "run_at": run_at,
        "idempotency_key": task + ":{{ contact.id }}",
        "data": {"at": "{{ data.appt }}"},
    }


def cancel(task: str) -> dict[str, Any]:
    return {"action": "cancel_task", "idempotency_key": task + ":{{ contact.id }}"}


#: Pressing `book_<wall time>` books (or moves the booking to) that time; `cancel` cancels it.
FLOW: dict[str, Any] = {
    "id": "salon",
    "initial_state": "IDLE",
    "tasks": {
        "reminder": [{"action": "send_text", "text": "Reminder: {{ data.at }}"}],
        "follow_up": [{"action": "send_text", "text": "How was {{ data.at }}?"}],
    },
    "states": {
        "IDLE": {
            "transitions": [
                {"on_payload_prefix": "book_", "extract_suffix_as": "appt", "target": "BOOKED"},
                {"on_payload": "cancel", "target": "CANCELLED"},
            ],
            "fallback": "IDLE",
        },
        "BOOKED": {
            "on_enter": [
                schedule("reminder", "{{ data.appt | shift_time(days=-1) }}"),
                schedule("follow_up", "{{ data.appt | shift_time(hours=2) }}"),
                {"action": "send_text", "text": "Booked {{ data.appt }}"},
            ],
            "next": "IDLE",
        },
        "CANCELLED": {
            "on_enter": [
                cancel("reminder"),
                cancel("follow_up"),
                {"action": "send_text", "text": "Cancelled"},
            ],
            "next": "IDLE",
        },
    },
}


@asynccontextmanager
async def salon(
    start: datetime, *, state_db: Path | None = None, store: ManualJobStore | None = None
) -> AsyncIterator[tuple[ChatClient, ManualScheduler]]:
    clock = FrozenClock(start.astimezone(UTC))
    scheduler = ManualScheduler(clock, tenant_id="salon", store=store)
    config = make_tenant_config(FLOW, tenant_id="salon", timezone="Europe/Madrid")
    async with running_app(
        config, settings=make_settings(state_db), clock=clock, scheduler=scheduler
    ) as chat:
        yield chat, scheduler


async def pending(chat: ChatClient) -> dict[str, str]:
    """key -> due time on Madrid's wall clock, as `GET /tasks` lists them."""
    response = await chat.http.get("/tasks")
    assert response.status_code == 200, response.text
    return {
        task["key"].split(":")[0]: datetime.fromisoformat(task["next_run_at"])
        .astimezone(MADRID)
        .strftime("%m-%d %H:%M %Z")
        for task in response.json()["tasks"]
    }


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [reply["text"] for reply in replies]


async def received(chat: ChatClient) -> list[str]:
    return [row["output"]["text"] for row in await chat.messages(ANA)]


async def test_a_move_or_a_cancel_takes_the_reminder_and_the_follow_up_with_it() -> None:
    async with salon(MONDAY) as (chat, _):
        await chat.press(ANA, "book_2024-05-08T10:00")
        assert await pending(chat) == {
            "reminder": "05-07 10:00 CEST",
            "follow_up": "05-08 12:00 CEST",
        }
        await chat.press(ANA, "book_2024-05-09T17:30")  # moved: same keys, replaced
        assert await pending(chat) == {
            "reminder": "05-08 17:30 CEST",
            "follow_up": "05-09 19:30 CEST",
        }
        # Moved to today, 3 h from now: its "day before" has passed, so no reminder (and the
        # one for Thursday is gone), but the follow-up is still wanted.
        with structlog.testing.capture_logs() as logs:
            assert texts(await chat.press(ANA, "book_2024-05-06T12:00")) == [
                "Booked 2024-05-06T12:00"
            ]
        assert await pending(chat) == {"follow_up": "05-06 14:00 CEST"}
        [skipped] = [line for line in logs if line["event"] == "schedule_task_skipped"]
        assert skipped["cancelled_pending"] is True
        assert texts(await chat.press(ANA, "cancel")) == ["Cancelled"]
        assert await pending(chat) == {}


@pytest.mark.parametrize(
    ("appointment", "reminder", "follow_up"),
    [
        # 02:30 on 31 March does not exist in Madrid: the reminder runs at 03:30 summer time.
        ("2024-04-01T02:30", "03-31 03:30 CEST", "04-01 04:30 CEST"),
        # 02:30 on 27 October happens twice: the reminder runs once, the first time.
        ("2024-10-28T02:30", "10-27 02:30 CEST", "10-28 04:30 CET"),
    ],
)
async def test_wall_times_the_clock_change_skips_or_repeats(
    appointment: str, reminder: str, follow_up: str
) -> None:
    booked_on = datetime.fromisoformat(appointment).replace(tzinfo=MADRID) - timedelta(days=3)
    async with salon(booked_on) as (chat, scheduler):
        await chat.press(ANA, f"book_{appointment}")
        assert await pending(chat) == {"reminder": reminder, "follow_up": follow_up}
        await scheduler.advance(days=4)
        assert await received(chat) == [
            f"Booked {appointment}",
            f"Reminder: {appointment}",
            f"How was {appointment}?",
        ]
        assert [run.task for run in scheduler.runs] == ["reminder", "follow_up"]


@pytest.mark.parametrize(
    ("down_for", "sent", "missed"),
    [
        # Down over the reminder's time and back 10 minutes later: beyond the 5-minute grace
        # window, so the reminder is not sent late (docs/scheduler.md, "Misfires"); the
        # follow-up, due after the restart, is.
        (timedelta(minutes=10), ["How was 2024-05-08T10:00?"], ["reminder"]),
        # Back 3 days later: both were missed; nothing is sent about a past appointment.
        (timedelta(days=3), [], ["reminder", "follow_up"]),
    ],
)
async def test_a_data_plane_down_over_the_reminders_time(
    tmp_path: Path, down_for: timedelta, sent: list[str], missed: list[str]
) -> None:
    store, state_db = ManualJobStore(), tmp_path / "state.db"
    async with salon(MONDAY, state_db=state_db, store=store) as (chat, scheduler):
        await chat.press(ANA, "book_2024-05-08T10:00")
        await scheduler.advance_to(datetime(2024, 5, 7, 9, 59, tzinfo=MADRID))
        stopped_at = scheduler.clock.now()
    async with salon(
        stopped_at + timedelta(minutes=1) + down_for, state_db=state_db, store=store
    ) as (
        chat,
        scheduler,
    ):
        await scheduler.advance(days=2)
        assert [m.task for m in scheduler.missed] == missed
        assert scheduler.stats.counts["missed"] == len(missed)
        assert (await received(chat))[1:] == sent
        assert await pending(chat) == {}


async def test_a_task_runs_for_a_contact_whose_conversation_was_deleted() -> None:
    """The job carries its own `data`: the follow-up still names the appointment, and starts the
    contact's conversation over (a session timeout or an unreadable state does the same)."""
    async with salon(MONDAY) as (chat, scheduler):
        await chat.press(ANA, "book_2024-05-06T12:00")
        await chat.runtime.states.delete(ANA)
        chat.runtime.state_cache.forget(ANA)
        await scheduler.advance(hours=6)
        assert (await received(chat))[-1] == "How was 2024-05-06T12:00?"
        state = await chat.runtime.states.load(ANA)
        assert state is not None
        assert state.node == "IDLE"
        assert "appt" not in state.data  # the task's data is not written into the conversation
