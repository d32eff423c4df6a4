"""`GET` and `DELETE /contacts/{id}` of a Telegram group's new id while its move is unfinished,
through the running data plane (SQLite state file, APScheduler job file), then a restart.

The job file refused the reminders' move: the conversation is under the new id, its reminder
still under the old one, linked only by the move's record. Erasing the new id used to delete
the record and keep the reminder, which then fired under the old id after the next start.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.domain.errors import StoreUnavailable
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.clock import SystemClock
from botfleet.ports.stores import MovesConversations
from botfleet.testing.runtime import ChatClient, make_settings, running_app

TOKEN = "move-erasure-internal-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OLD, NEW = "-4012345678", "-1001234567890"
FLOW: dict[str, Any] = {
    "id": "move_erasure_api",
    "initial_state": "ASK",
    "tasks": {"ping": [{"action": "send_text", "text": "Reminder for {{ data.name }}"}]},
    "states": {
        "ASK": {
            "on_enter": [{"action": "send_text", "text": "Your name?"}],
            "transitions": [{"set_data": {"name": "{{ message.text }}"}, "target": "ASK"}],
        },
    },
}


def app(db: Path) -> Any:
    settings = make_settings(db, internal_token=TOKEN)
    return running_app(flow=FLOW, settings=settings, clock=SystemClock())


def scheduler_of(chat: ChatClient) -> APSchedulerTaskScheduler:
    scheduler = chat.runtime.scheduler
    assert isinstance(scheduler, APSchedulerTaskScheduler)
    return scheduler


async def move_cut_short(chat: ChatClient) -> None:
    """OLD talked and has a reminder; its move to NEW moved the conversation, then the job
    file refused the reminder."""
    await chat.say(OLD, "Ana")
    scheduler = scheduler_of(chat)
    at = SystemClock().now() + timedelta(days=1)
    await scheduler.schedule(ScheduleTask("ping", at, f"reminder:{OLD}", OLD, {"n": "Ana"}))

    async def refused(*args: Any, **kwargs: Any) -> int:
        raise StoreUnavailable("job file: disk full", cause="disk full")

    real = scheduler.move_jobs
    scheduler.move_jobs = refused  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        await chat.runtime.move_contact(OLD, NEW)
    scheduler.move_jobs = real  # type: ignore[method-assign]
    records = chat.runtime.records
    assert isinstance(records, MovesConversations)
    assert await records.unfinished_moves() == [(OLD, NEW)]


async def test_erasing_the_new_id_erases_the_reminder_left_under_the_old_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    async with app(db) as chat:
        await move_cut_short(chat)

        found = (await chat.http.get(f"/contacts/{NEW}", headers=AUTH)).json()
        assert found["conversation"]["data"]["name"] == "Ana"
        assert [(t["key"], t["contact_id"]) for t in found["scheduled_tasks"]] == [
            (f"reminder:{OLD}", OLD)
        ]
        move = {"old_contact_id": OLD, "new_contact_id": NEW}
        assert found["moves"] == [move]
        old = (await chat.http.get(f"/contacts/{OLD}", headers=AUTH)).json()
        assert old["moves"] == [move]  # the other id, to export and erase too

        erased = await chat.http.delete(f"/contacts/{NEW}", headers=AUTH)

        assert erased.status_code == 200, erased.text
        assert erased.json()["conversation"] is True
        assert erased.json()["scheduled_tasks"] == 1  # the old id's reminder
        assert await scheduler_of(chat).jobs() == []
        after = (await chat.http.get(f"/contacts/{NEW}", headers=AUTH)).json()
        assert after["scheduled_tasks"] == after["moves"] == []
        assert "Ana" not in str(after)

    # The next start has nothing to finish, and no reminder left to fire.
    async with app(db) as chat:
        assert await scheduler_of(chat).jobs() == []
        assert (await chat.http.get(f"/contacts/{OLD}", headers=AUTH)).json()["moves"] == []
