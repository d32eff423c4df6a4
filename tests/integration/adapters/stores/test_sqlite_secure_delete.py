"""Erased rows do not stay readable in the database file's free pages (`secure_delete`)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from botfleet.adapters.stores import SqliteTenantStore
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

SECRET = "my-very-private-text-4711"


async def test_erased_content_is_overwritten_in_the_database_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        for n in range(50):
            message = sample_message(f"m{n}", "ana", text=f"{SECRET} {n}")
            await store.journal.record(message, SAMPLE_TIME + timedelta(seconds=n))
            await store.commit_turn(
                sample_state("ana", data={"note": SECRET}),
                expected_version=n,
                message_id=message.message_id,
                outputs=[{"type": "text", "text": f"{SECRET} reply {n}"}],
                at=SAMPLE_TIME + timedelta(seconds=n),
            )
        await store.contacts.erase("ana")
    with closing(sqlite3.connect(path)) as conn:  # checkpoints the log into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert SECRET.encode() not in path.read_bytes()


def test_the_store_turns_it_on_whatever_the_build_defaults_to(tmp_path: Path) -> None:
    """This machine's SQLite defaults to on; a build that defaults to off is turned on too."""
    from botfleet.adapters.stores._sqlite_schema import prepare

    with closing(sqlite3.connect(tmp_path / "state.db", isolation_level=None)) as conn:
        conn.execute("PRAGMA secure_delete = OFF")
        prepare(conn, tmp_path / "state.db", 1.0)
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_the_job_file_turns_it_on_too(tmp_path: Path) -> None:
    from botfleet.adapters.scheduling.jobstore import open_job_db

    with closing(open_job_db(tmp_path / "state.jobs.db")) as conn:
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


async def test_after_an_erasure_the_log_is_cut_back_once_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write-ahead log holds the erased rows' pages until cut back: an erasure asks for
    that at the next idle moment, however short the log is."""
    import asyncio

    from botfleet.adapters.stores import _sqlite_checkpoint

    monkeypatch.setattr(_sqlite_checkpoint, "TRIM_WHEN_IDLE_S", 0.05)
    path = tmp_path / "state.db"
    wal = tmp_path / "state.db-wal"
    async with SqliteTenantStore.open(path) as store:
        message = sample_message("m1", "ana", text=SECRET)
        await store.journal.record(message, SAMPLE_TIME)
        await store.commit_turn(
            sample_state("ana", data={"note": SECRET}),
            expected_version=0,
            message_id="m1",
            outputs=[{"type": "text", "text": SECRET}],
            at=SAMPLE_TIME,
        )
        assert SECRET.encode() in wal.read_bytes()  # a short log: never cut back by length
        await store.contacts.erase("ana")
        for _ in range(1000):  # up to 20 s: on a busy machine the idle moment comes late
            await asyncio.sleep(0.02)
            if wal.stat().st_size == 0:
                break
        assert wal.stat().st_size == 0
        assert store.database.checkpointer.trims == 1
        # Writing goes on as before.
        await store.states.save(sample_state("bob"), expected_version=0)
    assert SECRET.encode() not in path.read_bytes()


async def test_after_messages_age_out_the_log_and_the_file_lose_them_once_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's and the outbox's 8 days: pruned rows were zeroed in pages the log held,
    while the file and the log's older frames kept the words until some later checkpoint
    (days at a quiet tenant's pace). Pruning asks for the cut-back an erasure asks for."""
    import asyncio

    from botfleet.adapters.stores import _sqlite_checkpoint

    monkeypatch.setattr(_sqlite_checkpoint, "TRIM_WHEN_IDLE_S", 0.05)
    path = tmp_path / "state.db"
    wal = tmp_path / "state.db-wal"
    async with SqliteTenantStore.open(path) as store:
        message = sample_message("m1", "ana", text=SECRET)
        await store.journal.record(message, SAMPLE_TIME)
        await store.commit_turn(
            sample_state("ana"),
            expected_version=0,
            message_id="m1",
            outputs=[{"type": "text", "text": SECRET}],
            at=SAMPLE_TIME,
        )
        assert SECRET.encode() in wal.read_bytes()
        later = SAMPLE_TIME + timedelta(days=9)
        assert await store.prune_journal(later) == 1
        assert await store.prune_outbox(later) == 1
        for _ in range(1000):  # up to 20 s, as above
            await asyncio.sleep(0.02)
            if wal.stat().st_size == 0:
                break
        assert wal.stat().st_size == 0
        assert SECRET.encode() not in path.read_bytes()


async def test_a_prune_that_removes_nothing_leaves_the_log_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from botfleet.adapters.stores import _sqlite_checkpoint

    monkeypatch.setattr(_sqlite_checkpoint, "TRIM_WHEN_IDLE_S", 0.05)
    async with SqliteTenantStore.open(tmp_path / "state.db") as store:
        await store.journal.record(sample_message("m1", "ana"), SAMPLE_TIME)
        assert await store.prune_journal(SAMPLE_TIME - timedelta(days=1)) == 0
        assert await store.prune_outbox(SAMPLE_TIME - timedelta(days=1)) == 0
        await asyncio.sleep(0.2)
        assert store.database.checkpointer.trims == 0
        assert (tmp_path / "state.db-wal").stat().st_size > 0
