"""An erasure leaves nothing of the contact's jobs in the job file's write-ahead log.

`secure_delete` zeroes a cancelled reminder's row in `state.jobs.db`, but the log beside it
(`state.jobs.db-wal`) keeps the pages as they were before, contact id and task data in clear,
until SQLite happens to write over them: nothing cut it back, whatever the time since."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.runtime import make_settings, running_app

SECRET = "periodontitis-ana-4711"
TOKEN = "job-log-internal-token-0123456789"


@asynccontextmanager
async def scheduler_on(path: Path) -> AsyncIterator[APSchedulerTaskScheduler]:
    scheduler = APSchedulerTaskScheduler(tenant_id="clinic", jobs_db=path)

    async def runner(*args: Any) -> None:
        raise AssertionError("no job is due in these tests")

    scheduler.bind(runner)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


def reminder(contact: str) -> ScheduleTask:
    at = datetime.now(UTC) + timedelta(days=1)
    return ScheduleTask(
        "reminder", at, f"reminder:{contact}", contact, {"note": f"{SECRET} {contact}"}
    )


async def test_forgetting_erased_jobs_cuts_the_log_back(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    wal = tmp_path / "state.jobs.db-wal"
    async with scheduler_on(path) as scheduler:
        await scheduler.schedule(reminder("ana"))
        await scheduler.schedule(reminder("bob"))
        assert await scheduler.cancel("reminder:ana")
        assert SECRET.encode() in wal.read_bytes()  # the cancelled row's pages, as they were

        await scheduler.forget_erased()

        assert wal.stat().st_size == 0
        assert f"{SECRET} ana".encode() not in path.read_bytes()
        assert f"{SECRET} bob".encode() in path.read_bytes()
        assert [j.contact_id for j in await scheduler.jobs()] == ["bob"]  # the rest stays
        await scheduler.schedule(reminder("carla"))  # and the file is written as before
        assert len(await scheduler.jobs()) == 2


async def test_a_backup_reading_the_file_leaves_the_log_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    async with scheduler_on(path) as scheduler:
        scheduler.lock_wait_s = 0.05
        await scheduler.schedule(reminder("ana"))
        await scheduler.cancel("reminder:ana")
        with closing(sqlite3.connect(path, isolation_level=None)) as backup:
            backup.execute("BEGIN")
            backup.execute("SELECT count(*) FROM botfleet_jobs").fetchall()  # a snapshot
            with structlog.testing.capture_logs() as logs:
                await scheduler.forget_erased()  # does not raise: the erasure stands
            backup.execute("COMMIT")
        assert [e["event"] for e in logs] == ["job_log_not_cut"]
        assert logs[0]["tenant"] == "clinic"
        await scheduler.forget_erased()  # the reader gone, it is cut
        assert (tmp_path / "state.jobs.db-wal").stat().st_size == 0


async def test_erasing_a_contact_through_the_data_plane_cuts_the_job_log(tmp_path: Path) -> None:
    flow: dict[str, Any] = {
        "id": "clinic",
        "initial_state": "MENU",
        "tasks": {"reminder": [{"action": "send_text", "text": "See you tomorrow"}]},
        "states": {"MENU": {"on_enter": [{"action": "send_text", "text": "Hi"}]}},
    }
    settings = make_settings(tmp_path / "state.db", internal_token=TOKEN)
    wal = tmp_path / "state.jobs.db-wal"
    async with running_app(flow=flow, settings=settings) as chat:
        await chat.say("ana", "hello")
        scheduler = chat.runtime.scheduler
        assert isinstance(scheduler, APSchedulerTaskScheduler)
        await scheduler.schedule(reminder("ana"))
        assert SECRET.encode() in wal.read_bytes()

        response = await chat.http.delete(
            "/contacts/ana", headers={"Authorization": f"Bearer {TOKEN}"}
        )

        assert response.status_code == 200, response.text
        assert response.json()["scheduled_tasks"] == 1
        assert SECRET.encode() not in wal.read_bytes()
        assert SECRET.encode() not in (tmp_path / "state.jobs.db").read_bytes()
