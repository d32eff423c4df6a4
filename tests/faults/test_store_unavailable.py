"""The tenant's SQLite file locked by another connection, or full: the webhook and `POST /inbound`
answer 503 (the provider retries), and the redelivery after the condition clears is processed
exactly once. Nothing is half-recorded, nothing is lost."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.registry import build_connectors
from botfleet.adapters.stores.memory import InMemoryTenantStore
from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.domain.errors import StoreUnavailable
from botfleet.domain.tenant_config import TenantConfig
from botfleet.testing.faults import HangingConnector, whatsapp_signed, whatsapp_text_delivery
from botfleet.testing.runtime import ChatClient, FrozenClock, make_tenant_config, running_app

BUSY_TIMEOUT_S = 0.2
PHONE = "34600111222"  # a contact id is a phone number: never in a log line
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "meta-app-secret-for-store-faults"
WHATSAPP: dict[str, Any] = {
    "type": "whatsapp",
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": "EAAG-store-faults-token",
    "app_secret": APP_SECRET,
    "verify_token": "verify-store-faults",
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
# Longer than a page: the journal row needs a page of its own, which a full file cannot give.
LONG_TEXT = "x" * 4090


@dataclass
class GraphApi:
    """The Graph API: records what the bot sent."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(json.loads(request.content))
        return httpx.Response(200, json={"messages": [{"id": f"wamid.out{len(self.sent)}"}]})

    def texts(self) -> list[str]:
        return [m["text"]["body"] for m in self.sent if m.get("type") == "text"]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Another connection holds the write lock (as a backup tool or a stuck process would)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def _fill(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS filler (x BLOB)")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is this big, not a page more
    for size in (2000, 500, 50):  # use up the free pages and the room left in them
        try:
            while True:
                conn.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))
        except sqlite3.OperationalError as exc:
            assert "full" in str(exc), exc
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0


def _make_room(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA max_page_count = 1073741823")
    conn.execute("DROP TABLE filler")


@asynccontextmanager
async def disk_full(store: SqliteTenantStore) -> AsyncIterator[None]:
    """The file cannot grow: SQLite answers SQLITE_FULL as on a full disk. The limit is set on
    the store's own connection (`max_page_count` is per connection)."""
    database = store._database  # the fault is injected on the connection the app uses
    await database.run("fill the file", _fill)
    try:
        yield
    finally:
        await database.run("make room", _make_room)


@dataclass
class Tenant:
    chat: ChatClient
    store: SqliteTenantStore
    path: Path
    graph: GraphApi

    async def webhook(self, message_id: str, text: str) -> httpx.Response:
        body = whatsapp_text_delivery(
            phone_number_id=PHONE_NUMBER_ID, sender="34600111222", message_id=message_id, text=text
        )
        return await self.chat.http.post(
            "/webhook", content=body, headers=whatsapp_signed(body, APP_SECRET)
        )

    async def inbound(self, message_id: str, text: str, contact: str = "ana") -> httpx.Response:
        body = {"contact_id": contact, "text": text, "message_id": message_id}
        return await self.chat.http.post("/inbound", json=body)

    async def settle(self) -> None:
        await self.chat.runtime.sequencer.drain()

    async def metric(self, name: str) -> float:
        """A sample of the data plane's `/metrics`, as an operator's scrape reads it."""
        text = (await self.chat.http.get("/metrics")).text
        values = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
        return float(values[0]) if values else 0.0

    async def status(self, message_id: str) -> str | None:
        entry = await self.chat.runtime.journal.get(message_id)
        return None if entry is None else entry.status


@asynccontextmanager
async def tenant(tmp_path: Path, channel: dict[str, Any], **fakes: Any) -> AsyncIterator[Tenant]:
    config = make_tenant_config(ECHO, tenant_id="faults", channel=channel)
    path = tmp_path / "state.db"
    graph = GraphApi()
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            SqliteTenantStore.open(path, busy_timeout=BUSY_TIMEOUT_S)
        )
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.MockTransport(graph.handle))
        )
        chat = await stack.enter_async_context(
            running_app(config, stores=store, http=HttpxProvider(http), **fakes)
        )
        yield Tenant(chat, store, path, graph)


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert "retry" in response.json()["detail"]
    assert "state.db" not in response.text  # no file paths or SQL for the caller


