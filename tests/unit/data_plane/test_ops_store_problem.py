"""`store_problem`: a state file's error at start, in one line ending with what to do. The
hint follows the SQLite error under the store's, which the process running the real CLI
(test_ops_state_files_at_start.py) cannot easily produce for a full disk."""

from __future__ import annotations

import sqlite3

from botfleet.domain.errors import StoreError, StoreUnavailable
from botfleet.startup_problems import store_problem


def _raised_from(error: StoreError, code: int, text: str) -> StoreError:
    """`error` as the store raises it: `from` the sqlite3 error with result `code`."""
    cause = sqlite3.OperationalError(text)
    cause.sqlite_errorcode = code
    try:
        raise error from cause
    except StoreError as raised:
        return raised


def test_a_full_disk_says_to_free_space() -> None:
    error = _raised_from(
        StoreUnavailable("/srv/acme/state.db: cannot open: database or disk is full"),
        13 | (3 << 8),  # an extended code: the primary one is its low byte
        "database or disk is full",
    )
    assert store_problem(error) == (
        "/srv/acme/state.db: cannot open: database or disk is full; the disk is full: free "
        "space, then start again"
    )


def test_an_unavailable_store_without_a_sqlite_cause_gets_the_general_advice() -> None:
    problem = store_problem(StoreUnavailable("/srv/acme/state.jobs.db: locked\n  (twice)"))
    assert problem == (
        "/srv/acme/state.jobs.db: locked (twice); it may work later: check that no other "
        "process holds it and that the disk has space, then start again"
    )


def test_a_message_that_says_what_to_do_is_left_alone() -> None:
    message = (
        "/srv/acme/state.db: schema version 9 is newer than this botfleet supports (5); the "
        "file was written by a newer release: run that release (or a newer one), or restore "
        "state.db and state.jobs.db together from the backup taken before the upgrade "
        '(docs/operations.md, "Upgrading")'
    )
    assert store_problem(StoreError(message)) == message
