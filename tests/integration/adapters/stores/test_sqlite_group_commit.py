"""Group commit: turn commits reaching the SQLite store in one loop iteration share one
transaction, a savepoint each; a turn's own failure fails only that turn, a failure of the
transaction fails them all and writes none of them."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.stores import SqliteTenantStore
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.domain.errors import ConcurrentUpdate, StoreError, StoreUnavailable
from botfleet.testing.stores import SAMPLE_TIME, sample_message, sample_state

REPLY = [{"type": "text", "text": "hello"}]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteTenantStore]:
    async with SqliteTenantStore.open(tmp_path / "tenant.db", busy_timeout=0.5) as opened:
        yield opened


def _group(store: SqliteTenantStore) -> GroupCommit:
    return store.group_commit


def _counts(store: SqliteTenantStore) -> tuple[int, int]:
    return _group(store).groups, _group(store).calls


async def _commit(store: SqliteTenantStore, contact: str, *, expected: int = 0) -> Any:
    return await store.commit_turn(
        sample_state(contact, node="BOOK"),
        expected_version=expected,
        message_id=f"m-{contact}",
        outputs=REPLY,
        at=SAMPLE_TIME,
    )


async def _record(store: SqliteTenantStore, *contacts: str) -> None:
    for contact in contacts:
        await store.journal.record(sample_message(f"m-{contact}", contact_id=contact), SAMPLE_TIME)


async def _written(store: SqliteTenantStore, contact: str) -> tuple[int | None, int, str | None]:
    """(stored version, outbox rows, journal status) of a contact's turn."""
    state = await store.states.load(contact)
    outbox = await store.outbox.since(contact_id=contact)
    entry = await store.journal.get(f"m-{contact}")
    return (
        None if state is None else state.version,
        len(outbox),
        None if entry is None else entry.status,
    )


def _table(store: SqliteTenantStore) -> sqlite3.Connection:
    conn: sqlite3.Connection = store._database._conn
    conn.execute("CREATE TABLE scratch (k TEXT PRIMARY KEY, v BLOB)")
    return conn