@pytest.mark.parametrize("fault", ["locked", "disk_full"])
async def test_a_signed_webhook_gets_503_and_its_redelivery_is_processed_once(
    tmp_path: Path, fault: str
) -> None:
    async with tenant(tmp_path, WHATSAPP) as t:
        assert (await t.webhook("wamid.before", "hello")).status_code == 200
        await t.settle()
        if fault == "locked":
            with locked(t.path):
                refused = await t.webhook("wamid.during", LONG_TEXT)
        else:
            async with disk_full(t.store):
                refused = await t.webhook("wamid.during", LONG_TEXT)
        assert_retry_later(refused)
        assert await t.status("wamid.during") is None  # nothing half-recorded
        assert await t.metric("botfleet_store_unavailable_total") == 1  # an alert can see it

        redelivered = await t.webhook("wamid.during", LONG_TEXT)
        assert redelivered.status_code == 200
        assert redelivered.json()["accepted"] == 1
        await t.settle()
        again = await t.webhook("wamid.during", LONG_TEXT)
        assert again.json()["accepted"] == 0  # a third delivery is a duplicate
        await t.settle()
        assert await t.status("wamid.during") == "done"
        assert t.graph.texts() == ["echo hello", f"echo {'x' * 40}"]


@pytest.mark.parametrize("fault", ["locked", "disk_full"])
async def test_post_inbound_gets_503_and_the_retry_is_processed_once(
    tmp_path: Path, fault: str
) -> None:
    async with tenant(tmp_path, {"type": "webchat"}) as t:
        if fault == "locked":
            with locked(t.path):
                refused = await t.inbound("m-1", LONG_TEXT)
                # reading still works while another connection writes
                assert (await t.chat.http.get("/messages?contact_id=ana")).status_code == 200
        else:
            async with disk_full(t.store):
                refused = await t.inbound("m-1", LONG_TEXT)
        assert_retry_later(refused)
        assert await t.metric("botfleet_store_unavailable_total") == 1
        # The operator's status says so (the control plane's fleet view reads it), for a while.
        health = (await t.chat.http.get("/health")).json()
        assert health["status"] == "degraded"
        assert health["store"].startswith("unavailable: ")
        assert "state.db" not in health["store"]
        retried = await t.inbound("m-1", LONG_TEXT)
        assert retried.status_code == 200, retried.text
        assert retried.json()["duplicate"] is False
        assert [r["text"] for r in retried.json()["replies"]] == [f"echo {'x' * 40}"]
        messages = await t.chat.messages("ana")
        assert [m["output"]["text"] for m in messages] == [f"echo {'x' * 40}"]


async def test_messages_arriving_together_on_a_full_disk_all_get_503_and_retries_run_once(
    tmp_path: Path,
) -> None:
    """They share one transaction (group commit): its failure fails each of them, none is
    half-recorded, and each retry is then processed exactly once."""
    contacts = [f"c{i}" for i in range(8)]

    async def burst() -> list[httpx.Response]:
        return list(
            await asyncio.gather(*(t.inbound(f"m-{c}", LONG_TEXT, contact=c) for c in contacts))
        )

    async with tenant(tmp_path, {"type": "webchat"}) as t:
        async with disk_full(t.store):
            for refused in await burst():
                assert_retry_later(refused)
        assert [await t.status(f"m-{c}") for c in contacts] == [None] * 8
        group = t.store.group_commit
        groups, calls = group.groups, group.calls
        retried = await burst()
        assert [r.status_code for r in retried] == [200] * 8
        assert group.calls - calls == 8  # eight turns, each journaling its message
        assert group.groups - groups < 8  # some of them written together
        assert [r.json()["duplicate"] for r in retried] == [False] * 8
        again = await burst()
        assert [r.json()["duplicate"] for r in again] == [True] * 8
        for contact in contacts:
            messages = await t.chat.messages(contact)
            assert [m["output"]["text"] for m in messages] == [f"echo {'x' * 40}"]


BOOKING_FLOW: dict[str, Any] = {
    "id": "book_v1",
    "initial_state": "START",
    "states": {
        "START": {
            "transitions": [{"on_payload": "book", "target": "BOOK"}],
            "fallback": "START",
            "on_enter": [{"action": "send_text", "text": "say book"}],
        },
        "BOOK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "book_appointment",
                    "params": {
                        "slot": "2024-05-06_1000",
                        "contact_id": "{{ contact.id }}",
                        "service_key": "haircut",
                        "duration_min": 30,
                    },
                    "result_key": "booking",
                    "on_error": {"text": "could not book", "target": "START"},
                },
                {"action": "send_text", "text": "booked: {{ data.booking.success }}"},
            ],
            "next": "START",
        },
    },
}


