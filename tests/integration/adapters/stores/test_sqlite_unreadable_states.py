"""Conversation states set aside as unreadable (`conversation_unreadable`) hold a contact's content
as the state did: they go with the contact's state when it is deleted, and are pruned with the
journal's retention by the housekeeping pass, instead of being kept for good."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.data_plane.runtime.housekeeping import DEFAULT_JOURNAL_RETENTION, journal_pruning
from botfleet.testing.runtime import FrozenClock
from botfleet.testing.stores import sample_state

RETENTION = DEFAULT_JOURNAL_RETENTION


async def set_aside(store: SqliteTenantStore, *contacts: str) -> None:
    """Each contact's state saved, broken (invalid JSON) and found unreadable by a load."""
    for contact in contacts:
        await store.states.save(sample_state(contact), expected_version=0)
    with closing(sqlite3.connect(store.path, isolation_level=None)) as other:
        other.execute("UPDATE conversation SET history = '[{oops'")
    for contact in contacts:
        assert await store.states.load(contact) is None


def aside_in_file(path: Path) -> list[tuple[str, str]]:
    """(contact_id, set_aside_at) of every row set aside, as a later start reads the file."""
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT contact_id, set_aside_at FROM conversation_unreadable ORDER BY contact_id"
        ).fetchall()
    return [(str(c), str(at)) for c, at in rows]


def has_side_table(path: Path) -> bool:
    with closing(sqlite3.connect(path)) as conn:
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'conversation_unreadable'"
        ).fetchall()
    return bool(found)


async def test_deleting_a_contact_deletes_its_states_set_aside_too(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        await set_aside(store, "c1", "c2")
        await store.states.save(sample_state("c1"), expected_version=0)  # started over
        await store.states.delete("c1")
        assert await store.states.load("c1") is None
    assert [contact for contact, _ in aside_in_file(path)] == ["c2"]  # other contacts' stay


async def test_deleting_a_contact_does_not_create_the_side_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        await store.states.save(sample_state("c1"), expected_version=0)
        await store.states.delete("c1")
        assert await store.states.count() == 0
    assert not has_side_table(path)  # the file stays readable as earlier releases wrote it


async def test_states_set_aside_before_the_cutoff_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        await set_aside(store, "old", "new")
        # Written with another offset than UTC: compared as instants, not as texts.
        await store.database.change(
            "test",
            "UPDATE conversation_unreadable SET set_aside_at = ? WHERE contact_id = 'old'",
            ("2024-05-06T11:00:00+02:00",),
        )
        cutoff = datetime(2024, 5, 6, 9, 0, 1, tzinfo=UTC)
        assert await store.prune_unreadable_states(cutoff) == 1
        assert await store.prune_unreadable_states(cutoff) == 0
    assert [contact for contact, _ in aside_in_file(path)] == ["new"]


async def test_pruning_a_file_without_states_set_aside_does_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        assert await store.prune_unreadable_states(datetime.now(UTC)) == 0
    assert not has_side_table(path)


async def test_the_housekeeping_loop_prunes_states_set_aside_with_the_journals_retention(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        await set_aside(store, "c1")
        ((_, at),) = aside_in_file(path)
        set_aside_at = datetime.fromisoformat(at)

        clock = FrozenClock(set_aside_at + RETENTION - timedelta(minutes=1))
        with structlog.testing.capture_logs() as logs:
            async with journal_pruning(store, clock, every_s=0.01):
                await asyncio.sleep(0.05)
        assert len(aside_in_file(path)) == 1  # still within the retention
        assert not [e for e in logs if e["event"].startswith("conversation_unreadable")]

        clock = FrozenClock(set_aside_at + RETENTION + timedelta(seconds=1))
        with structlog.testing.capture_logs() as logs:
            async with journal_pruning(store, clock, every_s=0.01):
                for _ in range(100):
                    if not aside_in_file(path):
                        break
                    await asyncio.sleep(0.01)
        assert aside_in_file(path) == []
        assert {
            "event": "conversation_unreadable_pruned",
            "removed": 1,
            "log_level": "info",
        } in logs


async def test_erasing_a_contact_erases_its_states_set_aside_too(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        await set_aside(store, "c1", "c2")  # no conversation row left: only the copies
        erased = await store.contacts.erase("c1")
        assert erased.conversation is True
    assert [contact for contact, _ in aside_in_file(path)] == ["c2"]


async def test_erasing_a_contact_in_a_file_without_the_side_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        await store.states.save(sample_state("c1"), expected_version=0)
        assert (await store.contacts.erase("c1")).conversation is True
    assert not has_side_table(path)
