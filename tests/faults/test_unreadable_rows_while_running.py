"""A journal or outbox row that cannot be read back (a corrupted value, or one written by a newer
release before a downgrade), met while the data plane runs rather than at start:

- a provider's redelivery of that message (or a web chat client's copy of it) is acknowledged
  as already handled, never a 500 that the provider retries for days: the message was set
  aside, or cannot be read, and answering it again could answer it twice;
- `GET /messages` (the web chat's polling) skips an outbox row it cannot read and returns the
  others, as recovery does at start.

Each such row is logged once per read by table and row, with the message id for the journal,
never by its content; real SQLite files."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.testing.faults import whatsapp_signed, whatsapp_text_delivery
from botfleet.testing.runtime import (
    ChatClient,
    bootstrap_test_runtime,
    make_tenant_config,
    running_app,
    text_message,
)
from botfleet.testing.stores import SAMPLE_TIME

SECRET = "my card number is 4111"  # content: never in a log line
PHONE = "34600111222"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "meta-app-secret-for-unreadable-rows"
WHATSAPP: dict[str, Any] = {
    "type": "whatsapp",
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": "EAAG-unreadable-rows-token",
    "app_secret": APP_SECRET,
    "verify_token": "verify-unreadable-rows",
    "graph_base_url": "https://graph.test",
    "retry_base_s": 0,
    "mark_as_read": False,
}
ECHO: dict[str, Any] = {
    "id": "echo_v1",
    "initial_state": "ECHO",
    "states": {
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "echo {{ message.text[:40] }}"}],
            "fallback": "ECHO",
        }
    },
}

#: What breaks a row: SQL that rewrites one text column of it.
BROKEN = {
    "invalid json": "substr({column}, 1, 20)",
    "not utf-8": "CAST(x'7b22ff22' AS TEXT)",
}
#: A message of a type this release does not know (written by a newer one).
NEWER_MESSAGE = "json_set({column}, '$.type', 'hologram')"
#: JSON, but no output.
NOT_AN_OUTPUT = "json_array({column})"
JOURNAL_FAULTS = pytest.mark.parametrize(
    "how", [*BROKEN.values(), NEWER_MESSAGE], ids=[*BROKEN, "from a newer release"]
)


def corrupt(path: Path, table: str, column: str, how: str, where: str, *args: Any) -> None:
    """Rewrite `column` of the rows `where` selects, from another connection."""
    with sqlite3.connect(path, isolation_level=None) as conn:
        value = how.format(column=column)
        conn.execute(f"UPDATE {table} SET {column} = {value} WHERE {where}", args)
    conn.close()


def unreadable_lines(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [line for line in logs if line["event"] == "store_row_unreadable"]


@dataclass
class GraphApi:
    """The Graph API: records what the bot sent."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(json.loads(request.content))
        return httpx.Response(200, json={"messages": [{"id": f"wamid.out{len(self.sent)}"}]})


@dataclass
class Tenant:
    chat: ChatClient
    store: SqliteTenantStore
    path: Path
    graph: GraphApi

    async def webhook(self, message_id: str, text: str) -> httpx.Response:
        body = whatsapp_text_delivery(
            phone_number_id=PHONE_NUMBER_ID, sender=PHONE, message_id=message_id, text=text
        )
        return await self.chat.http.post(
            "/webhook", content=body, headers=whatsapp_signed(body, APP_SECRET)
        )

    async def inbound(self, message_id: str, text: str, contact: str = "ana") -> httpx.Response:
        body = {"contact_id": contact, "text": text, "message_id": message_id}
        return await self.chat.http.post("/inbound", json=body)

    async def messages(self, contact: str = "ana", since: int = 0) -> httpx.Response:
        return await self.chat.http.get("/messages", params={"contact_id": contact, "since": since})

    async def settle(self) -> None:
        await self.chat.runtime.sequencer.drain()

    async def statuses(self) -> list[tuple[str, str]]:
        rows = await self.store.database.fetch(
            "test", "SELECT message_id, status FROM journal ORDER BY seq"
        )
        return [(str(m), str(s)) for m, s in rows]


