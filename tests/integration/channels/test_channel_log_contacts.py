"""A sender's line about a contact carries the very `tenant` and `contact` hash the runtime's
lines of that contact's turn carry, through the real data plane; the raw id is in no line."""

from __future__ import annotations

import json
from typing import Any

import httpx
import structlog
from channel_harness import (
    APP_SECRET,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    WHATSAPP_CHANNEL,
    FakeProvider,
    channel_app,
    fixture,
)

from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for

#: The greeting prints a value the contact does not have: the runtime logs a warning naming
#: the contact, then the channel refuses the reply and the sender logs one too.
FLOW: dict[str, Any] = {
    "id": "greet_v1",
    "initial_state": "HI",
    "states": {
        "HI": {
            "on_enter": [{"action": "send_text", "text": "Hi {{ data.nickname }}"}],
            "fallback": "HI",
        }
    },
}


def contact_lines(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == event]


def assert_same_contact(logs: list[dict[str, Any]], sender_event: str, raw: str) -> None:
    (runtime_line,) = contact_lines(logs, "template_missing_value")
    (sender_line,) = contact_lines(logs, sender_event)
    assert runtime_line["tenant"] == sender_line["tenant"] == "salon"
    assert sender_line["contact"] == runtime_line["contact"]
    assert raw not in repr(logs)


async def test_a_telegram_refusal_names_the_contact_as_the_runtime_does() -> None:
    blocked = fixture("telegram", "api_error_403_blocked")
    provider = FakeProvider(lambda request: httpx.Response(403, json=blocked))
    with structlog.testing.capture_logs() as logs:
        async with channel_app(TELEGRAM_CHANNEL, provider, flow=FLOW) as dp:
            response = await dp.client.post(
                "/webhook",
                json=fixture("telegram", "text"),
                headers={SECRET_HEADER: WEBHOOK_SECRET},
            )
            assert response.json()["accepted"] is True
            await dp.settle()
    assert_same_contact(logs, "telegram_blocked_by_user", "111111111")


async def test_a_whatsapp_refusal_names_the_contact_as_the_runtime_does() -> None:
    undeliverable = fixture("whatsapp", "api_error_131026")
    provider = FakeProvider(lambda request: httpx.Response(400, json=undeliverable))
    body = json.dumps(fixture("whatsapp", "text")).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    with structlog.testing.capture_logs() as logs:
        async with channel_app(WHATSAPP_CHANNEL, provider, flow=FLOW) as dp:
            response = await dp.client.post("/webhook", content=body, headers=headers)
            assert response.json()["accepted"] == 1
            await dp.settle()
    (runtime_line,) = contact_lines(logs, "template_missing_value")
    refusals = contact_lines(logs, "whatsapp_undeliverable")
    # The reply only: the read receipt after it is skipped, it would be refused the same way.
    assert [line["kind"] for line in refusals] == ["text"]
    for line in refusals:
        assert line["tenant"] == runtime_line["tenant"] == "salon"
        assert line["contact"] == runtime_line["contact"]
    assert "16505551234" not in repr(logs)
