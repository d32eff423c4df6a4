"""`POST /run-task` on a WhatsApp tenant reports what became of the task's messages: `sent` and
`failed` beside `"status": "done"` (the task ran either way), counting the task's messages only,
not those of a turn of the contact that ran just before it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from channel_harness import APP_SECRET, WHATSAPP_CHANNEL, FakeProvider, fixture

from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.testing.runtime import ChatClient, make_settings, running_app

TOKEN = "internal-token-for-run-task"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CONTACT = "16505551234"
OK = fixture("whatsapp", "api_send_ok")
TEMPLATE_NEEDED = fixture("whatsapp", "api_error_131047")
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
    config = TenantConfig(tenant_id="clinic", flow=FLOW, channel=Binding(**WHATSAPP_CHANNEL))
    transport = httpx.MockTransport(provider.handle)
    async with (
        httpx.AsyncClient(transport=transport) as graph,
        running_app(
            config, settings=make_settings(internal_token=TOKEN), http=HttpxProvider(graph)
        ) as app,
    ):
        yield app


async def run_task(app: ChatClient, task: str) -> dict[str, Any]:
    body = {"task": task, "contact_id": CONTACT}
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


async def test_a_channel_that_does_not_count_its_sends_reports_null() -> None:
    flow = {**FLOW, "states": {"MENU": {"fallback": "MENU"}}}
    async with running_app(flow=flow, settings=make_settings(internal_token=TOKEN)) as app:
        result = await run_task(app, "two_texts")
    assert result["status"] == "done"
    assert (result["sent"], result["failed"]) == (None, None)