@asynccontextmanager
async def tenant(path: Path, channel: dict[str, Any]) -> AsyncIterator[Tenant]:
    config = make_tenant_config(ECHO, tenant_id="unreadable", channel=channel)
    graph = GraphApi()
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(SqliteTenantStore.open(path))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.MockTransport(graph.handle))
        )
        chat = await stack.enter_async_context(
            running_app(config, stores=store, http=HttpxProvider(http))
        )
        yield Tenant(chat, store, path, graph)


# ---------------------------------------------------------------- redeliveries (journal)


@JOURNAL_FAULTS
async def test_a_redelivery_of_an_answered_message_whose_row_is_unreadable_is_acknowledged(
    tmp_path: Path, how: str
) -> None:
    async with tenant(tmp_path / "state.db", WHATSAPP) as t:
        assert (await t.webhook("wamid.1", SECRET)).status_code == 200
        await t.settle()
        assert len(t.graph.sent) == 1
        corrupt(t.path, "journal", "message", how, "message_id = ?", "wamid.1")

        with structlog.testing.capture_logs() as logs:
            again = await t.webhook("wamid.1", SECRET)
            await t.settle()
        assert again.status_code == 200, again.text
        assert again.json()["accepted"] == 0  # a duplicate: not answered twice
        assert len(t.graph.sent) == 1
        (line,) = unreadable_lines(logs)
        assert (line["table"], line["message_id"], line["log_level"]) == (
            "journal",
            "wamid.1",
            "error",
        )
        assert SECRET not in repr(logs) and PHONE not in repr(logs)
        assert await t.statuses() == [("wamid.1", "done")]


@JOURNAL_FAULTS
async def test_a_redelivery_of_a_message_set_aside_at_start_is_acknowledged(
    tmp_path: Path, how: str
) -> None:
    """The crash left the message pending, its row unreadable: the start set it aside (failed,
    unanswered). Meta, which got no 200 in time, delivers it again."""
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        message = text_message(PHONE, SECRET, message_id="wamid.1")
        assert await store.journal.record(message, SAMPLE_TIME)
    corrupt(path, "journal", "message", how, "message_id = ?", "wamid.1")

    with structlog.testing.capture_logs() as logs:
        async with tenant(path, WHATSAPP) as t:
            await t.settle()
            assert await t.statuses() == [("wamid.1", "failed")]  # set aside by the start
            assert len(unreadable_lines(logs)) == 1
            again = await t.webhook("wamid.1", SECRET)
            await t.settle()
            assert again.status_code == 200, again.text
            assert again.json()["accepted"] == 0
            assert t.graph.sent == []
            assert await t.statuses() == [("wamid.1", "failed")]
    assert len(unreadable_lines(logs)) == 2  # the start's, then the redelivery's
    assert unreadable_lines(logs)[1]["message_id"] == "wamid.1"
    assert SECRET not in repr(logs) and PHONE not in repr(logs)


@JOURNAL_FAULTS
async def test_a_redelivery_of_a_pending_message_whose_row_turned_unreadable_sets_it_aside(
    tmp_path: Path, how: str
) -> None:
    """Journaled, its turn not queued here (the request that recorded it was cancelled), then
    unreadable: it cannot be run; it is set aside as the start would have, and logged once."""
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:
        async with bootstrap_test_runtime(stores=store) as runtime:
            message = text_message("c1", SECRET, message_id="w-1")
            assert await store.journal.record(message, SAMPLE_TIME)
            corrupt(path, "journal", "message", how, "message_id = ?", "w-1")
            with structlog.testing.capture_logs() as logs:
                assert await runtime.accept(message) is False
                await runtime.sequencer.drain()
            (line,) = unreadable_lines(logs)
            assert (line["table"], line["message_id"]) == ("journal", "w-1")
            assert SECRET not in repr(logs)
            entry = await store.journal.get("w-1")
            assert entry is not None and entry.status == "failed"
        with structlog.testing.capture_logs() as logs:
            async with bootstrap_test_runtime(stores=store) as runtime:
                assert await runtime.recover() == 0  # not read (nor logged) again at start
        assert unreadable_lines(logs) == []


