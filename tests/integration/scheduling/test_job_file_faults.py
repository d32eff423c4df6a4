"""The job file `state.jobs.db` full, or locked by another process.

The job store is called on the event loop (`AsyncIOScheduler` walks the due jobs there, and the
runtime's turns schedule reminders there), so SQLite's own busy handler would stall every
contact while another process holds the file's lock. It does not wait: a call from a coroutine
tries again after `asyncio.sleep`s, and the scheduler's own writes while it walks the due jobs
(removing a fired one-off, moving a standing job on) are kept and written once the lock is free,
never lost and never fired twice. What a caller of the scheduler sees of a job file it cannot
use now is the port's `StoreUnavailable` (a turn then runs again later), never sqlite's error.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from apscheduler.job import Job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.adapters.scheduling.jobstore import IndexedJobStore, open_job_db, transient_cause
from botfleet.domain.errors import StoreUnavailable
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock

SOON = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
CONTACT = "c1"


def _job(scheduler: Any, job_id: str, at: datetime, trigger: Any = None) -> Job:
    return Job(
        scheduler,
        id=job_id,
        func="builtins:dict",
        trigger=trigger or DateTrigger(at),
        executor="default",
        args=(),
        kwargs={"kind": "one_off", "task": "remind", "contact_id": CONTACT},
        name=job_id,
        misfire_grace_time=60,
        coalesce=True,
        max_instances=1,
        next_run_time=at,
    )


def _fill(conn: sqlite3.Connection) -> None:
    """The file cannot grow by a page (as on a full disk; `max_page_count` is per connection)."""
    conn.execute("CREATE TABLE filler (x BLOB)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for size in (2000, 500, 50):
        with pytest.raises(sqlite3.OperationalError, match="full"):
            while True:
                conn.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))


@contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection holding the file's write lock until the block ends."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


class Ticker:
    """The longest the event loop went without running this task (a stalled loop shows here)."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            last = now

    async def stall(self) -> float:
        """The longest gap so far, once the ticker has run again (a stall ends without it)."""
        await asyncio.sleep(0.02)
        return self.longest

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Ticker]:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0.01)
        try:
            yield self
        finally:
            self._task.cancel()


# ----------------------------------------------------------------- the store's transactions


def test_a_full_job_file_raises_the_full_disk_not_a_failed_rollback(tmp_path: Path) -> None:
    store = IndexedJobStore(open_job_db(tmp_path / "state.jobs.db"))
    store.start(BackgroundScheduler(timezone=UTC), "default")
    conn = store._conn
    _fill(conn)
    job = _job(store._scheduler, "big", SOON)
    job.kwargs["data"] = {"n": "x" * 4090}  # needs a page of its own
    with pytest.raises(sqlite3.OperationalError) as raised:
        store.add_job(job)
    assert "full" in str(raised.value)
    assert raised.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_FULL
    assert not conn.in_transaction
    conn.execute("PRAGMA max_page_count = 1073741823")
    store.add_job(job)  # the same call works once there is room
    assert store.count() == 1


def test_a_failed_statement_is_still_rolled_back(tmp_path: Path) -> None:
    """SQLite keeps the transaction open after a refused statement: it is rolled back."""
    store = IndexedJobStore(open_job_db(tmp_path / "state.jobs.db"))
    store.start(BackgroundScheduler(timezone=UTC), "default")
    with pytest.raises(ZeroDivisionError), store._transaction() as conn:
        conn.execute("DELETE FROM botfleet_jobs")
        raise ZeroDivisionError
    assert not store._conn.in_transaction


# ----------------------------------------------------------------- another process's lock


def _request(key: str = "remind:c1", minutes: int = 60) -> ScheduleTask:
    return ScheduleTask(
        task="remind",
        run_at=datetime.now(UTC) + timedelta(minutes=minutes),
        data={"what": "the dentist"},
        idempotency_key=key,
        contact_id=CONTACT,
    )


@asynccontextmanager
async def scheduler_on(path: Path, runs: list[str] | None = None) -> AsyncIterator[Any]:
    scheduler = APSchedulerTaskScheduler(
        tenant_id="jobfile", jobs_db=path, clock=FrozenClock(datetime.now(UTC))
    )

    async def runner(contact_id: str | None, task: str, data: dict[str, Any], run_id: str) -> None:
        if runs is not None:
            runs.append(run_id)

    scheduler.bind(runner)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


async def test_scheduling_while_another_process_holds_the_file_keeps_the_loop_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jobs.db"
    async with scheduler_on(path) as scheduler, Ticker().running() as ticker:
        with locked(path) as other:
            release = threading.Timer(0.5, other.execute, ("ROLLBACK",))
            release.start()
            started = time.monotonic()
            await scheduler.schedule(_request())
            waited = time.monotonic() - started
            release.join()
        assert waited >= 0.4  # it did wait for the lock...
        assert await ticker.stall() < 0.2  # ...without stalling the loop meanwhile
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]


async def test_a_lock_held_past_the_wait_fails_the_call_and_stores_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jobs.db"
    async with scheduler_on(path) as scheduler, Ticker().running() as ticker:
        scheduler.lock_wait_s = 0.3
        with locked(path), pytest.raises(StoreUnavailable) as raised:
            await scheduler.schedule(_request())
        assert str(raised.value) == (
            "the scheduler cannot schedule task 'remind:c1': database is locked"
        )
        assert raised.value.cause == "database is locked"
        assert await ticker.stall() < 0.2
        assert await scheduler.jobs() == []
        await scheduler.schedule(_request())  # the next try, once the file is free
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]


