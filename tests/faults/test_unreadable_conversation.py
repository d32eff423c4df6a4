"""A contact's conversation state row that cannot be read back (a corrupted value, or one written
by a newer release before a downgrade) must not fail every turn of that contact forever: the
row is logged by table and version (never its content), copied as it is into
`conversation_unreadable` for an operator and removed, and the contact's conversation starts
over. Real SQLite files, one bad row among good ones."""

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

SECRET = "my card number is 4111"  # content: never in a log line or an error
CONTACT = "34600111222"

#: What breaks the row: one column rewritten by SQL.
BROKEN = {
    "invalid json": ("history", "substr(history, 1, 20)"),
    "not utf-8": ("data", "CAST(x'7b22ff22' AS TEXT)"),
    "from a newer release": ("awaiting", "json_object('kind', 'hologram')"),
    "a malformed field": ("created_at", "'the day before yesterday'"),
}


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


def corrupt(path: Path, column: str, value: str) -> bytes:
    """Rewrite `column` of the contact's row; returns the bytes it now holds."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute(f"UPDATE conversation SET {column} = {value} WHERE contact_id = ?", (CONTACT,))
        (raw,) = conn.execute(
            f"SELECT CAST({column} AS BLOB) FROM conversation WHERE contact_id = ?", (CONTACT,)
        ).fetchone()
    conn.close()
    return bytes(raw)


def unreadable_lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == "store_row_unreadable"]


@pytest.mark.parametrize("broken", BROKEN.values(), ids=list(BROKEN))
async def test_an_unreadable_conversation_is_set_aside_and_starts_over(
    tmp_path: Path, broken: tuple[str, str]
) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        async with bootstrap_test_runtime(stores=store) as runtime:
            await runtime.handle(text_message(CONTACT, SECRET, message_id="m1"))
            await runtime.handle(text_message(CONTACT, "two", message_id="m2"))
            await runtime.handle(text_message("other", "hello", message_id="m3"))
    column, value = broken
    bad = corrupt(path, column, value)

    sender = RecordingSender()
    async with SqliteTenantStore.open(path) as store:
        with structlog.testing.capture_logs() as logs:
            assert await store.states.load(CONTACT) is None
            assert await store.states.load(CONTACT) is None  # set aside once, logged once
            async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
                answer = await runtime.handle(text_message(CONTACT, "again", message_id="m4"))
                other = await runtime.handle(text_message("other", "more", message_id="m5"))
        assert texts(answer.outputs) == ["You said: again"]
        assert texts(other.outputs) == ["You said: more"]
        (line,) = unreadable_lines(logs)
        assert line["log_level"] == "error"
        assert (line["table"], line["version"]) == ("conversation", 2)
        assert line["error"] in {"JSONDecodeError", "StoreError", "UnicodeDecodeError"}
        assert SECRET not in repr(logs)
        assert CONTACT not in repr(line)

        fresh = await store.states.load(CONTACT)
        assert fresh is not None and fresh.version == 1  # the conversation started over
        kept = await store.states.load("other")
        assert kept is not None and kept.version == 2  # other contacts go on as they were
        aside = await store.database.fetch(
            "test",
            f"SELECT contact_id, version, CAST({column} AS BLOB), set_aside_at "
            "FROM conversation_unreadable",
        )
        assert [(c, v, bytes(raw)) for c, v, raw, _ in aside] == [(CONTACT, 2, bad)]


async def test_a_file_without_unreadable_conversations_has_no_side_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        async with bootstrap_test_runtime(stores=store) as runtime:
            await runtime.handle(text_message(CONTACT, "hi", message_id="m1"))
        tables = await store.database.fetch(
            "test", "SELECT name FROM sqlite_master WHERE name = 'conversation_unreadable'"
        )
    assert tables == []
