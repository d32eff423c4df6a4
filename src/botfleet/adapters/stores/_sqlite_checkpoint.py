"""Checkpoints of a tenant file's write-ahead log, run on a worker thread, not the event loop.

Left to itself, SQLite checkpoints inside the COMMIT that takes the log past 1,000 pages: it
copies the pages into the database file and fsyncs both (with `synchronous=NORMAL` those are
the only fsyncs), so one turn in ~100 held the event loop, and every request on it, for
milliseconds (30 ms seen under load; docs/benchmarks.md). The store's connection therefore has
`wal_autocheckpoint = 0`, and `WalCheckpointer` checkpoints on a connection of its own in a
worker thread once about as much has been written (the `sqlite3` module releases the GIL
meanwhile). A PASSIVE checkpoint copies the log without blocking anyone: the loop's connection
keeps writing (WAL lets one writer and one checkpointer run at once). The log starts over from
its beginning by itself at the first commit after a checkpoint that copied all of it, which is
the usual case at a small business's pace. Under sustained load a commit nearly always lands
while the checkpoint syncs, so the log keeps growing (it grew without bound in the tests); once
it holds more than `RESTART_ABOVE_FRAMES` pages, a RESTART checkpoint follows the passive one:
it copies the few pages written meanwhile, syncs, and the log starts over.

A RESTART holds every write of the tenant off for two fsyncs (8 ms at the median, 17 ms at
worst, on the benchmark machine of 2026-12-05). It used to follow every passive checkpoint:
under the web chat benchmark that closed the gate ~19 times a second, 15% of the time,
and the turns waiting at it made the p99 (docs/benchmarks.md, eleventh session). A log of a few
thousand pages costs nearly nothing meanwhile: readers do not search the pages already copied.
The log's file keeps its longest size, though, so once the tenant has written nothing for
`TRIM_WHEN_IDLE_S`, a TRUNCATE checkpoint cuts a file longer than `KEEP_LOG_BYTES` back to
nothing (behind the gate, which holds no one then). Cutting it back whenever the log started
over (`journal_size_limit`) put a truncation of up to 40 MB into a commit on the loop: p99 25.2
-> 29.9 ms in the same A/B.

A RESTART holds new writes off while it runs. Racing the loop for the lock cost more than the
copy: the checkpointer's busy handler slept in whole milliseconds while holding the write lock
whenever a statement of the loop was running, and commits that met the lock failed and polled
with `asyncio.sleep` (1,800 retries in a 15 s benchmark run, some turns 15 ms late; the p99).
So the RESTART runs behind a gate instead: the loop stops starting statements on its own
connection (`SqliteDatabase.run` waits at `gate`; a statement never spans an `await`, so none
is running when the gate closes), the RESTART runs uncontended (under a millisecond: a few
pages and an fsync), and the gate opens. Other requests go on meanwhile up to their next
statement. Other processes' connections keep SQLite's automatic checkpoints.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger("botfleet.store")

#: Rows changed between two checkpoints. A turn changes ~4 rows and writes ~10 pages, so this
#: is about SQLite's own 1,000-page threshold.
CHECKPOINT_EVERY_CHANGES = 400
#: Pages in the log above which a RESTART follows the passive checkpoint (~40 MB; ~2 s of
#: the web chat benchmark's writes). Below it the log starts over by itself when it can.
RESTART_ABOVE_FRAMES = 10_000
#: A tenant idle this long has a log file longer than `KEEP_LOG_BYTES` cut back.
TRIM_WHEN_IDLE_S = 30.0
KEEP_LOG_BYTES = 4 * 1024 * 1024
#: After a RESTART that another process's reader (an online backup's snapshot) or writer kept
#: from finishing, the next ones wait this long (doubling up to `RESTART_BACKOFF_MAX_S`): a
#: backup keeps its snapshot for as long as it copies. PASSIVE checkpoints go on meanwhile.
RESTART_BACKOFF_S = 1.0
RESTART_BACKOFF_MAX_S = 30.0


class WalCheckpointer:
    """Checkpoints `path`'s log on a worker thread after every `every` rows changed."""

    def __init__(
        self,
        path: Path,
        *,
        every: int = CHECKPOINT_EVERY_CHANGES,
        restart_above: int = RESTART_ABOVE_FRAMES,
    ) -> None:
        self.path = path
        self.every = every
        self.restart_above = restart_above
        self.checkpoints = 0  # completed, for tests and curiosity
        self.restarts = 0  # RESTART checkpoints run, ditto
        self._changes = 0
        self._written = 0  # rows, ever: whether the tenant wrote since the idle check was set
        self._idle_check: asyncio.TimerHandle | None = None
        self.trims = 0  # log files cut back, for tests and curiosity
        self._conn: sqlite3.Connection | None = None
        self._running: asyncio.Future[None] | None = None
        #: Set while the loop may run statements on the store's connection; cleared while a
        #: RESTART runs (`SqliteDatabase.run` waits on it).
        self.gate = asyncio.Event()
        self.gate.set()
        self._closed = False
        self._failing = False
        # Only `_checkpoint` and `_restart` touch these, on worker threads, one after the other.
        self.restarts_blocked = 0
        self._restart_pause = 0.0
        self._restart_after = 0.0
        #: A person's data was deleted: the log, which holds its pages, is cut back at the next
        #: idle moment whatever its length (`erased`).
        self._trim_wanted = False

    def erased(self) -> None:
        """Rows holding a person's data were deleted (an erasure, forgotten conversations, rows
        aged out of the journal, outbox or task runs): the log still holds the pages they were
        on, so it is cut back (a TRUNCATE checkpoint) once the tenant has written nothing for
        `TRIM_WHEN_IDLE_S`, however short it is."""
        self._trim_wanted = True
        if self._idle_check is None and self._running is None and not self._closed:
            self._idle_check_later()

    def changed(self, rows: int) -> None:
        """`rows` rows were written; starts a checkpoint when enough have been since the last."""
        self._changes += rows
        self._written += rows
        if self._changes >= self.every and self._running is None and not self._closed:
            self._changes = 0
            self._start(self._run())

    def _start(self, work: Coroutine[Any, Any, None]) -> None:
        self._running = asyncio.ensure_future(work)
        self._running.add_done_callback(self._finished)

    async def close(self) -> None:
        """Wait for a running checkpoint, then close the checkpointer's connection."""
        self._closed = True
        if self._idle_check is not None:
            self._idle_check.cancel()
        if self._running is not None:
            # Its failure, if any, is logged by `_finished`.
            await asyncio.wait([self._running])
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self._checkpoint):
            return
        self.gate.clear()  # on the loop, between two requests' steps: no statement is running
        try:
            await loop.run_in_executor(None, self._restart)
        finally:
            self.gate.set()

    def _check_idle(self, written: int) -> None:
        """`TRIM_WHEN_IDLE_S` after a checkpoint: cut the log file back if nothing was written
        since, else look again later."""
        self._idle_check = None
        if self._closed or self._running is not None:
            return
        if self._written != written:
            self._idle_check_later()
            return
        try:
            long_log = self.path.with_name(self.path.name + "-wal").stat().st_size > KEEP_LOG_BYTES
        except OSError:  # no log file: nothing to cut
            return
        if long_log or self._trim_wanted:
            self._start(self._trim())

    def _idle_check_later(self) -> None:
        loop = asyncio.get_running_loop()
        self._idle_check = loop.call_later(TRIM_WHEN_IDLE_S, self._check_idle, self._written)

    async def _trim(self) -> None:
        loop = asyncio.get_running_loop()
        self.gate.clear()  # nobody is writing; a turn that comes meanwhile waits a few ms
        try:
            await loop.run_in_executor(None, self._truncate)
        finally:
            self.gate.set()

    def _truncate(self) -> None:  # on a worker thread, while the gate is closed
        # Busy (a reader's snapshot): the file stays as it is until the next idle check.
        if not self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()[0][0]:
            self.trims += 1
            self._trim_wanted = False

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # No busy handler: the loop's connection is held back at the gate during a
            # RESTART, so only another process can make it wait, and then it gives up at
            # once (and backs off) instead of holding this process's writes.
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=0, check_same_thread=False
            )
        return self._conn

    def _checkpoint(self) -> bool:  # on a worker thread; one at a time (see `changed`)
        """PASSIVE checkpoint; True when a RESTART should follow: the log is longer than
        `restart_above` pages and the RESTARTs are not backing off."""
        # (busy, pages in the log, pages copied): the log's length as the checkpoint began
        frames = int(self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0][1])
        return frames > self.restart_above and time.monotonic() >= self._restart_after

    def _restart(self) -> None:  # on a worker thread, while the gate is closed
        assert self._conn is not None
        self.restarts += 1
        # The first column is 1 when a reader or writer kept the log from starting over.
        if self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()[0][0]:
            self.restarts_blocked += 1
            self._restart_pause = min(
                max(self._restart_pause * 2, RESTART_BACKOFF_S), RESTART_BACKOFF_MAX_S
            )
            self._restart_after = time.monotonic() + self._restart_pause
        else:
            self._restart_pause = 0.0

    def _finished(self, future: asyncio.Future[None]) -> None:
        self._running = None
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            self.checkpoints += 1
            self._failing = False
            if self._idle_check is None and not self._closed:
                self._idle_check_later()
        elif not self._failing:  # once per run of failures: the log keeps growing meanwhile
            self._failing = True
            log.warning("wal_checkpoint_failed", path=str(self.path), error=str(error))
