"""SIGKILL between a turn's `schedule_task` and its commit: the reminder is in the job file
(`state.jobs.db`), the turn's state and its journal entry are not (`state.db`). If the reminder
falls due before the restart, and within the grace window, the restarted data plane sends it
and then replays the message, whose turn schedules the same reminder (same idempotency key,
same due time) again. That second job used to fire as well: the contact got the reminder
twice. A one-off run is now recorded with its turn's commit and never runs a second time.

The dying process is a real one (the real APScheduler on its job file, SQLite): the kill
lands inside the connector call that follows the schedule, the worst place for it.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from reminder_harness import (
    booking_flow,
    call_mock,
    killed_in_the_connector,
    restarted,
    schedule_reminder,
    texts,
    until,
)

from botfleet.testing.runtime import RecordingSender

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

REMINDER = "Reminder: your appointment"
#: The message's text is the reminder's due time: the replayed turn asks for the same one.
FLOW: dict[str, Any] = booking_flow(
    "reminder_crash",
    REMINDER,
    schedule_reminder(run_at="{{ message.text }}"),
    call_mock("confirm", "confirmed"),
)


async def test_a_reminder_due_at_the_restart_is_sent_once_though_its_turn_runs_again(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    await killed_in_the_connector(db, FLOW, due.isoformat())

    # Down until the reminder was due, for much less than the grace window: it runs late.
    await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0) + 0.3)
    sender = RecordingSender()
    with structlog.testing.capture_logs() as logs:
        async with restarted(db, FLOW, sender) as (runtime, scheduler):
            # The job file kept the reminder: it fires as the scheduler starts.
            await until(lambda: REMINDER in texts(sender))
            # Then the message the killed process never committed runs again, and schedules
            # the same reminder (its due time inside the grace window: it runs at once).
            assert await runtime.recover() == 1
            await until(lambda: scheduler.stats.counts["fired"] == 2)
            await runtime.sequencer.drain()
            entry = await runtime.journal.get("m-1")
            assert await scheduler.jobs() == []
    assert texts(sender) == [REMINDER, "Booked"]
    assert entry is not None and entry.status == "done"
    assert [e["event"] for e in logs if e["event"] == "task_already_ran"] == ["task_already_ran"]
