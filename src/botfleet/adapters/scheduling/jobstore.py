"""APScheduler job store on SQLite (stdlib `sqlite3`), with the columns `GET /tasks` filters on.

Written by hand instead of using APScheduler's `SQLAlchemyJobStore`: that store was the only
reason every tenant's data plane imported SQLAlchemy (+11 MB of memory and 0.2 s of boot per
process, docs/benchmarks.md), for a table of one primary key and one indexed column. The table
is the one `SQLAlchemyJobStore` (with the columns below) created, so job files written by
earlier releases keep their jobs.

APScheduler keeps a job as a pickle plus an indexed `next_run_time`. Listing a contact's jobs from
that would unpickle every stored job, so this store also writes the job's kind, task, contact,
key and data (JSON) into plain columns on every insert and update. APScheduler still reads only
its pickle; the extra columns are for queries.
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime

from botfleet.ports.scheduling import ScheduledJob

TABLE = "botfleet_jobs"
#: SQLite limits bound parameters per statement; stay well under the oldest limit (999).
_DELETE_CHUNK = 500
#: Seconds SQLite waits for another process's lock (a second data plane on the same file).
_BUSY_TIMEOUT_S = 10

_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
        id VARCHAR(191) NOT NULL PRIMARY KEY,
        next_run_time FLOAT,
        job_state BLOB NOT NULL,
        kind VARCHAR(16) DEFAULT 'one_off' NOT NULL,
        task VARCHAR(191) DEFAULT '' NOT NULL,
        contact_id VARCHAR(191),
        job_key TEXT DEFAULT '' NOT NULL,
        data TEXT DEFAULT '{{}}' NOT NULL,
        fingerprint VARCHAR(64) DEFAULT '' NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_next_run_time ON {TABLE} (next_run_time)",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_contact ON {TABLE} (contact_id, next_run_time)",
    f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_task ON {TABLE} (task, next_run_time)",
)
_COLUMNS = ("next_run_time", "job_state", "kind", "task", "contact_id", "job_key", "data",
            "fingerprint")  # fmt: skip
_INSERT = f"INSERT INTO {TABLE} (id, {', '.join(_COLUMNS)}) VALUES (?{', ?' * len(_COLUMNS)})"
_UPDATE = f"UPDATE {TABLE} SET {', '.join(f'{c} = ?' for c in _COLUMNS)} WHERE id = ?"


def open_job_db(path: Path | None) -> sqlite3.Connection:
    """The job file (None: a private in-memory database), with the job table in place.

    WAL with `synchronous=NORMAL`: a commit does not wait for the disk, so removing a thousand
    fired jobs takes milliseconds, and a crash loses at most the last commits, never the file.
    """
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Under AsyncIOScheduler the store is called on the event loop: executors never touch it
    # (APScheduler's `run_job` only runs the function), and `fire_job` is a coroutine. But the
    # scheduler's add/modify/remove may be called from any thread (a plain-function job runs in
    # the loop's thread pool; tests use BackgroundScheduler), so the connection may be shared
    # across threads and `IndexedJobStore` serialises every use of it with a lock.
    conn = sqlite3.connect(
        ":memory:" if path is None else path,
        isolation_level=None,
        timeout=_BUSY_TIMEOUT_S,
        check_same_thread=False,
    )
    if path is not None:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in _SCHEMA:
        conn.execute(statement)
    return conn


@dataclass(frozen=True, slots=True)
class JobQuery:
    kind: str | None = None
    contact_id: str | None = None
    task: str | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    limit: int | None = None


class IndexedJobStore(BaseJobStore):  # type: ignore[misc]
    """An APScheduler job store plus query columns; `find()` answers `GET /tasks` without
    unpickling."""

    def __init__(self, conn: sqlite3.Connection, *, misfire_grace_s: int | None = None) -> None:
        super().__init__()
        self._conn = conn
        #: The window every restored job gets: APScheduler keeps each job's own in its pickle, so
        #: a window raised to recover reminders after a restore would not reach them.
        self.misfire_grace_s = misfire_grace_s
        self._lock = threading.RLock()
        self.pickle_protocol = pickle.HIGHEST_PROTOCOL
        #: job id -> its arguments, from when it was found due until its run is reported (the
        #: scheduler's events carry only the id, and a fired one-off is no longer stored).
        self.in_flight: dict[str, dict[str, Any]] = {}
        self._due: set[str] = set()
        self._deferred_deletes: list[str] = []

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------ APScheduler's calls

    # APScheduler removes each fired one-off with its own DELETE and commit while it walks the
    # due jobs: a thousand due at once cost most of a second. Removals of jobs this store has just
    # returned as due are collected instead and committed together before the scheduler's next
    # read (`get_next_run_time`, which it calls right after the walk). The walk is synchronous,
    # so nothing else can observe the rows in between, and they are gone before any job runs.

    def lookup_job(self, job_id: str) -> Any:
        self._flush()
        rows = self._read(f"SELECT job_state FROM {TABLE} WHERE id = ?", (job_id,))
        return self._reconstitute(rows[0][0]) if rows else None

    def get_due_jobs(self, now: datetime) -> list[Any]:
        self._due = set()
        self._flush()
        jobs = self._jobs("WHERE next_run_time <= ?", (datetime_to_utc_timestamp(now),))
        for job in jobs:
            self.in_flight[job.id] = dict(job.kwargs)
        self._due = {job.id for job in jobs}
        return jobs

    def get_next_run_time(self) -> datetime | None:
        self._due = set()  # the walk over the due jobs is over
        self._flush()
        rows = self._read(
            f"SELECT next_run_time FROM {TABLE} WHERE next_run_time IS NOT NULL "
            "ORDER BY next_run_time LIMIT 1"
        )
        moment: datetime | None = utc_timestamp_to_datetime(rows[0][0]) if rows else None
        return moment

    def get_all_jobs(self) -> list[Any]:
        self._flush()
        jobs = self._jobs()
        self._fix_paused_jobs_sorting(jobs)
        return jobs

    def add_job(self, job: Any) -> None:
        self._flush()
        try:
            with self._transaction() as conn:
                conn.execute(_INSERT, (job.id, *self._row(job)))
        except sqlite3.IntegrityError:
            raise ConflictingIdError(job.id) from None

    def update_job(self, job: Any) -> None:
        self._flush()
        with self._transaction() as conn:
            if conn.execute(_UPDATE, (*self._row(job), job.id)).rowcount == 0:
                raise JobLookupError(job.id)

    def remove_job(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._due:
                self._due.discard(job_id)
                self._deferred_deletes.append(job_id)
                return
        self._flush()
        with self._transaction() as conn:
            if conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (job_id,)).rowcount == 0:
                raise JobLookupError(job_id)

    def remove_all_jobs(self) -> None:
        self._due = set()
        self._flush()
        with self._transaction() as conn:
            conn.execute(f"DELETE FROM {TABLE}")

    def shutdown(self) -> None:
        self._flush()
        with self._lock:
            self._conn.close()

    # ------------------------------------------------------------ rows and pickles

    def _jobs(self, where: str = "", params: Sequence[Any] = ()) -> list[Any]:
        """Jobs in `next_run_time` order; one whose pickle cannot be restored (its code was
        removed or renamed) is logged and deleted, as APScheduler's own stores do."""
        jobs: list[Any] = []
        failed: list[str] = []
        sql = f"SELECT id, job_state FROM {TABLE} {where} ORDER BY next_run_time"
        rows = self._read(sql, params)
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute(state))
            except BaseException:
                self._logger.exception('Unable to restore job "%s" -- removing it', job_id)
                failed.append(job_id)
        if failed:
            self._delete(failed)
        return jobs

    def _reconstitute(self, job_state: bytes) -> Any:
        state = pickle.loads(job_state)  # written by this store (or APScheduler's) only
        state["jobstore"] = self
        if self.misfire_grace_s is not None:
            state["misfire_grace_time"] = self.misfire_grace_s
        job = Job.__new__(Job)
        job.__setstate__(state)
        job._scheduler = self._scheduler
        job._jobstore_alias = self._alias
        return job

    def _row(self, job: Any) -> tuple[Any, ...]:
        kwargs = job.kwargs
        return (
            datetime_to_utc_timestamp(job.next_run_time),
            pickle.dumps(job.__getstate__(), self.pickle_protocol),
            kwargs.get("kind", "one_off"),
            kwargs.get("task", ""),
            kwargs.get("contact_id"),
            kwargs.get("key", ""),
            json.dumps(kwargs.get("data", {}), default=str),
            kwargs.get("fingerprint", ""),
        )

    def _flush(self) -> None:
        with self._lock:  # `find()` and friends are not under APScheduler's job store lock
            ids, self._deferred_deletes = self._deferred_deletes, []
            if ids:
                self._delete(ids)

    def _delete(self, ids: Sequence[str]) -> None:
        with self._transaction() as conn:
            for start in range(0, len(ids), _DELETE_CHUNK):
                chunk = ids[start : start + _DELETE_CHUNK]
                marks = ", ".join("?" for _ in chunk)
                conn.execute(f"DELETE FROM {TABLE} WHERE id IN ({marks})", chunk)

    # ------------------------------------------------------------ queries

    def find(self, query: JobQuery) -> list[ScheduledJob]:
        """Pending jobs matching `query`, soonest first (paused jobs, if any, last)."""
        self._flush()
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("kind", query.kind),
            ("contact_id", query.contact_id),
            ("task", query.task),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.due_after is not None:
            where.append("next_run_time >= ?")
            params.append(datetime_to_utc_timestamp(query.due_after))
        if query.due_before is not None:
            where.append("next_run_time <= ?")
            params.append(datetime_to_utc_timestamp(query.due_before))
        sql = (
            f"SELECT id, next_run_time, kind, task, contact_id, job_key, data FROM {TABLE}"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY next_run_time IS NULL, next_run_time, id"
        )
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        return [
            ScheduledJob(
                job_id=job_id,
                task=task,
                contact_id=contact_id,
                next_run_at=utc_timestamp_to_datetime(next_run_time),
                data=json.loads(data),
                kind=kind,
                key=job_key,
            )
            for job_id, next_run_time, kind, task, contact_id, job_key, data in self._read(
                sql, params
            )
        ]

    def fingerprints(self, kind: str) -> dict[str, str]:
        """job id -> fingerprint of every stored job of `kind`."""
        self._flush()
        rows = self._read(f"SELECT id, fingerprint FROM {TABLE} WHERE kind = ?", (kind,))
        return dict(rows)

    def count(self) -> int:
        self._flush()
        return int(self._read(f"SELECT count(*) FROM {TABLE}")[0][0])

    def insert_many(self, jobs: Sequence[Any]) -> None:
        """Store many new jobs in one transaction (bulk loads: benchmarks, imports)."""
        self._flush()
        with self._transaction() as conn:
            conn.executemany(_INSERT, [(job.id, *self._row(job)) for job in jobs])
