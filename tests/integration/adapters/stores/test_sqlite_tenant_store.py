"""SQLite tenant store beyond the contract: files, reopening, locking, closing, errors."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from botfleet.adapters.stores import SqliteTenantStore
from botfleet.domain.errors import ConcurrentUpdate, StoreError
from botfleet.flows.state import ConversationState
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

T0 = SAMPLE_TIME


async def test_everything_survives_closing_and_reopening(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as store:
        saved = await store.states.save(sample_state(data={"name": "Ana"}), expected_version=0)
        await store.journal.record(sample_message("m1"), T0)
        await store.journal.record(sample_message("m2"), T0 + timedelta(seconds=1))
        await store.journal.complete("m1", [{"type": "text", "text": "hola"}])
        last_seq = await store.outbox.append("contact-1", {"type": "text", "text": "hola"}, T0)

    async with SqliteTenantStore.open(path) as store:
        assert await store.states.load("contact-1") == saved
        assert [e.message.message_id for e in await store.journal.pending()] == ["m2"]
        done = await store.journal.get("m1")
        assert done is not None
        assert done.replies == ({"type": "text", "text": "hola"},)
        assert await store.journal.record(sample_message("m1"), T0) is False
        assert [r["seq"] for r in await store.outbox.since()] == [last_seq]
        assert await store.outbox.append("contact-1", {"type": "text", "text": "2"}, T0) > last_seq


async def test_open_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "tenants" / "acme" / "state.db"
    async with SqliteTenantStore.open(path) as store:
        assert store.path == path
    assert path.is_file()


async def test_open_can_be_awaited_as_well(tmp_path: Path) -> None:
    store = await SqliteTenantStore.open(str(tmp_path / "tenant.db"))
    try:
        assert await store.states.count() == 0
    finally:
        await store.close()


async def test_the_file_uses_write_ahead_logging(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path):
        with closing(sqlite3.connect(path)) as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_an_unusable_folder_is_reported_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"not-a-folder.*cannot create the folder"):
        await SqliteTenantStore.open(blocker / "tenant.db")


async def test_a_file_that_is_not_a_database_is_reported_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages you are looking for" * 100)
    with pytest.raises(
        StoreError, match=rf"{path.name}: cannot open the tenant store: file is not"
    ):
        await SqliteTenantStore.open(path)


async def test_a_locked_database_is_reported_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path, busy_timeout=0.05) as store:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # holds the write lock
            with pytest.raises(StoreError) as caught:
                await store.states.save(sample_state(), expected_version=0)
            assert str(path) in str(caught.value)
            assert "save conversation 'contact-1': database is locked" in str(caught.value)
            assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
            # Readers are not blocked by a writer in WAL mode.
            assert await store.states.count() == 0
        finally:
            other.execute("ROLLBACK")
            other.close()
        # Once the lock is gone the store works again.
        assert (await store.states.save(sample_state(), expected_version=0)).version == 1


async def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = await SqliteTenantStore.open(tmp_path / "tenant.db")
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreError, match=r"tenant\.db: cannot load conversation 'x': .*closed"):
        await store.states.load("x")
    with pytest.raises(StoreError, match="closed"):
        await store.prune_journal(T0)


async def test_two_processes_sharing_a_file_cannot_both_win_a_save(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as one, SqliteTenantStore.open(path) as two:
        first = await one.states.save(sample_state(), expected_version=0)
        results = await asyncio.gather(
            one.states.save(replace(first, node="ONE"), expected_version=1),
            two.states.save(replace(first, node="TWO"), expected_version=1),
            return_exceptions=True,
        )
        winners = [r for r in results if isinstance(r, ConversationState)]
        assert len(winners) == 1
        assert sum(isinstance(r, ConcurrentUpdate) for r in results) == 1
        assert await two.states.load("contact-1") == winners[0]
        assert await one.journal.record(sample_message("m1"), T0) is True
        assert await two.journal.record(sample_message("m1"), T0) is False


async def test_an_unreadable_stored_state_is_set_aside_and_the_contact_starts_over(
    tmp_path: Path,
) -> None:
    # It failed every turn of the contact for good (tests/faults/test_unreadable_conversation.py
    # covers every kind of bad row and the next message being answered).
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path) as store:
        await store.states.save(sample_state(), expected_version=0)
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("UPDATE conversation SET history = '[{oops'")
        assert await store.states.load("contact-1") is None
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            kept = other.execute("SELECT history FROM conversation_unreadable").fetchall()
        assert kept == [("[{oops",)]  # kept as it was, for an operator


async def test_a_message_with_broken_unicode_can_still_be_journaled(tmp_path: Path) -> None:
    message = sample_message("m1", text="half an emoji: \ud83d")
    async with SqliteTenantStore.open(tmp_path / "tenant.db") as store:
        assert await store.journal.record(message, T0) is True
        entry = await store.journal.get("m1")
    assert entry is not None
    assert entry.message == message
