"""The job store shares one sqlite3 connection between threads (APScheduler's scheduler thread,
the thread a job adds or removes jobs from, the event loop reading `GET /tasks`). Its lock keeps
each statement and transaction whole: without it two threads would open a transaction on the
same connection at once and one would fail."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.job import Job
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger

from botfleet.adapters.scheduling.jobstore import IndexedJobStore, JobQuery, open_job_db

SOON = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
THREADS = 4
PER_THREAD = 60


def _job(scheduler: BackgroundScheduler, job_id: str, contact: str, minutes: int) -> Job:
    at = SOON + timedelta(minutes=minutes)
    return Job(
        scheduler,
        id=job_id,
        func="builtins:dict",
        trigger=DateTrigger(at),
        executor="default",
        args=(),
        kwargs={"kind": "one_off", "task": "reminder", "contact_id": contact},
        name=job_id,
        misfire_grace_time=1,
        coalesce=True,
        max_instances=1,
        next_run_time=at,
    )


@pytest.mark.parametrize("on_disk", [True, False], ids=["file", "memory"])
def test_threads_writing_and_reading_one_store(tmp_path: Path, on_disk: bool) -> None:
    scheduler = BackgroundScheduler(timezone=UTC)
    store = IndexedJobStore(open_job_db(tmp_path / "jobs.db" if on_disk else None))
    store.start(scheduler, "default")
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                job = _job(scheduler, f"t{n}-{i}", f"c{n}", i)
                store.add_job(job)
                job.next_run_time = SOON + timedelta(days=1, minutes=i)
                store.update_job(job)
                if i % 3 == 0:
                    store.remove_job(job.id)
        except BaseException as exc:  # reported on the main thread below
            errors.append(exc)

    def reader() -> None:
        try:
            start.wait()
            for _ in range(PER_THREAD):
                store.find(JobQuery(kind="one_off", limit=20))
                store.get_next_run_time()
                store.lookup_job("t0-1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert errors == []
        kept = PER_THREAD - len(range(0, PER_THREAD, 3))
        assert store.count() == THREADS * kept
        for n in range(THREADS):
            mine = store.find(JobQuery(contact_id=f"c{n}"))
            assert len(mine) == kept
            # every kept job carries its update, not the time it was added with
            assert all(j.next_run_at is not None and j.next_run_at > SOON + timedelta(hours=23)
                       for j in mine)  # fmt: skip
        # the store's own errors still come through from any thread
        with pytest.raises(ConflictingIdError):
            store.add_job(_job(scheduler, "t0-1", "c0", 1))
        with pytest.raises(JobLookupError):
            store.remove_job("t0-0")
    finally:
        store.shutdown()
