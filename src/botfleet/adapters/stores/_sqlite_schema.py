"""Schema of a tenant's SQLite file: connection pragmas and migrations tracked by user_version.

`MIGRATIONS[n - 1]` takes a file from schema version `n - 1` to `n`. Append new steps at the
end and never edit a released one: opening a file runs the steps it has not seen, in one
transaction, so an old file is upgraded in place and a failed upgrade leaves it untouched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import structlog

from botfleet.adapters.stores._sqlite_database import is_transient
from botfleet.domain.errors import StoreError, StoreUnavailable

log = structlog.get_logger("botfleet.store")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: conversation state, inbound journal, outbox.
    (
        """CREATE TABLE conversation (
            contact_id   TEXT PRIMARY KEY,
            tenant_id    TEXT NOT NULL,
            flow_id      TEXT NOT NULL,
            node         TEXT NOT NULL,
            version      INTEGER NOT NULL CHECK (version > 0),
            data         TEXT NOT NULL,   -- JSON object
            history      TEXT NOT NULL,   -- JSON array of turns, bounded
            awaiting     TEXT,            -- JSON object (Resume) or NULL
            last_options TEXT NOT NULL,   -- JSON array of options
            created_at   TEXT NOT NULL,   -- ISO 8601 with offset
            updated_at   TEXT NOT NULL
        )""",
        """CREATE TABLE journal (
            seq         INTEGER PRIMARY KEY,
            message_id  TEXT NOT NULL UNIQUE,
            contact_id  TEXT NOT NULL,
            message     TEXT NOT NULL,    -- JSON: every InboundMessage field
            received_at TEXT NOT NULL,    -- ISO 8601 with offset, returned as given
            received_us INTEGER NOT NULL, -- microseconds since the epoch, for ordering
            status      TEXT NOT NULL DEFAULT 'pending',
            replies     TEXT NOT NULL DEFAULT '[]'
        )""",
        # Partial index: the recovery scan reads only the (few) pending rows.
        "CREATE INDEX journal_pending ON journal (received_us, seq) WHERE status = 'pending'",
        "CREATE INDEX journal_received ON journal (received_us)",
        # AUTOINCREMENT: sequence numbers are cursors for readers, never reused.
        """CREATE TABLE outbox (
            seq        INTEGER PRIMARY KEY AUTOINCREMENT,
            contact_id TEXT NOT NULL,
            at         TEXT NOT NULL,
            output     TEXT NOT NULL
        )""",
        "CREATE INDEX outbox_contact ON outbox (contact_id, seq)",
    ),
    # 2: LLM token usage per month, for quotas and the usage API (botfleet.adapters.llm.quota).
    (
        """CREATE TABLE llm_usage (
            month         TEXT PRIMARY KEY,            -- YYYY-MM in the tenant's time zone
            input_tokens  INTEGER NOT NULL DEFAULT 0,  -- prompt tokens not read from a cache
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cached_tokens INTEGER NOT NULL DEFAULT 0,  -- prompt tokens read from the cache
            requests      INTEGER NOT NULL DEFAULT 0,  -- calls made to the provider
            answered      INTEGER NOT NULL DEFAULT 0,
            out_of_scope  INTEGER NOT NULL DEFAULT 0,
            errors        INTEGER NOT NULL DEFAULT 0,
            over_quota    INTEGER NOT NULL DEFAULT 0,  -- questions refused: quota used up
            updated_at    TEXT NOT NULL
        )""",
    ),
    # 3: delivery tracking for channels that push to a provider: a turn's outputs are committed
    # with delivered = 0 and set to 1 once handed to the channel, so outputs committed by a
    # process that died before sending them are sent at the next start (at least once).
    (
        "ALTER TABLE outbox ADD COLUMN delivered INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX outbox_undelivered ON outbox (contact_id, seq) WHERE delivered = 0",
    ),
    # 4: whether `last_options` are the rows of a list (a typed choice is then a list reply);
    # states stored before offered buttons as far as they can tell.
    ("ALTER TABLE conversation ADD COLUMN last_options_list INTEGER NOT NULL DEFAULT 0",),
    # 5: when the contact last wrote (ISO 8601), the start of a session timeout; NULL in rows
    # written before, which count from `updated_at` instead.
    ("ALTER TABLE conversation ADD COLUMN last_inbound_at TEXT",),
    # 6: the outbox seqs of a done message's replies (JSON array, in order), so a retried web
    # chat message is answered with the numbers `GET /messages` shows its replies under. NULL
    # in rows written before (and in pending or failed ones): none known, or no replies.
    ("ALTER TABLE journal ADD COLUMN reply_seqs TEXT",),
)

SCHEMA_VERSION = len(MIGRATIONS)

#: RETURNING (used to make every write one round trip) needs SQLite 3.35.
MIN_SQLITE = (3, 35, 0)


def prepare(conn: sqlite3.Connection, path: Path, busy_timeout: float) -> None:
    """Set the pragmas and bring the schema up to date. Raises `StoreError` naming `path`.

    Opening may wait up to `busy_timeout` for another process (switching to WAL, migrating);
    afterwards SQLite's own busy handler is off: `SqliteDatabase` waits for locks without
    blocking the event loop.
    """
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        raise StoreError(
            f"{path}: SQLite {sqlite3.sqlite_version} is too old; botfleet needs "
            f"{'.'.join(map(str, MIN_SQLITE))} or newer"
        )
    try:
        # First, so that switching to WAL waits for other processes instead of failing.
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]).lower()
        if mode != "wal":
            raise StoreError(
                f"{path}: could not enable write-ahead logging (journal mode is {mode!r}); "
                "use a file on a local disk"
            )
        # WAL + NORMAL: commits do not wait for fsync (only checkpoints do). A process crash
        # loses nothing; a power cut or kernel crash may lose the last few commits but never
        # corrupts the file. FULL would fsync every commit, costing milliseconds per turn.
        conn.execute("PRAGMA synchronous = NORMAL")
        # Deleted rows (an erased contact, pruned messages) are overwritten with zeros rather
        # than left in free pages: Debian's SQLite does it by default, other builds may not.
        conn.execute("PRAGMA secure_delete = ON")
        migrate(conn, path)
        conn.execute("PRAGMA busy_timeout = 0")
    except sqlite3.Error as exc:
        message = f"{path}: cannot open the tenant store: {exc}"
        if is_transient(exc):  # another process's lock, a full disk: a later start may do
            raise StoreUnavailable(message, cause=str(exc)) from exc
        raise StoreError(message, cause=str(exc)) from exc


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchall()[0][0])


def migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Apply the missing migration steps in one transaction; refuse files from the future."""
    if _check_version(schema_version(conn), path) == SCHEMA_VERSION:
        return
    # IMMEDIATE takes the write lock now, so two processes cannot migrate the file at once;
    # the version is read again under the lock in case another process just did it.
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = _check_version(schema_version(conn), path)
        for step in MIGRATIONS[current:]:
            for statement in step:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if current:
        # The point of no return of an upgrade: releases older than this one now refuse the
        # file, so the operator must be able to tell when (and from what) it happened.
        log.info(
            "state_schema_upgraded",
            path=str(path),
            from_version=current,
            to_version=SCHEMA_VERSION,
        )


def _check_version(version: int, path: Path) -> int:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: schema version {version} is newer than this botfleet supports "
            f"({SCHEMA_VERSION}); the file was written by a newer release: run that release "
            "(or a newer one), or restore state.db and state.jobs.db together from the backup "
            'taken before the upgrade (docs/operations.md, "Upgrading")'
        )
    return version
