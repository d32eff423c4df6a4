"""The job file `state.jobs.db` damaged, or locked by another process, when the data plane starts.

The operator reading the failed start must learn which file it is (a data plane has two) and
what to do; the scheduler that could not start must not stay half-started (its file open, its
runner registered for due jobs).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler, fire_job
from botfleet.domain.errors import StoreError, StoreUnavailable
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import StandingJob
from botfleet.testing.runtime import make_settings, make_tenant_config, running_app

TENANT = "salon"
MONDAYS = StandingJob("weekly", "digest", cron="0 9 * * 1", timezone="Europe/Madrid")
FLOW: dict[str, Any] = {
    "id": "salon",
    "initial_state": "IDLE",
    "tasks": {"digest": [{"action": "send_text", "text": "digest"}]},
    "states": {"IDLE": {"fallback": "IDLE"}},
}


async def _ignore(*_: Any) -> None:
    return None


def scheduler_on(path: Path) -> APSchedulerTaskScheduler:
    scheduler = APSchedulerTaskScheduler(tenant_id=TENANT, jobs_db=path)
    scheduler.bind(_ignore)
    return scheduler


async def with_one_reminder(path: Path) -> None:
    scheduler = scheduler_on(path)
    await scheduler.start()
    due = datetime.now(UTC) + timedelta(days=1)
    await scheduler.schedule(ScheduleTask("digest", due, "reminder:evt1", "c1"))
    await scheduler.stop()


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another process's connection holding the file's write lock until the block ends."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


async def runner_is_registered() -> bool:
    """Whether due jobs of the tenant would reach a runner (`fire_job` logs when none does)."""
    with structlog.testing.capture_logs() as logs:
        await fire_job(
            tenant_id=TENANT, job_id="once:k", kind="one_off", task="digest", contact_id="c1",
            data={},
        )  # fmt: skip
    return not [line for line in logs if line["event"] == "task_without_runner"]


async def test_a_file_that_is_not_a_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    path.write_bytes(b"not sqlite at all " * 300)
    scheduler = scheduler_on(path)
    with pytest.raises(StoreError) as raised:
        await scheduler.start()
    assert not isinstance(raised.value, StoreUnavailable)  # trying again will not help
    message = str(raised.value)
    assert message.startswith(f"{path}: cannot open the job file: file is not a database")
    assert "restore it from a backup, or move it aside" in message
    assert path.read_bytes() == b"not sqlite at all " * 300  # left as it was, for the operator
    assert not await runner_is_registered()


async def test_damaged_pages_found_at_start_name_the_file_and_leave_nothing_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jobs.db"
    await with_one_reminder(path)
    damaged = bytearray(path.read_bytes())
    damaged[4096:] = b"\xab" * (len(damaged) - 4096)  # the header page is intact, the rest not
    path.write_bytes(bytes(damaged))
    scheduler = scheduler_on(path)
    with pytest.raises(StoreError) as raised:
        await scheduler.start([MONDAYS])
    assert str(raised.value).startswith(f"{path}: cannot open the job file: ")
    assert "malformed" in str(raised.value)
    assert not await runner_is_registered()
    with pytest.raises(ValueError, match="not running"):  # stopped, not half-started
        await scheduler.jobs()


async def test_a_lock_held_through_the_start_is_store_unavailable_naming_the_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jobs.db"
    await with_one_reminder(path)
    scheduler = scheduler_on(path)
    scheduler.lock_wait_s = 0.2
    with locked(path), pytest.raises(StoreUnavailable) as raised:
        await scheduler.start([MONDAYS])  # a new standing schedule must be written
    assert str(raised.value) == (
        f"{path}: the scheduler cannot sync the standing schedules: database is locked"
    )
    assert raised.value.cause == "database is locked"
    assert not await runner_is_registered()
    # Once the other process lets go, the next start works and the reminder is still there.
    again = scheduler_on(path)
    await again.start([MONDAYS])
    try:
        assert sorted(job.key for job in await again.jobs()) == ["reminder:evt1", "weekly"]
        assert await runner_is_registered()
    finally:
        await again.stop()


async def test_the_data_plane_start_names_the_damaged_job_file(tmp_path: Path) -> None:
    jobs_db = tmp_path / "state.jobs.db"
    jobs_db.write_bytes(b"\x00garbage" * 600)
    settings = make_settings(tmp_path / "state.db")
    with pytest.raises(StoreError, match=r"state\.jobs\.db: cannot open the job file"):
        async with running_app(make_tenant_config(FLOW, tenant_id=TENANT), settings=settings):
            pass
