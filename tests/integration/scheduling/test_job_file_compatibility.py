"""Job files written by earlier releases (APScheduler's SQLAlchemy job store, with botfleet's
query columns) keep their jobs under the sqlite3 job store; its own files read the same way."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from botfleet.adapters.scheduling.jobstore import TABLE, IndexedJobStore, JobQuery, open_job_db

#: The table exactly as the SQLAlchemy-based store of earlier releases created it.
EARLIER_DDL = (
    f"""CREATE TABLE {TABLE} (
        id VARCHAR(191) NOT NULL, next_run_time FLOAT, job_state BLOB NOT NULL,
        kind VARCHAR(16) DEFAULT 'one_off' NOT NULL, task VARCHAR(191) DEFAULT '' NOT NULL,
        contact_id VARCHAR(191), job_key TEXT DEFAULT '' NOT NULL,
        data TEXT DEFAULT '{{}}' NOT NULL, fingerprint VARCHAR(64) DEFAULT '' NOT NULL,
        PRIMARY KEY (id))""",
    f"CREATE INDEX ix_{TABLE}_contact ON {TABLE} (contact_id, next_run_time)",
    f"CREATE INDEX ix_{TABLE}_next_run_time ON {TABLE} (next_run_time)",
    f"CREATE INDEX ix_{TABLE}_task ON {TABLE} (task, next_run_time)",
)
SOON = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def _write_with_sqlalchemy(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for statement in EARLIER_DDL:
            conn.execute(statement)
    scheduler = BackgroundScheduler(
        timezone=UTC,
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{path}", tablename=TABLE)},
    )
    scheduler.start(paused=True)
    for n in range(3):
        scheduler.add_job(
            "builtins:dict",
            "date",
            run_date=SOON + timedelta(minutes=n),
            id=f"job-{n}",
            kwargs={"kind": "one_off", "task": "reminder", "contact_id": f"c{n}"},
        )
    scheduler.shutdown()


def test_jobs_from_an_earlier_release_are_read_and_run(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    _write_with_sqlalchemy(path)

    store = IndexedJobStore(open_job_db(path))
    scheduler = BackgroundScheduler(timezone=UTC, jobstores={"default": store})
    scheduler.start(paused=True)
    try:
        jobs = scheduler.get_jobs()
        assert [j.id for j in jobs] == ["job-0", "job-1", "job-2"]
        assert [j.next_run_time for j in jobs] == [SOON + timedelta(minutes=n) for n in range(3)]
        assert jobs[0].kwargs["contact_id"] == "c0"
        assert jobs[0].func is dict
        assert store.get_next_run_time() == SOON
        due = store.get_due_jobs(SOON + timedelta(minutes=1))
        assert [j.id for j in due] == ["job-0", "job-1"]
        # New jobs go into the same table, with the query columns filled in.
        scheduler.add_job(
            "builtins:dict",
            "date",
            run_date=SOON,
            id="job-new",
            kwargs={"kind": "one_off", "task": "reminder", "contact_id": "c9", "data": {"x": 1}},
        )
        found = store.find(JobQuery(contact_id="c9"))
        assert [(j.job_id, j.task, j.data) for j in found] == [("job-new", "reminder", {"x": 1})]
        assert store.count() == 4
    finally:
        scheduler.shutdown()


def test_an_unrestorable_job_is_dropped_and_the_rest_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    _write_with_sqlalchemy(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE {TABLE} SET job_state = x'00' WHERE id = 'job-1'")
    store = IndexedJobStore(open_job_db(path))
    scheduler = BackgroundScheduler(timezone=UTC, jobstores={"default": store})
    scheduler.start(paused=True)
    try:
        assert [j.id for j in scheduler.get_jobs()] == ["job-0", "job-2"]
        assert store.count() == 2
    finally:
        scheduler.shutdown()
