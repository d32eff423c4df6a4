"""A thousand reminders due at the same instant (a salon's whole week set for 09:00, a bulk
import), on the real scheduler and job file: every one runs once, each contact's in key order
(the order `GET /tasks` lists them in), and the metrics count them."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.domain.outputs import Text
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, make_settings

COUNT = 1000
CONTACTS = ("c0", "c1", "c2", "c3")
FLOW: dict[str, Any] = {
    "id": "bulk",
    "initial_state": "IDLE",
    "tasks": {"reminder": [{"action": "send_text", "text": "{{ data.key }}"}]},
    "states": {"IDLE": {"fallback": "IDLE"}},
}


async def test_a_thousand_reminders_due_at_once_each_run_once_in_order(tmp_path: Path) -> None:
    sender = RecordingSender()
    async with bootstrap_test_runtime(
        flow=FLOW, settings=make_settings(tmp_path / "state.db"), sender=sender
    ) as runtime:
        scheduler = runtime.scheduler
        assert isinstance(scheduler, APSchedulerTaskScheduler)
        due = datetime.now(UTC) + timedelta(seconds=1.5)
        keys = [f"reminder:{n:04d}" for n in range(COUNT)]
        shuffled = random.Random(7).sample(keys, len(keys))
        await scheduler.schedule_many(
            [
                ScheduleTask("reminder", due, key, CONTACTS[int(key[-4:]) % 4], {"key": key})
                for key in shuffled
            ]
        )
        for _ in range(600):
            if len(sender.sent) >= COUNT:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # nothing more comes
        assert await scheduler.jobs() == []
        registry = runtime.metrics.registry
        fired = registry.get_sample_value("botfleet_tasks_fired_total")
        missed = registry.get_sample_value("botfleet_tasks_missed_total")
    assert len(sender.sent) == COUNT
    for n, contact in enumerate(CONTACTS):
        got = [o.text for o in sender.to(contact) if isinstance(o, Text)]
        assert got == keys[n::4]  # each once, in key order
    assert (fired, missed) == (COUNT, 0)
