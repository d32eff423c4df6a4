"""SIGKILL between a turn's `schedule_task` with a `delay` and its commit. The restarted data
plane sends the reminder the job file kept (due meanwhile, within the grace window), then replays
the message: its delay counts from the message's reception, read back from the journal
(`state.db`), so the replayed turn asks for the same due time, the same run, which is not run
again. It used to count from the replay: a new due time, and the reminder came twice.

A real process dies (the real APScheduler on its job file, SQLite), inside the connector call
that follows the schedule. `tests/integration/scheduling/test_delayed_reminder_replay.py` does
the same on a frozen clock.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from reminder_harness import (
    KEY,
    booking_flow,
    call_mock,
    killed_in_the_connector,
    restarted,
    schedule_reminder,
    texts,
    until,
)

from botfleet.ports.scheduling import one_off_run_id
from botfleet.testing.runtime import RecordingSender

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

REMINDER = "Reminder: in two seconds"
DELAY = timedelta(seconds=2)
FLOW: dict[str, Any] = booking_flow(
    "delayed_reminder_crash",
    REMINDER,
    schedule_reminder(delay="2s"),
    call_mock("confirm", "confirmed"),
)


async def test_a_delayed_reminder_is_sent_once_though_its_turn_runs_again_later(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    await killed_in_the_connector(db, FLOW, "book")

    # Down until the reminder was due (the message was received before the child died), for
    # much less than the grace window: it runs late, at the start.
    await asyncio.sleep(DELAY.total_seconds() + 0.3)
    sender = RecordingSender()
    with structlog.testing.capture_logs() as logs:
        async with restarted(db, FLOW, sender) as (runtime, scheduler):
            await until(lambda: REMINDER in texts(sender))
            # The replayed turn, seconds after the message, schedules the reminder for the
            # moment it did before: already due, it runs at once and is skipped as run.
            assert await runtime.recover() == 1
            await until(lambda: scheduler.stats.counts["fired"] == 2)
            await runtime.sequencer.drain()
            entry = await runtime.journal.get("m-1")
            assert await scheduler.jobs() == []
            # Long enough for a reminder counted from the replay to fall due: none comes.
            await asyncio.sleep(DELAY.total_seconds() + 0.5)
            await runtime.sequencer.drain()
    assert texts(sender) == [REMINDER, "Booked"]
    assert entry is not None and entry.status == "done"
    skipped = [e for e in logs if e["event"] == "task_already_ran"]
    assert [e["job_id"] for e in skipped] == [one_off_run_id(KEY, entry.received_at + DELAY)]