@JOURNAL_FAULTS
async def test_a_web_chat_copy_of_a_message_whose_row_is_unreadable_is_a_duplicate(
    tmp_path: Path, how: str
) -> None:
    async with tenant(tmp_path / "state.db", {"type": "webchat"}) as t:
        first = await t.inbound("m-1", SECRET)
        assert first.status_code == 200 and first.json()["duplicate"] is False
        corrupt(t.path, "journal", "message", how, "message_id = ?", "m-1")

        with structlog.testing.capture_logs() as logs:
            copy = await t.inbound("m-1", SECRET)
            assert copy.status_code == 200, copy.text
            assert copy.json()["duplicate"] is True
            assert copy.json()["replies"] == []  # its replies are in the outbox, read once
            # Another contact's message with that id is still refused, not answered.
            other = await t.inbound("m-1", "hello", contact="bob")
            assert other.status_code == 409, other.text
        assert [line["message_id"] for line in unreadable_lines(logs)] == ["m-1", "m-1"]
        assert SECRET not in repr(logs)
        assert await t.statuses() == [("m-1", "done")]


# ---------------------------------------------------------------- GET /messages (outbox)


@pytest.mark.parametrize("how", [*BROKEN.values(), NOT_AN_OUTPUT], ids=[*BROKEN, "not an output"])
async def test_get_messages_skips_an_unreadable_outbox_row_and_returns_the_others(
    tmp_path: Path, how: str
) -> None:
    async with tenant(tmp_path / "state.db", {"type": "webchat"}) as t:
        for number, text in enumerate(["one", SECRET, "three"], start=1):
            assert (await t.inbound(f"m-{number}", text)).status_code == 200
        assert (await t.inbound("b-1", "bob's", contact="bob")).status_code == 200
        corrupt(t.path, "outbox", "output", how, "seq = 2")

        with structlog.testing.capture_logs() as logs:
            page = await t.messages()
            assert page.status_code == 200, page.text
            assert [(m["seq"], m["output"]["text"]) for m in page.json()["messages"]] == [
                (1, "echo one"),
                (3, "echo three"),
            ]
            assert page.json()["last"] == 3
            # Set aside: the next polls leave it out without logging it again.
            assert [m["seq"] for m in (await t.messages()).json()["messages"]] == [1, 3]
            assert (await t.messages(since=1)).json()["messages"][0]["seq"] == 3
        (line,) = unreadable_lines(logs)
        assert (line["table"], line["seq"], line["log_level"]) == ("outbox", 2, "error")
        assert SECRET not in repr(logs) and "ana" not in repr(line)
        rows = await t.store.database.fetch("test", "SELECT seq, delivered FROM outbox")
        assert sorted(rows) == [(1, 1), (2, 2), (3, 1), (4, 1)]
        assert (await t.messages("bob")).json()["messages"][0]["output"]["text"] == "echo bob's"


async def test_get_messages_with_the_last_row_unreadable_moves_on_past_it(tmp_path: Path) -> None:
    """The client's cursor (`last`) cannot pass a row it never got, so every poll reads it
    again until a newer message moves the cursor: it is logged once, not at every poll."""
    async with tenant(tmp_path / "state.db", {"type": "webchat"}) as t:
        for number, text in enumerate(["one", SECRET], start=1):
            assert (await t.inbound(f"m-{number}", text)).status_code == 200
        corrupt(t.path, "outbox", "output", BROKEN["not utf-8"], "seq = 2")
        with structlog.testing.capture_logs() as logs:
            for _ in range(3):
                page = await t.messages(since=0)
                assert [m["seq"] for m in page.json()["messages"]] == [1]
                last = page.json()["last"]
                assert (await t.messages(since=last)).json()["messages"] == []
            assert (await t.inbound("m-3", "three")).status_code == 200
            page = await t.messages(since=last)
            assert [m["output"]["text"] for m in page.json()["messages"]] == ["echo three"]
        assert len(unreadable_lines(logs)) == 1
