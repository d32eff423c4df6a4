"""The tenant file's write-ahead log is checkpointed on a worker thread, never in a commit."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from botfleet.adapters.stores import SqliteTenantStore, _sqlite_checkpoint
from botfleet.adapters.stores._sqlite_checkpoint import WalCheckpointer
from botfleet.domain.errors import StoreUnavailable
from botfleet.testing.stores import SAMPLE_TIME, sample_state

BIG = {"text": "x" * 6000}  # a state of two pages or more, as the demo's are


async def _commit_many(
    store: SqliteTenantStore,
    count: int,
    *,
    contacts: int = 20,
    pause: float = 0.0,
    prefix: str = "c",
) -> None:
    versions: dict[str, int] = {}
    for i in range(count):
        contact = f"{prefix}{i % contacts}"
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

    def spy(self: WalCheckpointer) -> bool:
        threads.append(threading.current_thread().name)
        return original(self)

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", spy)
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        store._database.checkpointer.every = 40
        store._database.checkpointer.restart_above = 300
        await _commit_many(store, 1200, pause=0.001)  # ~1,000 turns/s, as under load
        await asyncio.sleep(0.2)
        assert store._database.checkpointer.checkpoints >= 5
        wal_pages = _wal(path).stat().st_size // 4096
    assert threads and threading.main_thread().name not in threads
    # Without checkpoints the log holds every page of 1,200 commits (3+ pages each: > 3,600,
    # see the next test); the log file keeps its high-water mark, which the commits made
    # while one checkpoint ran (fsyncs included) set.
    assert wal_pages < 1800


async def test_at_a_light_pace_the_log_starts_over_without_a_restart(tmp_path: Path) -> None:
    """A RESTART holds every write off for two fsyncs: below `restart_above` pages none runs,
    and the log starts over by itself at the first commit after a checkpoint that copied all
    of it (at a small business's pace, checkpoints finish between two turns)."""
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        checkpointer = store._database.checkpointer
        checkpointer.every = 40
        for burst in range(30):  # 300 commits of 3+ pages each: 900+ pages written
            await _commit_many(store, 10, contacts=10, prefix=f"b{burst}-")
            if checkpointer._running is not None:  # done before the next turn comes
                await asyncio.wait([checkpointer._running])
        assert checkpointer.checkpoints >= 10
        assert checkpointer.restarts == 0
        frames = _log_frames(path)
    assert frames < 400  # what the last few bursts wrote since the log started over


async def test_a_log_longer_than_the_bound_is_restarted(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        checkpointer = store._database.checkpointer
        checkpointer.every = 10**9  # the log fills up with nothing copied: 600+ pages
        await _commit_many(store, 200)
        checkpointer.restart_above = 500
        checkpointer.every = 1
        await _commit_many(store, 1, prefix="last")
        await asyncio.sleep(0.2)
        assert checkpointer.restarts == 1
        assert checkpointer.restarts_blocked == 0
        await _commit_many(store, 1, prefix="after")  # starts the log over
        assert _log_frames(path) < 20


async def test_a_long_log_file_is_cut_back_once_the_tenant_is_idle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_checkpoint, "TRIM_WHEN_IDLE_S", 0.5)
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        checkpointer = store._database.checkpointer
        checkpointer.every = 10**9
        await _commit_many(store, 1500)  # 4,500+ pages: ~18 MB
        checkpointer.every = 1
        await _commit_many(store, 1, prefix="last")  # a passive checkpoint; no RESTART
        for n in range(8):  # writes within the idle time put the cut off
            await asyncio.sleep(0.1)
            await _commit_many(store, 1, prefix=f"busy{n}-")
        assert checkpointer.trims == 0
        assert _wal(path).stat().st_size > 4 * _sqlite_checkpoint.KEEP_LOG_BYTES
        for _ in range(50):
            await asyncio.sleep(0.1)
            if checkpointer.trims:
                break
        assert checkpointer.trims == 1
        assert _wal(path).stat().st_size == 0
        state = await store.states.load("busy7-0")  # the file works on
        assert state is not None
        await _commit_many(store, 5, prefix="after")
    assert checkpointer.restarts == 0


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
    def broken(self: WalCheckpointer) -> bool:
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

    def slow(self: WalCheckpointer) -> bool:
        started.set()
        threading.Event().wait(0.3)
        restart = original(self)
        finished.set()
        return restart

    monkeypatch.setattr(WalCheckpointer, "_checkpoint", slow)
    async with SqliteTenantStore.open(tmp_path / "t.db") as store:
        store._database.checkpointer.every = 5
        await _commit_many(store, 10)
        assert await asyncio.to_thread(started.wait, 5)
    assert finished.is_set()


async def test_a_long_reader_holds_commits_back_only_briefly(tmp_path: Path) -> None:
    """An online backup keeps a read snapshot open: RESTART cannot finish while it does; it
    gives up at once and backs off, so commits are not held back; no commit fails."""
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        await _commit_many(store, 20)
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM conversation").fetchall() == [(20,)]
        store._database.checkpointer.every = 10
        store._database.checkpointer.restart_above = 0
        started = time.perf_counter()
        with capture_logs() as logs:
            await _commit_many(store, 100, pause=0.001, prefix="d")
            slowest = await _slowest_commit(store)
        elapsed = time.perf_counter() - started
        reader.execute("COMMIT")
        reader.close()
        assert await store.states.count() == 40
        blocked = store._database.checkpointer.restarts_blocked
    assert slowest < 0.5
    # ~130 commits with short pauses (~0.4 s): a RESTART every 5 commits, each trying for
    # the reader to go, would have taken seconds; backing off, only the first try or two run.
    assert 1 <= blocked <= 3
    assert elapsed < 2
    assert "wal_checkpoint_failed" not in [e["event"] for e in logs]


async def test_commits_never_race_a_restart_for_the_lock(tmp_path: Path) -> None:
    """RESTART runs while the loop's statements wait at the gate: none meets the lock."""
    async with SqliteTenantStore.open(tmp_path / "t.db") as store:
        database = store._database
        database.checkpointer.every = 20
        database.checkpointer.restart_above = 0
        waiting: list[int] = []

        async def request(n: int) -> None:  # 16 contacts' turns at once, as under load
            await _commit_many(store, 60, contacts=1, prefix=f"r{n}-")
            waiting.append(n)

        await asyncio.gather(*(request(n) for n in range(16)))
        await asyncio.sleep(0.1)
        checkpoints = database.checkpointer.checkpoints
        assert len(waiting) == 16
        assert await store.states.count() == 16
    # How many ran depends on the threads' timing (a busy machine coalesces them): some did.
    assert checkpoints >= 2
    assert database.checkpointer.restarts == checkpoints
    assert database.checkpointer.restarts_blocked == 0
    assert database.lock_waits == 0


async def test_a_checkpoint_that_stalls_makes_statements_fail_retryably(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A RESTART stuck on a stalled disk holds the loop's statements only for the busy
    timeout; then they fail with `StoreUnavailable` (a 503 the client retries)."""
    stalled, release = threading.Event(), threading.Event()
    original = WalCheckpointer._restart

    def stuck(self: WalCheckpointer) -> None:
        stalled.set()
        release.wait(10)
        original(self)

    monkeypatch.setattr(WalCheckpointer, "_restart", stuck)
    async with SqliteTenantStore.open(tmp_path / "t.db", busy_timeout=0.3) as store:
        checkpointer = store._database.checkpointer
        # No checkpoint while the log fills: one started mid-way could stall the later commits
        # (whether it did depended on thread timing). The last commit starts it.
        checkpointer.every = 10**9
        checkpointer.restart_above = 0
        try:
            await _commit_many(store, 10)
            checkpointer.every = 1
            await _commit_many(store, 1, prefix="last")
            assert await asyncio.to_thread(stalled.wait, 5)
            started = time.perf_counter()
            with pytest.raises(StoreUnavailable, match="a checkpoint has held the file"):
                await store.states.load("c0")
            assert 0.25 < time.perf_counter() - started < 2
        finally:
            release.set()
        await asyncio.sleep(0.1)
        assert await store.states.load("c0") is not None  # the gate opened again


async def _slowest_commit(store: SqliteTenantStore) -> float:
    slowest = 0.0
    state = await store.states.load("c0")
    assert state is not None
    for _ in range(30):
        started = time.perf_counter()
        state = await store.commit_turn(
            state, expected_version=state.version, message_id=None, outputs=[], at=SAMPLE_TIME
        )
        slowest = max(slowest, time.perf_counter() - started)
        await asyncio.sleep(0.005)
    return slowest


async def test_the_log_starts_over_again_once_the_reader_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sqlite_checkpoint, "RESTART_BACKOFF_S", 0.05)
    path = tmp_path / "t.db"
    async with SqliteTenantStore.open(path) as store:
        store._database.checkpointer.every = 10
        store._database.checkpointer.restart_above = 300
        reader = sqlite3.connect(path, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM conversation").fetchall()
        await _commit_many(store, 200, pause=0.001)
        held = _log_frames(path)
        reader.execute("COMMIT")
        reader.close()
        await asyncio.sleep(0.2)  # past the back-off
        await _commit_many(store, 200, pause=0.001, prefix="d")
        await asyncio.sleep(0.2)
        assert store._database.checkpointer.restarts_blocked >= 1
        after = _log_frames(path)
    assert held > 400  # the reader's snapshot kept every frame in the log
    assert after < held / 2  # then the log started over


def _log_frames(path: Path) -> int:
    """Frames in the log now (a PASSIVE checkpoint's second column)."""
    probe = sqlite3.connect(path, isolation_level=None)
    try:
        return int(probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0][1])
    finally:
        probe.close()
