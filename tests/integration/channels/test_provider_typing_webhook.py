"""A slow turn through a real provider webhook shows "typing…" on the provider's API before the
reply, and nothing after it: WhatsApp (Graph's read receipt with `typing_indicator`) and
Telegram (`sendChatAction`). A fast turn shows none."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channel_harness import (
    APP_SECRET,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    WHATSAPP_CHANNEL,
    DataPlane,
    FakeProvider,
    bot_api,
    channel_app,
    fixture,
    graph_api,
)

from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.testing.slow_connector import SLOW_LOOKUP_FLOW as FLOW
from botfleet.testing.slow_connector import GatedConnector


async def deliver(dp: DataPlane, kind: str) -> str:
    """Post one text message; returns its message id as the provider knows it."""
    if kind == "whatsapp":
        payload = fixture("whatsapp", "text")
        body = json.dumps(payload).encode()
        headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
        headers["Content-Type"] = "application/json"
        response = await dp.client.post("/webhook", content=body, headers=headers)
        message_id = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    else:
        update = fixture("telegram", "text")
        response = await dp.client.post(
            "/webhook", json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}
        )
        message_id = str(update["message"]["message_id"])
    assert response.status_code == 200
    return str(message_id)


def calls(provider: FakeProvider) -> list[str]:
    """What the bot asked of the provider, in order: "typing", "reply" or "read"."""
    seen = []
    for request in provider.requests:
        body = json.loads(request.content)
        if request.url.path.endswith("/sendChatAction") or "typing_indicator" in body:
            seen.append("typing")
        elif body.get("status") == "read":
            seen.append("read")
        else:
            seen.append("reply")
    return seen


CASES = [
    pytest.param("whatsapp", {**WHATSAPP_CHANNEL, "typing_after_ms": 50}, graph_api, id="whatsapp"),
    pytest.param("telegram", {**TELEGRAM_CHANNEL, "typing_after_ms": 50}, bot_api, id="telegram"),
]


@pytest.mark.parametrize(("kind", "channel", "api"), CASES)
async def test_a_slow_turn_shows_typing_before_its_reply(
    kind: str, channel: dict[str, Any], api: Any
) -> None:
    backend, provider = GatedConnector(open_=False), api()
    async with channel_app(channel, provider, flow=FLOW, connectors={"mock": backend}) as dp:
        message_id = await deliver(dp, kind)
        await asyncio.sleep(0.2)
        assert calls(provider) == ["typing"]
        typing = json.loads(provider.requests[0].content)
        if kind == "whatsapp":
            assert typing == {
                "messaging_product": "whatsapp",
                "status": "read",
                "message_id": message_id,
                "typing_indicator": {"type": "text"},
            }
        else:
            assert typing == {
                "chat_id": fixture("telegram", "text")["message"]["chat"]["id"],
                "action": "typing",
            }
        backend.gate.set()
        await dp.settle()
        shown = calls(provider)
        assert shown[0] == "typing" and "reply" in shown
        await asyncio.sleep(0.2)
        assert calls(provider) == shown  # nothing after the reply
        # WhatsApp's typing indicator marked the message read: no second receipt after it
        assert "read" not in shown
        replies = [i for i, c in enumerate(shown) if c == "reply"]
        assert all(c != "typing" for c in shown[replies[0] :])


@pytest.mark.parametrize(("kind", "channel", "api"), CASES)
async def test_a_fast_turn_shows_no_typing(kind: str, channel: dict[str, Any], api: Any) -> None:
    backend, provider = GatedConnector(), api()
    async with channel_app(channel, provider, flow=FLOW, connectors={"mock": backend}) as dp:
        await deliver(dp, kind)
        await dp.settle()
        await asyncio.sleep(0.1)
        assert "reply" in calls(provider)
        assert "typing" not in calls(provider)
