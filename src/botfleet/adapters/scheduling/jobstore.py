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

The store is called on the event loop (see `open_job_db`), so it never waits inside SQLite for
another process's lock (a second data plane, a backup tool): SQLite's busy handler would stall
every contact meanwhile. A statement that meets the lock fails at once; the scheduler's
coroutines try again after `asyncio.sleep`s (`APSchedulerTaskScheduler`), and the writes
APScheduler makes while it walks the due jobs are kept in memory until the file is free
(`_pending`, below).
"""

from __future__ import annotations

import json
import pickle
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.job import Job
from apscheduler.jobstores.base import BaseJobStore, ConflictingIdError, JobLookupError
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime

from botfleet.ports.scheduling import ScheduledJob, moved_key, one_off_job_id, run_id

log = structlog.get_logger("botfleet.scheduler")

TABLE = "botfleet_jobs"
#: The job argument holding a one-off job's own misfire window in seconds (the flow's
#: `run_late_within`); jobs without it follow the store's `misfire_grace_s`.
LATE_WITHIN = "late_within_s"
#: SQLite limits bound parameters per statement; stay well under the oldest limit (999).
_DELETE_CHUNK = 500
#: Seconds SQLite waits for another process's lock while the file is opened (at start, before
#: any contact is served). Afterwards it does not wait at all (see the module's docstring).
_OPEN_BUSY_TIMEOUT_S = 10
#: Seconds before the scheduler tries again to write what it had to keep (the file locked).
RETRY_S = 1.0
#: SQLite result codes of "another connection holds the lock" (SQLITE_BUSY, SQLITE_LOCKED).
_LOCK_CODES = frozenset({5, 6})
#: SQLite result codes that say "not now" rather than "never": the lock codes, out of memory,
#: I/O error, disk full, cannot open the file, lock protocol. The state stores keep their own
#: copy (`adapters/stores/_sqlite_database.py`): neither adapter reaches into the other.
_TRANSIENT_CODES = _LOCK_CODES | {7, 10, 13, 14, 15}
#: Links of `__cause__`/`__context__` followed to find a transient error under another one.
_CAUSE_DEPTH = 4

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


def is_locked(exc: BaseException) -> bool:
    """True when `exc` is SQLite saying another connection holds the job file's lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _LOCK_CODES


