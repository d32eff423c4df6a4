"""`POST /run-task` reports what became of the task's messages: `sent` and `failed` beside
`"status": "done"` (the task ran either way; `"failed"`, a 500, when its turn raised), as the
channel's send of the task's own turn returned them: not a turn of the contact that ran just
before it, nor one right after it. On WhatsApp and Telegram, `sent` is what the provider
accepted; on the web chat, what the outbox holds for the page to read (all of them)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from channel_harness import (
    APP_SECRET,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    WHATSAPP_CHANNEL,
    FakeProvider,
    fixture,
)

from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.flows.state import ConversationState
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.stores import InMemoryTenantStore

TOKEN = "internal-token-for-run-task"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONTACT = "16505551234"
OK = fixture("whatsapp", "api_send_ok")
TEMPLATE_NEEDED = fixture("whatsapp", "api_error_131047")
PARAMETER_INVALID = fixture("whatsapp", "api_error_131009")
TELEGRAM_CHAT = "111111111"  # the chat of the `text` fixture
TELEGRAM_OK = fixture("telegram", "api_send_ok")
BLOCKED = fixture("telegram", "api_error_403_blocked")
BAD_REQUEST = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities"}
REMINDER = {
    "action": "send_template",
    "name": "appointment_reminder",
    "language": "es",
    "params": ["Limpieza"],
    "fallback_text": "Recordatorio",
}
FLOW: dict[str, Any] = {
    "id": "clinic_v1",
    "initial_state": "MENU",
    "tasks": {
        "two_texts": [
            {"action": "send_text", "text": "Your appointment is tomorrow"},
            {"action": "send_text", "text": "Reply to change it"},
        ],
        "text_then_template": [{"action": "send_text", "text": "Hello again"}, REMINDER],
        "nothing": [{"action": "set_data", "values": {"reminded": True}}],
    },
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Hi! What would you like to do?",
                    "buttons": [{"id": "book", "title": "Book"}],
                }
            ],
            "fallback": "MENU",
        }
    },
}


def outside_the_window(request: httpx.Request) -> httpx.Response:
    """Graph for a contact who last wrote days ago: free-form texts refused, the rest taken."""
    if json.loads(request.content).get("type") == "text":
        return httpx.Response(400, json=TEMPLATE_NEEDED)
    return httpx.Response(200, json=OK)


@asynccontextmanager
async def whatsapp_tenant(provider: FakeProvider) -> AsyncIterator[ChatClient]:
    async with channel_tenant(WHATSAPP_CHANNEL, provider) as app:
        yield app


@asynccontextmanager
async def channel_tenant(
    channel: dict[str, Any], provider: FakeProvider
) -> AsyncIterator[ChatClient]:
    config = TenantConfig(tenant_id="clinic", flow=FLOW, channel=Binding(**channel))
    transport = httpx.MockTransport(provider.handle)
    async with (
        httpx.AsyncClient(transport=transport) as graph,
        running_app(
            config, settings=make_settings(internal_token=TOKEN), http=HttpxProvider(graph)
        ) as app,
    ):
        yield app


async def run_task(app: ChatClient, task: str, contact_id: str = CONTACT) -> dict[str, Any]:
    body = {"task": task, "contact_id": contact_id}
    response = await app.http.post("/run-task", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("never happened")


async def answered(reply: Callable[[httpx.Request], httpx.Response], task: str) -> dict[str, Any]:
    async with whatsapp_tenant(FakeProvider(reply)) as app:
        return await run_task(app, task)


async def test_a_task_whose_messages_all_went_reports_them_sent() -> None:
    result = await answered(lambda request: httpx.Response(200, json=OK), "two_texts")
    assert (result["status"], result["sent"], result["failed"]) == ("done", 2, 0)


async def test_a_task_refused_outside_the_window_reports_its_messages_failed() -> None:
    result = await answered(outside_the_window, "two_texts")
    # The task ran (its turn is committed): "done", with what became of its messages.
    assert (result["status"], result["sent"], result["failed"]) == ("done", 0, 2)


async def test_a_template_after_a_refused_text_is_counted_sent() -> None:
    result = await answered(outside_the_window, "text_then_template")
    assert (result["sent"], result["failed"]) == (1, 1)


async def test_a_task_without_messages_reports_none() -> None:
    result = await answered(outside_the_window, "nothing")
    assert (result["sent"], result["failed"]) == (0, 0)


async def test_a_turn_of_the_contact_that_runs_first_is_not_counted() -> None:
    gate = asyncio.Event()  # Graph hangs until it is opened
    provider = FakeProvider(outside_the_window, gate=gate)
    body = json.dumps(fixture("whatsapp", "text")).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    async with whatsapp_tenant(provider) as app:
        # The contact's message: its turn's menu (which Graph takes) waits on a slow Graph.
        try:
            response = await app.http.post("/webhook", content=body, headers=headers)
            assert response.status_code == 200
            await until(lambda: provider.waiting == 1)
            # "Run now" meanwhile: the task runs after the turn (and its read receipt).
            running = asyncio.create_task(run_task(app, "two_texts"))
            sequencer = app.app.state.runtime.sequencer
            await until(lambda: len(sequencer.queued(CONTACT)) >= 2)  # the receipt, the task
        finally:
            gate.set()  # else the turn would hold the app's shutdown for ever
        result = await asyncio.wait_for(running, timeout=5)
    kinds = [b.get("type", b.get("status")) for b in provider.bodies("/messages")]
    assert kinds == ["interactive", "read", "text"]  # the menu went; the task's first text not
    assert (result["sent"], result["failed"]) == (0, 2)


async def test_a_turn_of_the_contact_right_after_the_task_is_not_counted() -> None:
    # The contact writes while the task's messages are on their way: the reply to it (a menu,
    # which Graph refuses) goes out right after the task's, before "run now" is answered.
    gate = asyncio.Event()

    def menus_refused(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("type") == "interactive":
            return httpx.Response(400, json=PARAMETER_INVALID)
        return httpx.Response(200, json=OK)

    provider = FakeProvider(menus_refused, gate=gate)
    body = json.dumps(fixture("whatsapp", "text")).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    async with whatsapp_tenant(provider) as app:
        runtime = app.app.state.runtime
        try:
            running = asyncio.create_task(run_task(app, "two_texts"))
            await until(lambda: provider.waiting == 1)  # the task's first text, held by Graph
            response = await app.http.post("/webhook", content=body, headers=headers)
            assert response.status_code == 200
            await until(lambda: len(runtime.sequencer.queued(CONTACT)) >= 1)
        finally:
            gate.set()
        await runtime.sequencer.drain()  # the message's turn and receipt are done too
        result = await asyncio.wait_for(running, timeout=5)
    kinds = [b.get("type", b.get("status")) for b in provider.bodies("/messages")]
    assert kinds == ["text", "text", "interactive", "read"]  # the turn's menu was refused
    assert (result["sent"], result["failed"]) == (2, 0)


async def test_telegram_reports_a_chat_that_blocked_the_bot_as_failed() -> None:
    provider = FakeProvider(lambda request: httpx.Response(403, json=BLOCKED))
    async with channel_tenant(TELEGRAM_CHANNEL, provider) as app:
        first = await run_task(app, "two_texts", TELEGRAM_CHAT)
        # The chat is remembered as unreachable: the next run sends nothing, and says so.
        again = await run_task(app, "two_texts", TELEGRAM_CHAT)
    assert len(provider.bodies("/sendMessage")) == 1  # the second text was never tried
    assert (first["status"], first["sent"], first["failed"]) == ("done", 0, 2)
    assert (again["sent"], again["failed"]) == (0, 2)


async def test_telegram_reports_a_refused_message_alone_as_failed() -> None:
    answers = iter([httpx.Response(400, json=BAD_REQUEST), httpx.Response(200, json=TELEGRAM_OK)])
    provider = FakeProvider(lambda request: next(answers))
    async with channel_tenant(TELEGRAM_CHANNEL, provider) as app:
        result = await run_task(app, "two_texts", TELEGRAM_CHAT)
    assert len(provider.bodies("/sendMessage")) == 2
    assert (result["sent"], result["failed"]) == (1, 1)


async def test_telegram_counts_only_the_task_not_a_turn_queued_after_it() -> None:
    gate = asyncio.Event()

    def menus_refused(request: httpx.Request) -> httpx.Response:
        if "reply_markup" in json.loads(request.content):
            return httpx.Response(400, json=BAD_REQUEST)
        return httpx.Response(200, json=TELEGRAM_OK)

    provider = FakeProvider(menus_refused, gate=gate)
    update = json.dumps(fixture("telegram", "text")).encode()
    headers = {SECRET_HEADER: WEBHOOK_SECRET, "content-type": "application/json"}
    async with channel_tenant(TELEGRAM_CHANNEL, provider) as app:
        runtime = app.app.state.runtime
        try:
            running = asyncio.create_task(run_task(app, "two_texts", TELEGRAM_CHAT))
            await until(lambda: provider.waiting == 1)
            response = await app.http.post("/webhook", content=update, headers=headers)
            assert response.status_code == 200
            await until(lambda: len(runtime.sequencer.queued(TELEGRAM_CHAT)) >= 1)
        finally:
            gate.set()
        await runtime.sequencer.drain()
        result = await asyncio.wait_for(running, timeout=5)
    sent = provider.bodies("/sendMessage")
    assert len(sent) == 3 and "reply_markup" in sent[2]  # the turn's menu, refused
    assert (result["sent"], result["failed"]) == (2, 0)


async def test_the_web_chat_counts_the_outputs_stored_for_the_page_as_sent() -> None:
    flow = {**FLOW, "states": {"MENU": {"fallback": "MENU"}}}
    async with running_app(flow=flow, settings=make_settings(internal_token=TOKEN)) as app:
        result = await run_task(app, "two_texts")
        nothing = await run_task(app, "nothing")
        page = await app.http.get("/messages", params={"contact_id": CONTACT})
    assert result["status"] == "done"
    assert (result["sent"], result["failed"]) == (2, 0)
    assert (nothing["sent"], nothing["failed"]) == (0, 0)
    assert [m["output"]["text"] for m in page.json()["messages"]] == [
        "Your appointment is tomorrow",
        "Reply to change it",
    ]


class BrokenCommitStore(InMemoryTenantStore):
    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        raise RuntimeError("disk on fire")


async def test_a_task_that_failed_answers_500_failed_with_nothing_counted() -> None:
    flow = {**FLOW, "states": {"MENU": {"fallback": "MENU"}}}
    settings = make_settings(internal_token=TOKEN)
    async with running_app(flow=flow, settings=settings, stores=BrokenCommitStore()) as app:
        body = {"task": "two_texts", "contact_id": CONTACT}
        response = await app.http.post("/run-task", json=body, headers=AUTH)
        page = await app.http.get("/messages", params={"contact_id": CONTACT})
    assert response.status_code == 500
    result = response.json()
    assert (result["status"], result["sent"], result["failed"]) == ("failed", None, None)
    assert page.json()["messages"] == []
