"""Job files written by earlier releases (APScheduler's SQLAlchemy job store, with botfleet's
query columns) keep their jobs under the sqlite3 job store, and the other way round (a rollback
to an earlier release still reads the jobs this store wrote).

`_EarlierStore` is the store of earlier releases, reduced to what touches the file: the table
definition and the insert/update of the query columns, as they were before the sqlite3 store.
SQLAlchemy (still installed for the control plane) creates the table from that definition, so
the file is the one a tenant has on disk, not a hand-written copy of its DDL.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import Column, Float, Index, LargeBinary, MetaData, Table, Text, Unicode
from sqlalchemy.exc import IntegrityError

from botfleet.adapters.scheduling.jobstore import TABLE, IndexedJobStore, JobQuery, open_job_db

SOON = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


class _EarlierStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """The job table and writes of botfleet's SQLAlchemy-based store (before the sqlite3 one)."""

    def __init__(self, path: Path) -> None:
        super().__init__(url=f"sqlite:///{path}", tablename=TABLE)
        self.jobs_t = Table(
            TABLE,
            MetaData(),
            Column("id", Unicode(191), primary_key=True),
            Column("next_run_time", Float(25), index=True),
            Column("job_state", LargeBinary, nullable=False),
            Column("kind", Unicode(16), nullable=False, server_default="one_off"),
            Column("task", Unicode(191), nullable=False, server_default=""),
            Column("contact_id", Unicode(191), nullable=True),
            Column("job_key", Text, nullable=False, server_default=""),
            Column("data", Text, nullable=False, server_default="{}"),
            Column("fingerprint", Unicode(64), nullable=False, server_default=""),
            Index(f"ix_{TABLE}_contact", "contact_id", "next_run_time"),
            Index(f"ix_{TABLE}_task", "task", "next_run_time"),
        )

    def add_job(self, job: Any) -> None:
        insert = self.jobs_t.insert().values(id=job.id, **self._row(job))
        with self.engine.begin() as connection:
            try:
                connection.execute(insert)
            except IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job: Any) -> None:
        update = self.jobs_t.update().values(**self._row(job)).where(self.jobs_t.c.id == job.id)
        with self.engine.begin() as connection:
            if connection.execute(update).rowcount == 0:
                raise JobLookupError(job.id)

    def _row(self, job: Any) -> dict[str, Any]:
        kwargs = job.kwargs
        return {
            "next_run_time": datetime_to_utc_timestamp(job.next_run_time),
            "job_state": pickle.dumps(job.__getstate__(), self.pickle_protocol),
            "kind": kwargs.get("kind", "one_off"),
            "task": kwargs.get("task", ""),
            "contact_id": kwargs.get("contact_id"),
            "job_key": kwargs.get("key", ""),
            "data": json.dumps(kwargs.get("data", {}), default=str),
            "fingerprint": kwargs.get("fingerprint", ""),
        }


def _write_with_sqlalchemy(path: Path) -> None:
    scheduler = BackgroundScheduler(timezone=UTC, jobstores={"default": _EarlierStore(path)})
    scheduler.start(paused=True)  # creates the table, as earlier releases did on start
    for n in range(3):
        scheduler.add_job(
            "builtins:dict",
            "date",
            run_date=SOON + timedelta(minutes=n),
            id=f"job-{n}",
            kwargs={"kind": "one_off", "task": "reminder", "contact_id": f"c{n}", "data": {"n": n}},
        )
    scheduler.shutdown()


def _schema(path: Path) -> dict[str, Any]:
    """Columns (name, type, not null, default, primary key) and indexes (name, columns, unique)."""
    with sqlite3.connect(path) as conn:
        columns = [tuple(row[1:]) for row in conn.execute(f"PRAGMA table_info({TABLE})").fetchall()]
        indexes = {}
        for _seq, name, unique, *_ in conn.execute(f"PRAGMA index_list({TABLE})").fetchall():
            if name.startswith("sqlite_autoindex"):  # the primary key's; name varies with DDL
                name = "primary key"
            cols = [r[2] for r in conn.execute(f"PRAGMA index_info({name!r})").fetchall()]
            indexes[name] = (cols if name != "primary key" else None, unique)
    return {"columns": columns, "indexes": indexes}


def test_a_new_file_has_the_earlier_releases_table(tmp_path: Path) -> None:
    earlier, new = tmp_path / "earlier.db", tmp_path / "new.db"
    _write_with_sqlalchemy(earlier)
    open_job_db(new).close()
    assert _schema(new) == _schema(earlier)
    assert set(_schema(new)["indexes"]) >= {f"ix_{TABLE}_next_run_time", "primary key"}


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
        # The query columns the earlier release wrote are read too.
        found = store.find(JobQuery(contact_id="c1"))
        assert [(j.job_id, j.task, j.data, j.next_run_at) for j in found] == [
            ("job-1", "reminder", {"n": 1}, SOON + timedelta(minutes=1))
        ]
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


def test_an_earlier_release_reads_the_jobs_this_store_wrote(tmp_path: Path) -> None:
    path = tmp_path / "state.jobs.db"
    scheduler = BackgroundScheduler(
        timezone=UTC, jobstores={"default": IndexedJobStore(open_job_db(path))}
    )
    scheduler.start(paused=True)
    scheduler.add_job(
        "builtins:dict",
        "date",
        run_date=SOON,
        id="job-a",
        kwargs={"kind": "one_off", "task": "reminder", "contact_id": "c1"},
    )
    scheduler.shutdown()

    earlier = BackgroundScheduler(timezone=UTC, jobstores={"default": _EarlierStore(path)})
    earlier.start(paused=True)
    try:
        jobs = earlier.get_jobs()
        assert [(j.id, j.next_run_time, j.kwargs["contact_id"]) for j in jobs] == [
            ("job-a", SOON, "c1")
        ]
    finally:
        earlier.shutdown()


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
