"""The tenant store's SQLite trips: microseconds per state read and per turn commit.

    uv run python -m bench.store_trips [--seconds 1]

Baseline, measured in the same run on a file of its own: the same `SqliteTenantStore` code
over an aiosqlite connection, as the store ran before 2026-12-03 (each statement handed to
aiosqlite's thread and back), against the shipped store, which runs the statements on the
event loop's thread with `sqlite3`. Both use WAL with `synchronous=NORMAL`. CPU time of the
process (aiosqlite's thread included) and wall time are both printed.

Then the encoding a commit does for a demo-sized state (a fortnight of days, a day's slots,
20 history turns, two new each turn), against the full round trip it did before the second
session of 2026-12-03 (whole document, every JSON column, parsed back), in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from time import perf_counter, process_time
from typing import Any, TypeVar

import aiosqlite

from bench._proc import machine_check
from bench._report import Check, emit
from botfleet.adapters.stores import SqliteTenantStore, codec
from botfleet.adapters.stores._sqlite_database import connect
from botfleet.adapters.stores._sqlite_schema import prepare
from botfleet.domain.outputs import Option
from botfleet.flows.state import HISTORY_LIMIT, ConversationState, Turn
from botfleet.testing.stores import SAMPLE_TIME, sample_state

T = TypeVar("T")
CONTACTS = 200


class AiosqliteDatabase:
    """`SqliteDatabase`'s interface over aiosqlite: the store as it was (the baseline)."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn, self.path, self.closed = conn, path, False

    async def fetch(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def change(self, doing: str, sql: str, params: Sequence[Any] = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        count = cursor.rowcount
        await cursor.close()
        return count

    async def run(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        result: T = await conn._execute(lambda: work(conn._conn))  # type: ignore[no-untyped-call]
        return result

    async def close(self) -> None:
        await self._conn.close()


class OwnTransaction:
    """`GroupCommit`'s interface, one transaction per turn: how turns were committed before."""

    def __init__(self, database: AiosqliteDatabase) -> None:
        self._db = database

    async def run(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self._db.run(doing, transaction)


async def _baseline_store(path: Path) -> SqliteTenantStore:
    prepared = connect(path, "the baseline store")
    prepare(prepared, path, 5.0)
    prepared.close()
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA busy_timeout = 5000")
    database = AiosqliteDatabase(conn, path)
    store = SqliteTenantStore(database)  # type: ignore[arg-type]
    store.turns.group_commit = OwnTransaction(database)  # type: ignore[assignment]
    return store


async def _timed(seconds: float, op: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """(CPU us, wall us) per call of `op(i)`."""
    calls, cpu0, wall0 = 0, process_time(), perf_counter()
    while process_time() - cpu0 < seconds:
        await op(calls)
        calls += 1
    return (process_time() - cpu0) / calls * 1e6, (perf_counter() - wall0) / calls * 1e6


async def _measure_store(store: SqliteTenantStore, seconds: float) -> dict[str, float]:
    states: list[ConversationState] = []
    for i in range(CONTACTS):
        state = sample_state(contact_id=f"c{i}", data={"name": f"client {i}", "n": i})
        states.append(await store.states.save(state, expected_version=0))

    async def read(i: int) -> object:
        return await store.states.load(f"c{i % CONTACTS}")

    async def commit(i: int) -> object:
        k = i % CONTACTS
        state = states[k]
        saved = await store.commit_turn(
            state,
            expected_version=state.version,
            message_id=None,
            outputs=[{"type": "text", "text": f"reply {i}"}],
            at=SAMPLE_TIME,
        )
        states[k] = saved
        return saved

    read_cpu, read_wall = await _timed(seconds, read)
    commit_cpu, commit_wall = await _timed(seconds, commit)
    return {"read_cpu": read_cpu, "read_wall": read_wall, "commit_cpu": commit_cpu,
            "commit_wall": commit_wall}  # fmt: skip


async def measure(seconds: float) -> list[Check]:
    with tempfile.TemporaryDirectory(prefix="botfleet-store-trips-") as folder:
        old_store = await _baseline_store(Path(folder) / "aiosqlite.db")
        try:
            old = await _measure_store(old_store, seconds)
        finally:
            await old_store.close()
        async with SqliteTenantStore.open(Path(folder) / "direct.db") as new_store:
            new = await _measure_store(new_store, seconds)
    checks = []
    for what in ("read", "commit"):
        o, n = old[f"{what}_cpu"], new[f"{what}_cpu"]
        print(
            f"{what:>6}: aiosqlite {o:6.0f} us CPU ({old[f'{what}_wall']:6.0f} us wall) -> "
            f"sqlite3 on the loop {n:6.0f} us CPU ({new[f'{what}_wall']:6.0f} us wall): "
            f"{o / n:.1f}x"
        )
        label = "state read" if what == "read" else "turn commit"
        checks += [
            Check(f"{label}, sqlite3 on the loop", f"{n:.0f} us CPU"),
            Check(f"{label}, aiosqlite (before)", f"{o:.0f} us CPU"),
            Check(f"{label}, ratio", f"{o / n:.1f}x"),
        ]
    return checks


_JSON_COLUMNS = codec.ROW_JSON_COLUMNS


def demo_sized_state(turn: int) -> ConversationState:
    """A state the size of the demo flow's: a fortnight of days, a day's slots, 20 turns."""
    days = [{"id": f"day_2026-12-{d:02d}", "title": f"Day {d} Dec"} for d in range(1, 15)]
    slots = [{"id": f"hour_{h:02d}{m:02d}", "title": f"{h:02d}:{m:02d}"}
             for h in range(9, 13) for m in (0, 30)]  # fmt: skip
    data = {
        "today": "2026-12-03",
        "selected_service": "beard",
        "service_name": "Beard trim",
        "service_price": 10,
        "available_days": days,
        "available_slots": slots,
        "n": turn,
    }
    return sample_state(
        data=data, last_options=tuple(Option(d["id"], d["title"]) for d in days[:3])
    )


def _encode_before(state: ConversationState) -> ConversationState:
    """The commit's encoding before the second session of 2026-12-03: the whole document,
    each JSON column dumped, then parsed back for the state the cache keeps."""
    doc = codec.state_to_json(state)
    row = {c: codec.dumps(v) if c in _JSON_COLUMNS and v is not None else v for c, v in doc.items()}
    stored = {
        c: codec.loads(v) if c in _JSON_COLUMNS and v is not None else v for c, v in row.items()
    }
    return codec.state_from_json(stored)


def _encode_now(state: ConversationState) -> ConversationState:
    return codec.state_reloaded(state, codec.state_to_row(state))


def measure_encoding(seconds: float) -> list[Check]:
    """CPU per commit of encoding a demo-sized state, each turn adding two history lines."""
    results = {}
    for name, encode in (("before", _encode_before), ("now", _encode_now)):
        state = demo_sized_state(0)
        calls, cpu0 = 0, process_time()
        while process_time() - cpu0 < seconds:
            turns = (Turn("user", f"message {calls}", SAMPLE_TIME),
                     Turn("bot", f"reply {calls}", SAMPLE_TIME))  # fmt: skip
            history = (*state.history, *turns)[-HISTORY_LIMIT:]
            state = encode(ConversationState(**{**_fields(state), "history": history}))
            calls += 1
        results[name] = (process_time() - cpu0) / calls * 1e6
    before, now = results["before"], results["now"]
    print(f"encoding: full round trip {before:6.0f} us CPU -> row and reloaded {now:6.0f} us CPU:"
          f" {before / now:.1f}x")  # fmt: skip
    return [
        Check("commit encoding (demo-sized state), now", f"{now:.0f} us CPU"),
        Check("commit encoding, full round trip (before)", f"{before:.0f} us CPU"),
        Check("commit encoding, ratio", f"{before / now:.1f}x"),
    ]


def _fields(state: ConversationState) -> dict[str, Any]:
    return {name: getattr(state, name) for name in ConversationState.__slots__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per figure")
    args = parser.parse_args(argv)
    checks = [*asyncio.run(measure(args.seconds)), *measure_encoding(args.seconds), machine_check()]
    return emit("store_trips", checks)


if __name__ == "__main__":
    sys.exit(main())
