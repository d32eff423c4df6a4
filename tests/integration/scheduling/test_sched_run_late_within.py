"""A reminder with its own "send late" window (`run_late_within`) through the whole data plane: a
short outage over its time no longer drops it, a long one still does, and the operator's log line
gives the window that applied."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, make_tenant_config, running_app
from botfleet.testing.scheduling import ManualJobStore, ManualScheduler

MADRID = ZoneInfo("Europe/Madrid")
#: Monday 6 May 2024, 09:00 in Madrid.
MONDAY = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)
ANA = "+34600111222"

FLOW: dict[str, Any] = {
    "id": "salon_late",
    "initial_state": "IDLE",
    "tasks": {"reminder": [{"action": "send_text", "text": "Reminder: {{ data.at }}"}]},
    "states": {
        "IDLE": {
            "transitions": [
                {"on_payload_prefix": "book_", "extract_suffix_as": "appt", "target": "BOOKED"}
            ],
            "fallback": "IDLE",
        },
        "BOOKED": {
            "on_enter": [
                {
                    "action": "schedule_task",
                    "task": "reminder",
                    "run_at": "{{ data.appt | shift_time(days=-1) }}",
                    "run_late_within": "3h",
                    "idempotency_key": "reminder:{{ contact.id }}",
                    "data": {"at": "{{ data.appt }}"},
                },
                {"action": "send_text", "text": "Booked {{ data.appt }}"},
            ],
            "next": "IDLE",
        },
    },
}


@asynccontextmanager
async def salon(
    start: datetime, *, state_db: Path, store: ManualJobStore
) -> AsyncIterator[tuple[ChatClient, ManualScheduler]]:
    clock = FrozenClock(start.astimezone(UTC))
    scheduler = ManualScheduler(clock, tenant_id="salon", store=store)
    config = make_tenant_config(FLOW, tenant_id="salon", timezone="Europe/Madrid")
    async with running_app(
        config, settings=make_settings(state_db), clock=clock, scheduler=scheduler
    ) as chat:
        yield chat, scheduler


@pytest.mark.parametrize(
    ("down_for", "sent", "missed"),
    [
        # Beyond the 5-minute grace window, inside the reminder's own 3 hours: sent late.
        (timedelta(minutes=10), ["Reminder: 2024-05-08T10:00"], []),
        (timedelta(hours=2, minutes=58), ["Reminder: 2024-05-08T10:00"], []),
        # Beyond its 3 hours too: missed, as without the window.
        (timedelta(hours=3, minutes=5), [], ["reminder"]),
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
    back = stopped_at + timedelta(minutes=1) + down_for
    async with salon(back, state_db=state_db, store=store) as (chat, scheduler):
        await scheduler.advance(hours=1)
        assert [m.task for m in scheduler.missed] == missed
        received = [row["output"]["text"] for row in await chat.messages(ANA)]
        assert received[1:] == sent
        assert await scheduler.count() == 0


async def _ignore(*_: Any) -> None:
    return None


def scheduler_on(path: Path, grace: timedelta) -> APSchedulerTaskScheduler:
    scheduler = APSchedulerTaskScheduler(tenant_id="late-log", jobs_db=path, grace=grace)
    scheduler.bind(_ignore)
    return scheduler


async def test_the_missed_line_gives_the_jobs_own_window(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    first = scheduler_on(path, timedelta(seconds=1))
    await first.start()
    due = datetime.now(UTC) + timedelta(seconds=0.1)
    request = ScheduleTask("reminder", due, "reminder:ana", "ana", run_late_within=timedelta(0, 1))
    await first.schedule(request)
    await first.stop()
    await asyncio.sleep(1.6)
    again = scheduler_on(path, timedelta(minutes=5))  # a wider window at the next start
    with structlog.testing.capture_logs() as logs:
        await again.start()
        await asyncio.sleep(0.2)
        await again.stop()
    [missed] = [line for line in logs if line["event"] == "task_missed"]
    assert missed["grace_s"] == 1
    assert again.stats.counts["missed"] == 1