def _insert(key: str, value: bytes = b"v") -> Callable[[sqlite3.Connection], str]:
    def work(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO scratch VALUES (?, ?)", (key, value))
        return key

    return work


def _keys(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT k FROM scratch ORDER BY k")]


async def test_turns_committed_together_share_one_transaction(store: SqliteTenantStore) -> None:
    contacts = [f"c{i}" for i in range(5)]
    await _record(store, *contacts)
    groups, calls = _counts(store)
    saved = await asyncio.gather(*(_commit(store, c) for c in contacts))
    assert [s.version for s in saved] == [1] * 5
    assert _counts(store) == (groups + 1, calls + 5)
    for contact in contacts:
        assert await _written(store, contact) == (1, 1, "done")
    assert not store._database._conn.in_transaction


async def test_turns_apart_in_time_are_committed_one_by_one(store: SqliteTenantStore) -> None:
    await _record(store, "a", "b")
    groups, calls = _counts(store)
    await _commit(store, "a")
    await _commit(store, "b")
    assert _counts(store) == (groups + 2, calls + 2)


async def test_a_stale_version_fails_only_its_own_turn(store: SqliteTenantStore) -> None:
    await store.states.save(sample_state("stale", node="MENU"), expected_version=0)
    await _record(store, "a", "stale", "b")
    results = await asyncio.gather(
        _commit(store, "a"), _commit(store, "stale"), _commit(store, "b"), return_exceptions=True
    )
    assert isinstance(results[1], ConcurrentUpdate)
    assert [r.version for r in (results[0], results[2])] == [1, 1]
    assert await _written(store, "a") == (1, 1, "done")
    assert await _written(store, "b") == (1, 1, "done")
    # The stale turn wrote nothing: the state is the other writer's, its message still pending.
    assert await _written(store, "stale") == (1, 0, "pending")


async def test_a_message_already_done_fails_only_its_own_turn(store: SqliteTenantStore) -> None:
    await _record(store, "a", "done", "b")
    await store.journal.complete("m-done", REPLY)
    results = await asyncio.gather(
        _commit(store, "a"), _commit(store, "done"), _commit(store, "b"), return_exceptions=True
    )
    assert isinstance(results[1], StoreError)
    assert "already processed" in str(results[1])
    assert await _written(store, "done") == (None, 0, "done")
    assert await _written(store, "a") == (1, 1, "done")
    assert await _written(store, "b") == (1, 1, "done")


async def test_a_statement_sqlite_refuses_fails_only_its_turn_naming_the_file(
    store: SqliteTenantStore,
) -> None:
    conn = _table(store)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO scratch VALUES ('x', 1)")
        conn.execute("INSERT INTO no_such_table VALUES (1)")

    results = await asyncio.gather(
        _group(store).run("write a", _insert("a")),
        _group(store).run("write the broken one", broken),
        _group(store).run("write a again", _insert("a", b"2"), one_statement=True),
        _group(store).run("write b", _insert("b"), one_statement=True),
        return_exceptions=True,
    )
    assert results[0] == "a" and results[3] == "b"
    error = results[1]
    assert type(error) is StoreError  # permanent: not worth trying again
    assert "write the broken one" in str(error) and str(store.path) in str(error)
    assert type(results[2]) is StoreError and "UNIQUE" in str(results[2])
    assert _keys(conn) == ["a", "b"]  # the broken turn's first insert was undone too
    assert conn.execute("SELECT v FROM scratch WHERE k = 'a'").fetchall() == [(b"v",)]


async def test_a_full_disk_fails_every_turn_of_the_group_and_writes_none(
    store: SqliteTenantStore,
) -> None:
    conn = _table(store)
    pages = int(conn.execute("PRAGMA page_count").fetchall()[0][0])
    conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the file cannot grow any further
    results = await asyncio.gather(
        _group(store).run("write a", _insert("a")),
        _group(store).run("write big", _insert("big", b"x" * 100_000)),
        _group(store).run("write b", _insert("b"), one_statement=True),
        return_exceptions=True,
    )
    assert all(isinstance(r, StoreUnavailable) for r in results), results
    assert len({id(r) for r in results}) == 3  # each caller has its own exception object
    assert "full" in str(results[0])
    assert _keys(conn) == []
    assert not conn.in_transaction
    conn.execute(f"PRAGMA max_page_count = {pages + 100}")
    assert await _group(store).run("write c", _insert("c")) == "c"  # usable again


async def test_a_failed_commit_fails_every_turn_and_writes_none(store: SqliteTenantStore) -> None:
    conn: sqlite3.Connection = store._database._conn
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, "
        "parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )

    def child(row: int, parent: int) -> Callable[[sqlite3.Connection], int]:
        def work(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO child VALUES (?, ?)", (row, parent))
            return row

        return work

    # Checked at COMMIT only: every statement succeeds, the transaction cannot commit.
    results = await asyncio.gather(
        _group(store).run("add 1", child(1, 1)),
        _group(store).run("add 2", child(2, 99)),
        return_exceptions=True,
    )
    assert all(isinstance(r, StoreError) for r in results), results
    assert "FOREIGN KEY" in str(results[0])
    assert conn.execute("SELECT count(*) FROM child").fetchall() == [(0,)]
    assert not conn.in_transaction


async def test_a_group_waits_for_another_process_lock_then_commits(
    store: SqliteTenantStore,
) -> None:
    await _record(store, "a", "b")
    groups, calls = _counts(store)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    commits = asyncio.gather(_commit(store, "a"), _commit(store, "b"))
    await asyncio.sleep(0.1)
    assert not commits.done()
    other.execute("COMMIT")
    other.close()
    saved = await asyncio.wait_for(commits, timeout=2)
    assert [s.version for s in saved] == [1, 1]
    assert store._database.lock_waits > 0
    assert _counts(store) == (groups + 1, calls + 2)


async def test_a_lock_held_past_the_busy_timeout_fails_the_group_retryably(
    store: SqliteTenantStore,
) -> None:
    await _record(store, "a", "b")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        results = await asyncio.gather(
            _commit(store, "a"), _commit(store, "b"), return_exceptions=True
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert all(isinstance(r, StoreUnavailable) for r in results), results
    assert await _written(store, "a") == (None, 0, "pending")


async def test_a_group_waits_while_a_checkpoint_holds_the_gate(store: SqliteTenantStore) -> None:
    conn = _table(store)
    gate = store._database.checkpointer.gate
    gate.clear()
    write = asyncio.ensure_future(_group(store).run("write a", _insert("a")))
    await asyncio.sleep(0.05)
    assert not write.done() and _keys(conn) == []
    gate.set()
    assert await asyncio.wait_for(write, timeout=1) == "a"


async def test_a_caller_cancelled_before_the_write_is_left_out(store: SqliteTenantStore) -> None:
    conn = _table(store)
    kept = asyncio.ensure_future(_group(store).run("write a", _insert("a")))
    dropped = asyncio.ensure_future(_group(store).run("write b", _insert("b")))
    await asyncio.sleep(0)  # both have joined the pending group
    dropped.cancel()
    assert await kept == "a"
    with pytest.raises(asyncio.CancelledError):
        await dropped
    assert _keys(conn) == ["a"]


async def test_a_group_pending_when_the_store_closes_fails(tmp_path: Path) -> None:
    store = await SqliteTenantStore.open(tmp_path / "t.db")
    await _record(store, "a")
    commit = asyncio.ensure_future(_commit(store, "a"))
    await asyncio.sleep(0)  # queued, not yet written
    await store.close()
    with pytest.raises(StoreError, match="closed"):
        await commit


async def test_an_unexpected_failure_of_the_write_reaches_every_caller(
    store: SqliteTenantStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(doing: str, work: object) -> None:
        raise RuntimeError("bug in the store")

    monkeypatch.setattr(store._database, "run_now", broken)
    writes = [_group(store).run(f"write {k}", _insert(k)) for k in "ab"]
    results = await asyncio.wait_for(asyncio.gather(*writes, return_exceptions=True), timeout=1)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]


async def test_messages_recorded_together_share_the_turns_transaction(
    store: SqliteTenantStore,
) -> None:
    await _record(store, "a")
    groups, calls = _counts(store)
    fresh, duplicate, turn = await asyncio.gather(
        store.journal.record(sample_message("m-new", contact_id="b"), SAMPLE_TIME),
        store.journal.record(sample_message("m-a", contact_id="a"), SAMPLE_TIME),
        _commit(store, "a"),
    )
    assert (fresh, duplicate, turn.version) == (True, False, 1)
    assert _counts(store) == (groups + 1, calls + 3)
    assert [e.message.message_id for e in await store.journal.pending()] == ["m-new"]
    assert await _written(store, "a") == (1, 1, "done")


async def test_a_caller_cancelled_while_its_group_waits_for_the_lock_is_left_out(
    store: SqliteTenantStore,
) -> None:
    conn = _table(store)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    kept = asyncio.ensure_future(_group(store).run("write a", _insert("a")))
    dropped = asyncio.ensure_future(_group(store).run("write b", _insert("b")))
    await asyncio.sleep(0.05)  # the group met the lock and is waiting
    assert not kept.done()
    dropped.cancel()
    await asyncio.sleep(0.02)
    other.execute("COMMIT")
    other.close()
    assert await asyncio.wait_for(kept, timeout=2) == "a"
    assert dropped.cancelled()
    assert _keys(conn) == ["a"]
