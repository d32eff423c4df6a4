"""One journal or outbox row that cannot be read back (a corrupted value, or one written by a
newer release before a downgrade) must not keep the data plane from starting: recovery logs it
by table and row (never its content), marks it so that it is not read again at every start,
and goes on with the others. Real SQLite files, one bad row among good ones."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog

from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.stores import SAMPLE_TIME, sample_state

SECRET = "my card number is 4111"  # content: never in a log line

#: What breaks a row: SQL that rewrites one text column of it.
BROKEN = {
    "invalid json": "substr({column}, 1, 20)",
    "not utf-8": "CAST(x'7b22ff22' AS TEXT)",
}
#: A message of a type this release does not know (written by a newer one).
NEWER_MESSAGE = "json_set({column}, '$.type', 'hologram')"
#: JSON, but no output (an output of an unknown type is sent as its text instead).
NOT_AN_OUTPUT = "json_array({column})"


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


def corrupt(path: Path, table: str, column: str, seq: int, how: str) -> None:
    with sqlite3.connect(path, isolation_level=None) as conn:
        value = how.format(column=column)
        conn.execute(f"UPDATE {table} SET {column} = {value} WHERE seq = ?", (seq,))
    conn.close()


def unreadable_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == "store_row_unreadable"]


@pytest.mark.parametrize(
    "how", [*BROKEN.values(), NEWER_MESSAGE], ids=[*BROKEN, "from a newer release"]
)
async def test_a_bad_journal_row_is_set_aside_and_the_others_are_recovered(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        for message_id, contact, text in [
            ("m1", "c1", "one"),
            ("m2", "c2", SECRET),
            ("m3", "c1", "three"),
        ]:
            assert await store.journal.record(
                text_message(contact, text, message_id=message_id), SAMPLE_TIME
            )
    corrupt(path, "journal", "message", 2, how)

    sender = RecordingSender()
    async with SqliteTenantStore.open(path) as store:
        with structlog.testing.capture_logs() as logs:
            async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
                assert await runtime.recover() == 2
                await runtime.sequencer.drain()
        assert texts(sender.to("c1")) == ["You said: one", "You said: three"]
        assert sender.to("c2") == []
        (line,) = unreadable_lines(logs)
        assert line["log_level"] == "error"
        assert (line["table"], line["seq"], line["message_id"]) == ("journal", 2, "m2")
        assert SECRET not in repr(logs)
        entry_statuses = await store.database.fetch(
            "test", "SELECT message_id, status FROM journal ORDER BY seq"
        )
        assert entry_statuses == [("m1", "done"), ("m2", "failed"), ("m3", "done")]

    # The next start neither fails nor reads it again.
    async with SqliteTenantStore.open(path) as store:
        with structlog.testing.capture_logs() as logs:
            async with bootstrap_test_runtime(stores=store) as runtime:
                assert await runtime.recover() == 0
        assert unreadable_lines(logs) == []


@pytest.mark.parametrize("how", [*BROKEN.values(), NOT_AN_OUTPUT], ids=[*BROKEN, "not an output"])
async def test_a_bad_outbox_row_is_set_aside_and_the_others_are_sent(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        for contact, reply in [("c1", "one"), ("c2", SECRET), ("c1", "three")]:
            await _commit_undelivered(store, contact, reply)
    corrupt(path, "outbox", "output", 2, how)

    sender = RecordingSender()
    async with SqliteTenantStore.open(path) as store:
        with structlog.testing.capture_logs() as logs:
            async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
                runtime.confirm_delivery = True
                assert await runtime.recover() == 0
                await runtime.sequencer.drain()
        assert texts(sender.to("c1")) == ["one", "three"]
        assert sender.to("c2") == []
        (line,) = unreadable_lines(logs)
        assert (line["table"], line["seq"], line["log_level"]) == ("outbox", 2, "error")
        assert SECRET not in repr(logs) and "c2" not in repr(line)
        rows = await store.database.fetch("test", "SELECT seq, delivered FROM outbox ORDER BY seq")
        assert rows == [(1, 1), (2, 2), (3, 1)]  # 2: set aside, never sent, not tried again
        assert await store.pending_deliveries() == []


async def _commit_undelivered(store: SqliteTenantStore, contact: str, text: str) -> None:
    """A turn of a provider channel committed, its reply not sent yet (then the crash)."""
    state = await store.states.load(contact)
    await store.commit_turn(
        state or sample_state(contact),
        expected_version=state.version if state is not None else 0,
        message_id=None,
        outputs=[{"type": "text", "text": text}],
        at=SAMPLE_TIME,
        undelivered=True,
    )
