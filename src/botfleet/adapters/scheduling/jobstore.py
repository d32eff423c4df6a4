"""APScheduler's SQLAlchemy job store with the columns `GET /tasks` filters on, on SQLite.

APScheduler keeps a job as a pickle plus an indexed `next_run_time`. Listing a contact's jobs from
that would unpickle every stored job, so this store also writes the job's kind, task, contact,
key and data (JSON) into plain columns on every insert and update. APScheduler still reads only
its pickle; the extra columns are for queries.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.util import datetime_to_utc_timestamp, utc_timestamp_to_datetime
from sqlalchemy import (
    Column,
    Engine,
    Float,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Unicode,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from botfleet.ports.scheduling import ScheduledJob

TABLE = "botfleet_jobs"
#: SQLite limits bound parameters per statement; stay well under the oldest limit (999).
_DELETE_CHUNK = 500


def sqlite_engine(path: Path | None) -> Engine:
    """A synchronous engine on the job file (None: a private in-memory database).

    WAL with `synchronous=NORMAL`: a commit does not wait for the disk, so removing a thousand
    fired jobs takes milliseconds, and a crash loses at most the last commits, never the file.
    """
    if path is None:
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if path is not None:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


@dataclass(frozen=True, slots=True)
class JobQuery:
    kind: str | None = None
    contact_id: str | None = None
    task: str | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    limit: int | None = None


class IndexedJobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """`SQLAlchemyJobStore` plus query columns; `find()` answers `GET /tasks` without pickles."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine=engine, tablename=TABLE)
        #: job id -> its arguments, from when it was found due until its run is reported (the
        #: scheduler's events carry only the id, and a fired one-off is no longer stored).
        self.in_flight: dict[str, dict[str, Any]] = {}
        self._due: set[str] = set()
        self._deferred_deletes: list[str] = []
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

    # ------------------------------------------------------------ APScheduler's calls

    # APScheduler removes each fired one-off with its own DELETE and commit while it walks the
    # due jobs: a thousand due at once cost most of a second. Removals of jobs this store has just
    # returned as due are collected instead and committed together before the scheduler's next
    # read (`get_next_run_time`, which it calls right after the walk). The walk is synchronous,
    # so nothing else can observe the rows in between, and they are gone before any job runs.

    def get_due_jobs(self, now: datetime) -> list[Any]:
        self._due = set()
        self._flush()
        jobs: list[Any] = super().get_due_jobs(now)
        for job in jobs:
            self.in_flight[job.id] = dict(job.kwargs)
        self._due = {job.id for job in jobs}
        return jobs

    def remove_job(self, job_id: str) -> None:
        if job_id in self._due:
            self._due.discard(job_id)
            self._deferred_deletes.append(job_id)
            return
        self._flush()
        super().remove_job(job_id)

    def get_next_run_time(self) -> datetime | None:
        self._due = set()  # the walk over the due jobs is over
        self._flush()
        moment: datetime | None = super().get_next_run_time()
        return moment

    def lookup_job(self, job_id: str) -> Any:
        self._flush()
        return super().lookup_job(job_id)

    def get_all_jobs(self) -> list[Any]:
        self._flush()
        jobs: list[Any] = super().get_all_jobs()
        return jobs

    def remove_all_jobs(self) -> None:
        self._due = set()
        self._flush()
        super().remove_all_jobs()

    def shutdown(self) -> None:
        self._flush()
        super().shutdown()

    def add_job(self, job: Any) -> None:
        self._flush()
        insert = self.jobs_t.insert().values(id=job.id, **self._row(job))
        with self.engine.begin() as connection:
            try:
                connection.execute(insert)
            except IntegrityError:
                raise ConflictingIdError(job.id) from None

    def update_job(self, job: Any) -> None:
        self._flush()
        update = self.jobs_t.update().values(**self._row(job)).where(self.jobs_t.c.id == job.id)
        with self.engine.begin() as connection:
            if connection.execute(update).rowcount == 0:
                raise JobLookupError(job.id)

    def _flush(self) -> None:
        ids, self._deferred_deletes = self._deferred_deletes, []
        if not ids:
            return
        with self.engine.begin() as connection:
            for start in range(0, len(ids), _DELETE_CHUNK):
                chunk = ids[start : start + _DELETE_CHUNK]
                connection.execute(self.jobs_t.delete().where(self.jobs_t.c.id.in_(chunk)))

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

    # ------------------------------------------------------------ queries

    def find(self, query: JobQuery) -> list[ScheduledJob]:
        """Pending jobs matching `query`, soonest first (paused jobs, if any, last)."""
        self._flush()
        t = self.jobs_t
        stmt = select(
            t.c.id, t.c.next_run_time, t.c.kind, t.c.task, t.c.contact_id, t.c.job_key, t.c.data
        )
        if query.kind is not None:
            stmt = stmt.where(t.c.kind == query.kind)
        if query.contact_id is not None:
            stmt = stmt.where(t.c.contact_id == query.contact_id)
        if query.task is not None:
            stmt = stmt.where(t.c.task == query.task)
        if query.due_after is not None:
            stmt = stmt.where(t.c.next_run_time >= datetime_to_utc_timestamp(query.due_after))
        if query.due_before is not None:
            stmt = stmt.where(t.c.next_run_time <= datetime_to_utc_timestamp(query.due_before))
        stmt = stmt.order_by(t.c.next_run_time.is_(None), t.c.next_run_time, t.c.id)
        if query.limit is not None:
            stmt = stmt.limit(query.limit)
        with self.engine.connect() as connection:
            rows = connection.execute(stmt).all()
        return [
            ScheduledJob(
                job_id=row.id,
                task=row.task,
                contact_id=row.contact_id,
                next_run_at=utc_timestamp_to_datetime(row.next_run_time),
                data=json.loads(row.data),
                kind=row.kind,
                key=row.job_key,
            )
            for row in rows
        ]

    def fingerprints(self, kind: str) -> dict[str, str]:
        """job id -> fingerprint of every stored job of `kind`."""
        self._flush()
        t = self.jobs_t
        stmt = select(t.c.id, t.c.fingerprint).where(t.c.kind == kind)
        with self.engine.connect() as connection:
            return {row.id: row.fingerprint for row in connection.execute(stmt)}

    def count(self) -> int:
        self._flush()
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(func.count()).select_from(self.jobs_t)).scalar_one()
            )

    def insert_many(self, jobs: Sequence[Any]) -> None:
        """Store many new jobs in one transaction (bulk loads: benchmarks, imports)."""
        self._flush()
        rows = [{"id": job.id, **self._row(job)} for job in jobs]
        with self.engine.begin() as connection:
            connection.execute(self.jobs_t.insert(), rows)
