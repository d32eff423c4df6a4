"""A reminder missed while the data plane was down: the operator's log line says which one (its
key, the contact id in it hashed), so the owner can reach that client another way."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.contact_hash import hash_contact
from botfleet.flows.effects import ScheduleTask

TENANT = "missed-log"
ANA = "+34600111222"


async def _ignore(*_: Any) -> None:
    return None


def scheduler_on(path: Path) -> APSchedulerTaskScheduler:
    scheduler = APSchedulerTaskScheduler(tenant_id=TENANT, jobs_db=path, grace=timedelta(seconds=1))
    scheduler.bind(_ignore)
    return scheduler


async def test_a_missed_reminder_is_logged_with_its_key_and_no_raw_contact_id(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jobs.db"
    first = scheduler_on(path)
    await first.start()
    due = datetime.now(UTC) + timedelta(seconds=0.2)
    await first.schedule(ScheduleTask("reminder", due, f"reminder:{ANA}:evt-7", ANA))
    await first.stop()
    await asyncio.sleep(1.6)  # down over its time, longer than the grace window
    again = scheduler_on(path)
    with structlog.testing.capture_logs() as logs:
        await again.start()
        await asyncio.sleep(0.2)
        await again.stop()
    [missed] = [line for line in logs if line["event"] == "task_missed"]
    hashed = hash_contact(TENANT, ANA)
    assert missed["key"] == f"reminder:<contact {hashed}>:evt-7"
    assert (missed["task"], missed["contact"]) == ("reminder", hashed)
    assert ANA not in repr(missed)
    assert again.stats.counts == {"fired": 0, "missed": 1, "failed": 0, "skipped": 0}