async def test_a_turn_whose_commit_meets_the_lock_is_run_again_on_retry_and_books_once(
    tmp_path: Path, demo_config: TenantConfig
) -> None:
    """The booking is made, then the commit finds the file locked: 503, nothing is journaled
    (the message was never acknowledged), and the client's retry runs the turn once more (same
    idempotency key: the calendar returns the first booking)."""
    clock = FrozenClock()
    calendar = HangingConnector(build_connectors(demo_config, clock=clock)["calendar"])
    config = make_tenant_config(
        BOOKING_FLOW, tenant_id="faults", connectors=demo_config.model_dump()["connectors"]
    )
    path = tmp_path / "state.db"
    async with (
        SqliteTenantStore.open(path, busy_timeout=BUSY_TIMEOUT_S) as store,
        running_app(config, stores=store, clock=clock, connectors={"calendar": calendar}) as chat,
    ):
        body = {"contact_id": PHONE, "type": "button_reply", "payload": "book", "message_id": "b-1"}
        request = asyncio.create_task(chat.http.post("/inbound", json=body))
        await calendar.entered.wait()  # the turn is in the calendar call
        with locked(path), structlog.testing.capture_logs() as logs:
            calendar.release()
            response = await request
        assert_retry_later(response)
        [unavailable] = [e for e in logs if e["event"] == "store_unavailable"]
        assert unavailable["cause"] == "database is locked"
        leaked = [e for e in logs if PHONE in json.dumps(e, default=str)]
        assert leaked == []  # the store's messages quote the contact id
        assert await chat.runtime.journal.get("b-1") is None  # the retry is not a duplicate

        retried = await chat.http.post("/inbound", json=body)
        assert retried.status_code == 200, retried.text
        assert [r["text"] for r in retried.json()["replies"]] == ["booked: True", "say book"]
        assert calendar.calls == 2  # the turn ran twice, the calendar booked once:
        mine = await calendar.inner.call(
            "get_future_appointments", {"contact_id": PHONE}, idempotency_key="check"
        )
        assert len(mine) == 1
        assert [m["output"]["text"] for m in await chat.messages(PHONE)] == [
            "booked: True",
            "say book",
        ]


class CommitFailsOnce:
    """The in-memory stores, except that the next `commit_turn` finds the store unavailable
    (while the journal entry is already written): the window a lock taken between the two
    statements, or a disk filling up, opens."""

    def __init__(self) -> None:
        self.inner = InMemoryTenantStore()
        self.states, self.journal, self.outbox = (
            self.inner.states,
            self.inner.journal,
            self.inner.outbox,
        )
        self.failures = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def commit_turn(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("state.db: cannot commit the turn: database or disk is full")
        return await self.inner.commit_turn(*args, **kwargs)


@pytest.mark.parametrize("wait", [True, False])
async def test_a_turn_that_cannot_commit_is_not_lost_and_runs_on_redelivery(
    wait: bool,
) -> None:
    stores = CommitFailsOnce()
    async with running_app(make_tenant_config(ECHO), stores=stores) as chat:
        body = {"contact_id": "ana", "text": "hello", "message_id": "c-1"}
        first = await chat.http.post("/inbound", json=body, params={"wait": str(wait).lower()})
        entry = await chat.runtime.journal.get("c-1")
        if wait:
            assert_retry_later(first)
            assert entry is None  # not acknowledged: the client sends it again
        else:
            assert first.status_code == 202  # journaled: the provider will not send it again
            await chat.runtime.sequencer.drain()
            entry = await chat.runtime.journal.get("c-1")
            assert entry is not None and entry.status == "pending"  # not "failed": not lost

        retried = await chat.http.post("/inbound", json=body)
        assert retried.status_code == 200, retried.text
        assert [r["text"] for r in retried.json()["replies"]] == ["echo hello"]
        assert [m["output"]["text"] for m in await chat.messages("ana")] == ["echo hello"]


async def test_health_is_ok_until_the_store_refuses_and_again_once_that_is_old(
    tmp_path: Path,
) -> None:
    async with tenant(tmp_path, {"type": "webchat"}) as t:
        health = (await t.chat.http.get("/health")).json()
        assert (health["status"], health["store"]) == ("ok", "ok")
        with locked(t.path):
            assert_retry_later(await t.inbound("m-1", LONG_TEXT))
        assert (await t.chat.http.get("/health")).json()["status"] == "degraded"
        t.chat.app.state.store_trouble.window_s = -1.0  # a minute later
        health = (await t.chat.http.get("/health")).json()
        assert (health["status"], health["store"]) == ("ok", "ok")