async def test_cancelling_while_the_lock_stays_held_is_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    async with scheduler_on(path) as scheduler:
        await scheduler.schedule(_request())
        scheduler.lock_wait_s = 0.1
        with locked(path), pytest.raises(StoreUnavailable) as raised:
            await scheduler.cancel("remind:c1")
        assert "cannot cancel task 'remind:c1': database is locked" in str(raised.value)
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]  # still there
        assert await scheduler.cancel("remind:c1") is True  # the next try removes it
        assert await scheduler.jobs() == []


async def test_scheduling_into_a_full_job_file_is_store_unavailable_naming_the_full_disk(
    tmp_path: Path,
) -> None:
    """Not waited for (only another process's lock is), and not hidden behind the failed
    ROLLBACK that follows SQLITE_FULL: the full disk is what the caller is told."""
    path = tmp_path / "state.jobs.db"
    async with scheduler_on(path) as scheduler:
        assert scheduler._store is not None
        conn = scheduler._store._conn
        _fill(conn)
        big = replace(_request(), data={"n": "x" * 4090})  # needs a page of its own
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            await scheduler.schedule(big)
        assert time.monotonic() - started < scheduler.lock_wait_s / 2
        assert raised.value.cause == "database or disk is full"
        assert "cannot schedule task 'remind:c1': database or disk is full" in str(raised.value)
        conn.execute("PRAGMA max_page_count = 1073741823")
        await scheduler.schedule(big)  # the same call works once there is room
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]


def test_only_transient_sqlite_errors_are_the_job_files_outage() -> None:
    def error(code: int, message: str = "x") -> sqlite3.OperationalError:
        exc = sqlite3.OperationalError(message)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        return exc

    full = error(sqlite3.SQLITE_FULL, "database or disk is full")
    assert transient_cause(full) is full
    assert transient_cause(error(sqlite3.SQLITE_IOERR)) is not None
    assert transient_cause(error(sqlite3.SQLITE_ERROR)) is None  # a bad statement: for good
    assert transient_cause(KeyError("bug")) is None
    # The ROLLBACK after SQLITE_FULL fails too, while handling it: the full disk is found under.
    rollback = error(sqlite3.SQLITE_ERROR, "cannot rollback - no transaction is active")
    rollback.__context__ = full
    assert transient_cause(rollback) is full


async def test_jobs_due_while_the_file_is_locked_run_once_and_leave_the_file_later(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.jobs.db"
    runs: list[str] = []
    async with scheduler_on(path, runs) as scheduler:
        scheduler._store.retry_s = 0.05
        async with Ticker().running() as ticker:
            for key, ms in [("first", 300), ("second", 600)]:
                await scheduler.schedule(
                    ScheduleTask(
                        task="remind",
                        run_at=datetime.now(UTC) + timedelta(milliseconds=ms),
                        data={},
                        idempotency_key=key,
                        contact_id=CONTACT,
                    )
                )
            with structlog.testing.capture_logs() as logs, locked(path):
                for _ in range(200):
                    if len(runs) == 2:
                        break
                    await asyncio.sleep(0.01)
                # Both ran, on time, though the first one's row could not be removed.
                assert len(runs) == 2
                assert "first" in runs[0] and "second" in runs[1]
                await asyncio.sleep(0.3)  # wake-ups meanwhile: neither runs again
                assert len(runs) == 2
                assert await ticker.stall() < 0.2
            delayed = [line for line in logs if line["event"] == "job_file_write_delayed"]
            assert len(delayed) == 1
            for _ in range(200):
                if await scheduler.jobs() == []:
                    break
                await asyncio.sleep(0.01)
            assert await scheduler.jobs() == []  # removed once the file was free
            await asyncio.sleep(0.2)
        assert len(runs) == 2


def test_a_standing_job_moved_on_while_the_file_is_locked_is_written_later(
    tmp_path: Path,
) -> None:
    """APScheduler moves a fired standing job to its next run while walking the due jobs; with
    the lock held elsewhere the move waits in memory: never lost, never read stale."""
    path = tmp_path / "state.jobs.db"
    store = IndexedJobStore(open_job_db(path))
    scheduler = BackgroundScheduler(timezone=UTC)
    store.start(scheduler, "default")
    now = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    every_hour = IntervalTrigger(hours=1, start_date=now, timezone=UTC)
    store.add_job(_job(scheduler, "standing:daily", now, every_hour))
    with locked(path):
        (due,) = store.get_due_jobs(now)
        due._modify(next_run_time=now + timedelta(hours=1))
        store.update_job(due)  # the walk: no error, no wait
        retry_at = store.get_next_run_time()
        assert retry_at is not None
        assert retry_at <= datetime.now(UTC) + timedelta(seconds=5)  # try again soon
        # Not the stale row (due again) while the move is not written: nothing is due...
        assert store.get_due_jobs(now) == []
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            store.lookup_job("standing:daily")  # ...and other reads fail (a caller retries)
    assert store.get_due_jobs(now) == []
    assert store.get_next_run_time() == now + timedelta(hours=1)


async def test_listing_jobs_while_the_file_stays_locked_is_store_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In WAL mode a plain read is not blocked by a writer, but a listing first writes the
    # scheduler's pending changes, which is: then `GET /tasks` must say 503, not 500.
    path = tmp_path / "state.jobs.db"
    async with scheduler_on(path) as scheduler:
        await scheduler.schedule(_request())
        scheduler.lock_wait_s = 0.2
        calls: list[int] = []

        def busy(query: Any) -> list[Any]:
            calls.append(1)
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY  # as SQLite sets it
            raise error

        monkeypatch.setattr(scheduler._store, "find", busy)
        with pytest.raises(StoreUnavailable, match="cannot list the jobs: database is locked"):
            await scheduler.jobs()
        assert len(calls) > 1  # waited and tried again before giving up
        monkeypatch.undo()
        assert [job.key for job in await scheduler.jobs()] == ["remind:c1"]
