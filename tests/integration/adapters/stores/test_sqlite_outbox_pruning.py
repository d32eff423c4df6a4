"""Delivered outbox rows are pruned once older than the retention (the disk must not grow
forever), in short batches; rows waiting for delivery, or set aside as unreadable, are kept."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import structlog

from botfleet.adapters.stores._sqlite_tables import PRUNE_BATCH
from botfleet.adapters.stores._sqlite_turns import SET_ASIDE
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.data_plane.runtime.housekeeping import journal_pruning
from botfleet.testing.runtime import FrozenClock
from botfleet.testing.stores import SAMPLE_TIME

T0 = SAMPLE_TIME
OLD = T0 - timedelta(days=9)


def _text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}


async def test_many_old_rows_go_in_batches_and_the_rest_stays(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        count = PRUNE_BATCH * 2 + 17
        for i in range(count):
            await store.outbox.append("a", _text(f"old{i}"), OLD + timedelta(seconds=i))
        set_aside = await store.outbox.append("b", _text("unreadable"), OLD)
        await store.database.change(
            "test", "UPDATE outbox SET delivered = ? WHERE seq = ?", (SET_ASIDE, set_aside)
        )
        await store.outbox.append("a", _text("new"), T0)

        assert await store.prune_outbox(T0 - timedelta(days=8)) == count

        rows = await store.outbox.since()
        assert [r["output"]["text"] for r in rows] == ["unreadable", "new"]
    with sqlite3.connect(path) as conn:  # the file itself, as a later start reads it
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2
    conn.close()


async def test_the_housekeeping_loop_prunes_the_outbox_too(tmp_path: Path) -> None:
    async with SqliteTenantStore.open(tmp_path / "state.db") as store:
        await store.outbox.append("a", _text("old"), OLD)
        await store.outbox.append("a", _text("new"), T0)
        with structlog.testing.capture_logs() as logs:
            async with journal_pruning(store, FrozenClock(T0), every_s=0.01):
                for _ in range(100):
                    if len(await store.outbox.since()) == 1:
                        break
                    await asyncio.sleep(0.01)
        assert [r["output"]["text"] for r in await store.outbox.since()] == ["new"]
        assert {"event": "outbox_pruned", "removed": 1, "log_level": "info"} in logs