def transient_cause(exc: BaseException) -> BaseException | None:
    """`exc`, or what it was raised from or while handling, when that is a transient sqlite
    error (`_TRANSIENT_CODES`); else None. Looked for under `exc` because an error met while
    handling one (a ROLLBACK after SQLITE_FULL, which SQLite rolled back already, fails with
    "cannot rollback - no transaction is active") would otherwise hide the full disk."""
    seen: BaseException | None = exc
    for _ in range(_CAUSE_DEPTH):
        if seen is None:
            return None
        code = getattr(seen, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in _TRANSIENT_CODES:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


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
        timeout=_OPEN_BUSY_TIMEOUT_S,
        check_same_thread=False,
    )
    if path is not None:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA secure_delete=ON")  # a cancelled reminder's data is not left behind
    for statement in _SCHEMA:
        conn.execute(statement)
    # From here on a statement that meets another process's lock fails at once (SQLITE_BUSY)
    # instead of blocking the event loop: callers wait with `asyncio.sleep` (module docstring).
    conn.execute("PRAGMA busy_timeout = 0")
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
        #: The window every restored job gets but one with its own (`LATE_WITHIN`): APScheduler
        #: keeps each job's window in its pickle, so a window raised to recover reminders after a
        #: restore would not reach them.
        self.misfire_grace_s = misfire_grace_s
        self._lock = threading.RLock()
        self.pickle_protocol = pickle.HIGHEST_PROTOCOL
        #: job id -> its arguments, from when it was found due until its run is reported (the
        #: scheduler's events carry only the id, and a fired one-off is no longer stored).
        self.in_flight: dict[str, dict[str, Any]] = {}
        #: Seconds before writes kept while the file was locked are tried again.
        self.retry_s = RETRY_S
        self._due: set[str] = set()
        #: Writes not in the file yet, in order: job id -> None (delete) or its row (update).
        self._pending: dict[str, tuple[Any, ...] | None] = {}
        self._write_failing = False

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException as exc:
                # After some errors (a full disk, an I/O error) SQLite has rolled the whole
                # transaction back already: a ROLLBACK then fails ("no transaction is active")
                # and would hide the error that matters.
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error as failed:
                        exc.add_note(f"and the rollback failed: {failed}")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------ APScheduler's calls

    # APScheduler removes each fired one-off with its own DELETE and commit while it walks the
    # due jobs (and moves each fired standing job to its next run with an UPDATE): a thousand
    # due at once cost most of a second. Those writes to jobs this store has just returned as
    # due are collected instead (`_pending`) and committed together before the scheduler's next
    # read (`get_next_run_time`, which it calls right after the walk). The walk is synchronous,
    # so nothing else can observe the rows in between, and they are gone before any job runs.
    # While another process holds the file's lock they stay pending: `get_next_run_time` asks
    # for a wake-up in `retry_s` instead of failing (an error there would stop APScheduler's
    # timer), `get_due_jobs` leaves out the jobs whose rows they change (a fired one-off cannot
    # fire again; other due jobs still run, reads are not blocked in WAL mode), and every other
    # call writes them first or fails, so none reads a stale row.

    def lookup_job(self, job_id: str) -> Any:
        self._flush()
        rows = self._read(f"SELECT job_state FROM {TABLE} WHERE id = ?", (job_id,))
        return self._reconstitute(rows[0][0]) if rows else None

    def get_due_jobs(self, now: datetime) -> list[Any]:
        self._due = set()
        flushed = self._flushed()
        jobs = self._jobs("WHERE next_run_time <= ?", (datetime_to_utc_timestamp(now),))
        if not flushed:  # their rows are stale (fired and removed, or moved on): not due again
            jobs = [job for job in jobs if job.id not in self._pending]
        for job in jobs:
            self.in_flight[job.id] = dict(job.kwargs)
        self._due = {job.id for job in jobs}
        return jobs

    def get_next_run_time(self) -> datetime | None:
        self._due = set()  # the walk over the due jobs is over
        if not self._flushed():
            return datetime.now(UTC) + timedelta(seconds=self.retry_s)
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
        with self._lock:
            if job.id in self._due:  # moved on by the walk: written with its other writes
                self._pending[job.id] = self._row(job)
                return
        self._flush()
        with self._transaction() as conn:
            if conn.execute(_UPDATE, (*self._row(job), job.id)).rowcount == 0:
                raise JobLookupError(job.id)

    def remove_job(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._due:
                self._due.discard(job_id)
                self._pending[job_id] = None
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
        with self._lock:
            if not self._flushed():
                # `APSchedulerTaskScheduler.stop` waited for the lock already. A fired one-off
                # left in the file runs again at the next start, within the grace window.
                log.error("job_file_writes_lost", writes=len(self._pending))
            self._conn.close()

    # ------------------------------------------------------------ rows and pickles

    def _jobs(self, where: str = "", params: Sequence[Any] = ()) -> list[Any]:
        """Jobs in `next_run_time` order, those due at the same moment by id (the order they
        run in: as `find` lists them, as APScheduler's memory store and the fake run them; the
        index alone would give the order their rows were first written, a key scheduled again
        keeping its first place). One whose pickle cannot be restored (its code was removed or
        renamed) is logged and deleted, as APScheduler's own stores do."""
        jobs: list[Any] = []
        failed: list[str] = []
        sql = f"SELECT id, job_state FROM {TABLE} {where} ORDER BY next_run_time, id"
        rows = self._read(sql, params)
        for job_id, state in rows:
            try:
                jobs.append(self._reconstitute(state))
            except BaseException:
                self._logger.exception('Unable to restore job "%s" -- removing it', job_id)
                failed.append(job_id)
        if failed:
            with self._lock:
                self._pending.update(dict.fromkeys(failed))
            self._flushed()  # or at the next call: they are left out of every answer
        return jobs

    def _reconstitute(self, job_state: bytes) -> Any:
        state = pickle.loads(job_state)  # written by this store (or APScheduler's) only
        state["jobstore"] = self
        own = state.get("kwargs", {}).get(LATE_WITHIN)
        if own is not None:  # the flow's choice for this task, whatever the start's window
            state["misfire_grace_time"] = own
        elif self.misfire_grace_s is not None:
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

    def flush(self) -> None:
        """Write the changes kept from the scheduler's walks; raises what SQLite raised
        (`is_locked`: try again later), keeping them."""
        self._flush()

    def _flush(self) -> None:
        with self._lock:  # `find()` and friends are not under APScheduler's job store lock
            if not self._pending:
                return
            pending = self._pending
            deletes = [job_id for job_id, row in pending.items() if row is None]
            updates = [(*row, job_id) for job_id, row in pending.items() if row is not None]
            with self._transaction() as conn:
                self._delete_in(conn, deletes)
                conn.executemany(_UPDATE, updates)
            self._pending = {}  # only once committed: a failed write is tried again, whole

    def _flushed(self) -> bool:
        """`_flush()` for APScheduler's walk, which must not fail: False (logged once per
        outage) while the writes cannot be made; they stay pending."""
        try:
            self._flush()
        except sqlite3.Error as exc:
            if not self._write_failing:
                self._write_failing = True
                log.warning(
                    "job_file_write_delayed",
                    error=type(exc).__name__,
                    detail=str(exc),
                    writes=len(self._pending),
                    retry_s=self.retry_s,
                )
            return False
        if self._write_failing:
            self._write_failing = False
            log.info("job_file_write_resumed")
        return True

    def _delete(self, ids: Sequence[str]) -> None:
        with self._transaction() as conn:
            self._delete_in(conn, ids)

    @staticmethod
    def _delete_in(conn: sqlite3.Connection, ids: Sequence[str]) -> None:
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

    def cut_log(self) -> None:
        """Copy the write-ahead log into the file and cut it to nothing. `secure_delete` zeroes
        a deleted job's row in the file, but the log keeps the pages as they were before, job
        data and contact id included, until SQLite happens to write over them.

        Raises:
            sqlite3.OperationalError: SQLITE_BUSY, another connection (a backup's read) kept
                the checkpoint from finishing; SQLite reports that as a result, not an error,
                so it is raised as the lock error callers already wait on (`is_locked`).
        """
        self._flush()
        with self._lock:
            busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            error = sqlite3.OperationalError("the job file's log is in use by another reader")
            error.sqlite_errorcode = sqlite3.SQLITE_BUSY
            raise error

    def one_off_runs(self, contact_id: str) -> list[str]:
        """The run id of each one-off job of the contact (`run_of`)."""
        self._flush()
        rows = self._read(
            f"SELECT job_state FROM {TABLE} WHERE contact_id = ? AND kind = 'one_off'",
            (contact_id,),
        )
        runs: list[str] = []
        for (job_state,) in rows:
            try:
                runs.append(run_of(self._reconstitute(job_state)))
            except Exception:  # left for `_jobs`, which logs and deletes it when it is due
                continue
        return runs

    def move_contact(
        self, old_contact_id: str, new_contact_id: str, *, drop: Collection[str] = ()
    ) -> int:
        """`MovesContactJobs.move_jobs` in one transaction: each one-off job of the old contact
        rewritten (contact, key and id) with its due time and pickle otherwise unchanged; a job
        whose run is in `drop` (run ids: runs that ran already) deleted instead."""
        self._flush()
        moved = 0
        with self._transaction() as conn:
            rows = conn.execute(
                f"SELECT id, job_state FROM {TABLE} WHERE contact_id = ? AND kind = 'one_off'",
                (old_contact_id,),
            ).fetchall()
            for job_id, job_state in rows:
                try:
                    job = self._reconstitute(job_state)
                except Exception:  # left for `_jobs`, which logs and deletes it when it is due
                    continue
                if run_of(job) in drop:
                    conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (job_id,))
                    continue
                key = moved_key(job.kwargs.get("key", ""), old_contact_id, new_contact_id)
                new_id = one_off_job_id(key)
                if (
                    new_id != job_id
                    and conn.execute(f"SELECT 1 FROM {TABLE} WHERE id = ?", (new_id,)).fetchone()
                ):
                    continue
                state = job.__getstate__()
                state["id"] = new_id
                state["kwargs"] = {
                    **job.kwargs,
                    "contact_id": new_contact_id,
                    "key": key,
                    "job_id": new_id,
                }
                moving = Job.__new__(Job)
                moving.__setstate__(state)
                conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (job_id,))
                conn.execute(_INSERT, (new_id, *self._row(moving)))
                moved += 1
        return moved

    def insert_many(self, jobs: Sequence[Any]) -> None:
        """Store many new jobs in one transaction (bulk loads: benchmarks, imports)."""
        self._flush()
        with self._transaction() as conn:
            conn.executemany(_INSERT, [(job.id, *self._row(job)) for job in jobs])


def run_of(job: Any) -> str:
    """The run id a one-off job fires with (`dispatch.fire_job`): its id and its due time."""
    return run_id(job.kwargs.get("job_id", job.id), job.kwargs.get("run_at") or job.next_run_time)
