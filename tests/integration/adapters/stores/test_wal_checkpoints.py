"""The tenant file's write-ahead log is checkpointed on a worker thread, never in a commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from botfleet.adapters.stores import SqliteTenantStore
from botfleet.adapters.stores._sqlite_checkpoint import WalCheckpointer
from botfleet.testing.stores import SAMPLE_TIME, sample_state

BIG = {"text": "x" * 6000}  # a state of two pages or more, as the demo's are


async def _commit_many(
    store: SqliteTenantStore, count: int, *, contacts: int = 20, pause: float = 0.0
) -> None:
    versions: dict[str, int] = {}
    for i in range(count):
        contact = f"c{i % contacts}"
        saved = await store.commit_turn(
            sample_state(contact, data={**BIG, "i": i}),
            expected_version=versions.get(contact, 0),
            message_id=None,
            outputs=[{"type": "text", "text": f"reply {i}"}],
            at=SAMPLE_TIME,
        )
        versions[contact] = saved.version
        await asyncio.sleep(pause)  # between two requests: finished checkpoints are noticed


def _wal(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _autocheckpoint(store: SqliteTenantStore) -> int:
    return int(store._database._conn.execute("PRAGMA wal_autocheckpoint").fetchall()[0][0])


async def test_commits_on_the_loop_never_checkpoint(tmp_path: Path) -> None:
    async with SqliteTenantStore.open(tmp_path / "t.db") as store:
        assert _autocheckpoint(store) == 0


async def test_the_log_is_checkpointed_on_another_thread_and_stays_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    original = WalCheckpointer._checkpoint

    def spy(self: WalCheckpointer) -> None:
        threads.append(threading.current_thread().name)
        original(self)

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", spy)
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        store._database.checkpointer.every = 40
        await _commit_many(store, 1200, pause=0.001)  # ~1,000 turns/s, as under load
        await asyncio.sleep(0.2)
        assert store._database.checkpointer.checkpoints >= 5
        wal_pages = _wal(path).stat().st_size // 4096
    assert threads and threading.main_thread().name not in threads
    # Without checkpoints the log holds every page of 1,200 commits (3+ pages each: > 3,600,
    # see the next test); the log file keeps its high-water mark, which the commits made
    # while one checkpoint ran (fsyncs included) set.
    assert wal_pages < 1800


async def test_without_the_checkpointer_the_log_would_grow(tmp_path: Path) -> None:
    """The control for the test above: the same commits with checkpoints switched off."""
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        store._database.checkpointer.every = 10**9
        await _commit_many(store, 600)
        assert _wal(path).stat().st_size // 4096 > 1800


async def test_a_failing_checkpoint_is_logged_once_and_commits_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: WalCheckpointer) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", broken)
    path = tmp_path / "t.db"
    with capture_logs() as logs:
        async with SqliteTenantStore.open(path) as store:
            store._database.checkpointer.every = 10
            await _commit_many(store, 200)
            assert await store.states.count() == 20
    failures = [e for e in logs if e["event"] == "wal_checkpoint_failed"]
    assert len(failures) == 1
    assert failures[0]["error"] == "disk I/O error"
    async with SqliteTenantStore.open(path) as reopened:  # nothing was lost
        state = await reopened.states.load("c19")
        assert state is not None
        assert state.data["i"] == 199


async def test_closing_waits_for_a_running_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, finished = threading.Event(), threading.Event()
    original = WalCheckpointer._checkpoint

    def slow(self: WalCheckpointer) -> None:
        started.set()
        threading.Event().wait(0.3)
        original(self)
        finished.set()

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", slow)
    async with SqliteTenantStore.open(tmp_path / "t.db") as store:
        store._database.checkpointer.every = 5
        await _commit_many(store, 10)
        assert await asyncio.to_thread(started.wait, 5)
    assert finished.is_set()
