"""Checkpoints of a tenant file's write-ahead log, run on a worker thread, not the event loop.

Left to itself, SQLite checkpoints inside the COMMIT that takes the log past 1,000 pages: it
copies the pages into the database file and fsyncs both (with `synchronous=NORMAL` those are
the only fsyncs), so one turn in ~100 held the event loop, and every request on it, for
milliseconds (30 ms seen under load; docs/benchmarks.md). The store's connection therefore has
`wal_autocheckpoint = 0`, and `WalCheckpointer` checkpoints on a connection of its own in a
worker thread once about as much has been written (the `sqlite3` module releases the GIL
meanwhile). First a PASSIVE checkpoint copies the bulk of the log without blocking anyone: the
loop's connection keeps writing (WAL lets one writer and one checkpointer run at once). But a
log only starts over from its beginning once every page in it has been copied, which a passive
checkpoint never achieves while turns keep committing (the log grew without bound in the
tests). So a RESTART checkpoint follows: it holds new writes off while it copies the few pages
written meanwhile and syncs, and the log starts over. The loop is not blocked during that
time: a commit that meets the lock waits with `asyncio.sleep` (`SqliteDatabase.run`), and
other requests go on. Other processes' connections to the file keep SQLite's automatic
checkpoints.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import structlog

log = structlog.get_logger("botfleet.store")

#: Rows changed between two checkpoints. A turn changes ~4 rows and writes ~10 pages, so this
#: is about SQLite's own 1,000-page threshold.
CHECKPOINT_EVERY_CHANGES = 400
#: How long the RESTART step waits for a commit or a read in progress before giving up (it is
#: tried again after the next `CHECKPOINT_EVERY_CHANGES`). New writes wait while it does, so
#: this bounds the delay a long reader (an online backup) can cause to turns: short.
RESTART_WAIT_S = 0.2
#: After a RESTART that a reader kept from finishing, the next ones wait this long (doubling
#: up to `RESTART_BACKOFF_MAX_S`): every try holds new writes back for `RESTART_WAIT_S`, and a
#: backup keeps its snapshot for as long as it copies. PASSIVE checkpoints go on meanwhile.
RESTART_BACKOFF_S = 1.0
RESTART_BACKOFF_MAX_S = 30.0


class WalCheckpointer:
    """Checkpoints `path`'s log on a worker thread after every `every` rows changed."""

    def __init__(self, path: Path, *, every: int = CHECKPOINT_EVERY_CHANGES) -> None:
        self.path = path
        self.every = every
        self.checkpoints = 0  # completed, for tests and curiosity
        self._changes = 0
        self._conn: sqlite3.Connection | None = None
        self._running: asyncio.Future[None] | None = None
        self._closed = False
        self._failing = False
        # Only the worker thread running `_checkpoint` (one at a time) touches these.
        self.restarts_blocked = 0
        self._restart_pause = 0.0
        self._restart_after = 0.0

    def changed(self, rows: int) -> None:
        """`rows` rows were written; starts a checkpoint when enough have been since the last."""
        self._changes += rows
        if self._changes >= self.every and self._running is None and not self._closed:
            self._changes = 0
            loop = asyncio.get_running_loop()
            self._running = loop.run_in_executor(None, self._checkpoint)
            self._running.add_done_callback(self._finished)

    async def close(self) -> None:
        """Wait for a running checkpoint, then close the checkpointer's connection."""
        self._closed = True
        if self._running is not None:
            # Its failure, if any, is logged by `_finished`.
            await asyncio.wait([self._running])
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _checkpoint(self) -> None:  # on a worker thread; one at a time (see `changed`)
        if self._conn is None:
            # RESTART waits (on this thread) for a commit in progress or a reader to finish.
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=RESTART_WAIT_S, check_same_thread=False
            )
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        now = time.monotonic()
        if now < self._restart_after:
            return
        # The first column is 1 when a reader kept the log from starting over.
        if self._conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()[0][0]:
            self.restarts_blocked += 1
            self._restart_pause = min(
                max(self._restart_pause * 2, RESTART_BACKOFF_S), RESTART_BACKOFF_MAX_S
            )
            self._restart_after = now + self._restart_pause
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
        elif not self._failing:  # once per run of failures: the log keeps growing meanwhile
            self._failing = True
            log.warning("wal_checkpoint_failed", path=str(self.path), error=str(error))
