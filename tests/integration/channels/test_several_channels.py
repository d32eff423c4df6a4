"""One tenant on several channels (`more_channels`): each channel's contacts talk to the same
bot, are answered on their own channel, fitted to its limits, and never meet another
channel's ids."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from channel_harness import (
    APP_SECRET,
    BOT_TOKEN,
    PHONE_NUMBER_ID,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    WHATSAPP_CHANNEL,
    DataPlane,
    FakeProvider,
    bot_and_graph_api,
    channel_app,
    fixture,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.contact_hash import hash_contact
from botfleet.domain.errors import ConfigError

CHAT = 111111111  # tests/fixtures/telegram/text.json
PHONE = "16505551234"  # tests/fixtures/whatsapp/text.json

#: Four buttons: the web chat shows them (5 at most), WhatsApp (3 at most) makes them a list.
FOUR_BUTTONS_FLOW: dict[str, Any] = {
    "id": "four_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Hi {{ contact.id }}",
                    "buttons": [
                        {"id": "a", "title": "One"},
                        {"id": "b", "title": "Two"},
                        {"id": "c", "title": "Three"},
                        {"id": "d", "title": "Four"},
                    ],
                }
            ],
            "transitions": [{"on_payload": "a", "target": "ONE"}],
            "fallback": "MENU",
        },
        "ONE": {"on_enter": [{"action": "send_text", "text": "One it is"}], "fallback": "MENU"},
    },
}


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the channels' ASGI fast paths and with their routes alone."""
    if request.param == "route":
        for kind in ("telegram", "whatsapp", "webchat"):
            monkeypatch.delitem(registry.FAST_PATHS, kind)
    return bool(request.param == "fast-path")


@pytest.fixture
async def web_and_telegram() -> AsyncIterator[DataPlane]:
    async with channel_app(
        {"type": "webchat"},
        bot_and_graph_api(),
        more_channels=[TELEGRAM_CHANNEL],
        flow=FOUR_BUTTONS_FLOW,
    ) as running:
        yield running


@pytest.fixture
async def whatsapp_and_web() -> AsyncIterator[DataPlane]:
    async with channel_app(
        WHATSAPP_CHANNEL,
        bot_and_graph_api(),
        more_channels=[{"type": "webchat"}],
        flow=FOUR_BUTTONS_FLOW,
    ) as running:
        yield running


def telegram_sends(provider: FakeProvider) -> list[dict[str, Any]]:
    return provider.bodies(f"/bot{BOT_TOKEN}/sendMessage")


def graph_sends(provider: FakeProvider) -> list[dict[str, Any]]:
    return [b for b in provider.bodies(f"/{PHONE_NUMBER_ID}/messages") if "to" in b]


async def post_whatsapp(dp: DataPlane) -> httpx.Response:
    body = json.dumps(fixture("whatsapp", "text")).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    return await dp.client.post(
        "/webhook", content=body, headers={**headers, "Content-Type": "application/json"}
    )


async def test_a_telegram_update_is_answered_on_telegram_under_a_prefixed_id(
    web_and_telegram: DataPlane,
) -> None:
    dp = web_and_telegram
    response = await dp.client.post(
        "/webhook/telegram",
        json=fixture("telegram", "text"),
        headers={SECRET_HEADER: WEBHOOK_SECRET},
    )
    assert response.status_code == 200
    assert response.json()["accepted"] is True
    await dp.settle()
    [sent] = telegram_sends(dp.provider)
    assert sent["chat_id"] == CHAT  # the id Telegram knows
    assert sent["text"] == f"Hi telegram:{CHAT}"  # the id the flow and the store know
    assert len(sent["reply_markup"]["inline_keyboard"]) == 4
    state = await dp.runtime.states.load(f"telegram:{CHAT}")
    assert state is not None and state.node == "MENU"
    assert await dp.runtime.states.load(str(CHAT)) is None


async def test_the_web_chat_beside_telegram_answers_its_own_contacts(
    web_and_telegram: DataPlane,
) -> None:
    dp = web_and_telegram
    response = await dp.client.post("/inbound", json={"contact_id": "web-1", "text": "hi"})
    assert response.status_code == 200
    [reply] = response.json()["replies"]
    assert reply["text"] == "Hi web-1"
    assert [b["id"] for b in reply["buttons"]] == ["a", "b", "c", "d"]
    assert telegram_sends(dp.provider) == []
    assert await dp.runtime.states.load("web-1") is not None


async def test_a_web_chat_page_cannot_take_another_channels_ids(
    web_and_telegram: DataPlane,
) -> None:
    dp = web_and_telegram
    taken = await dp.client.post("/inbound", json={"contact_id": f"telegram:{CHAT}", "text": "x"})
    assert taken.status_code == 422
    assert "must not start with 'telegram:'" in taken.text
    message = await dp.client.post(
        "/inbound", json={"contact_id": "web-2", "message_id": f"telegram:{CHAT}:9", "text": "x"}
    )
    assert message.status_code == 422
    read = await dp.client.get("/messages", params={"contact_id": f"telegram:{CHAT}"})
    assert read.status_code == 422
    assert await dp.runtime.states.load(f"telegram:{CHAT}") is None
    assert await dp.runtime.states.load("web-2") is None


async def test_a_more_channels_webhook_is_only_at_its_own_path(
    web_and_telegram: DataPlane,
) -> None:
    dp = web_and_telegram
    response = await dp.client.post(
        "/webhook", json=fixture("telegram", "text"), headers={SECRET_HEADER: WEBHOOK_SECRET}
    )
    assert response.status_code in (404, 405)
    await dp.settle()
    assert telegram_sends(dp.provider) == []


async def test_each_contact_gets_the_menu_its_channel_can_show(
    whatsapp_and_web: DataPlane,
) -> None:
    dp = whatsapp_and_web
    assert (await post_whatsapp(dp)).status_code == 200
    await dp.settle()
    [sent] = graph_sends(dp.provider)
    assert sent["to"] == PHONE
    assert sent["interactive"]["type"] == "list"  # four buttons: over WhatsApp's three
    assert sent["interactive"]["body"]["text"] == f"Hi {PHONE}"  # the tenant's own channel

    response = await dp.client.post("/inbound", json={"contact_id": "abc", "text": "hi"})
    [reply] = response.json()["replies"]
    assert reply["type"] == "buttons" and len(reply["buttons"]) == 4
    assert reply["text"] == "Hi webchat:abc"
    assert len(graph_sends(dp.provider)) == 1  # nothing of the web chat's went to WhatsApp


async def test_the_web_chat_beside_whatsapp_reads_only_its_own_contacts(
    whatsapp_and_web: DataPlane,
) -> None:
    dp = whatsapp_and_web
    assert (await post_whatsapp(dp)).status_code == 200
    await dp.settle()
    assert await dp.runtime.states.load(PHONE) is not None
    # The WhatsApp contact's conversation is not the web chat's to read, by its number...
    spied = await dp.client.get("/messages", params={"contact_id": PHONE})
    assert spied.status_code == 200 and spied.json()["messages"] == []
    # ...and a page's contact of that name is a contact of its own.
    await dp.client.post("/inbound", json={"contact_id": PHONE, "text": "hi"})
    own = (await dp.client.get("/messages", params={"contact_id": PHONE})).json()["messages"]
    assert [m["contact_id"] for m in own] == [PHONE]
    assert own[0]["output"]["text"] == f"Hi webchat:{PHONE}"
    assert len(graph_sends(dp.provider)) == 1


async def test_whatsapp_beside_the_web_chat_answers_and_marks_read_with_its_own_ids() -> None:
    async with channel_app(
        {"type": "webchat"},
        bot_and_graph_api(),
        more_channels=[WHATSAPP_CHANNEL],
        flow=FOUR_BUTTONS_FLOW,
    ) as dp:
        body = json.dumps(fixture("whatsapp", "text")).encode()
        headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
        response = await dp.client.post(
            "/webhook/whatsapp",
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        assert response.status_code == 200
        await dp.settle()
        [sent] = graph_sends(dp.provider)
        assert sent["to"] == PHONE
        assert sent["interactive"]["body"]["text"] == f"Hi whatsapp:{PHONE}"
        wamid = fixture("whatsapp", "text")["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        reads = [b for b in dp.provider.bodies("/messages") if b.get("status") == "read"]
        assert [r["message_id"] for r in reads] == [wamid]
        journaled = await dp.runtime.journal.get(f"whatsapp:{wamid}")
        assert journaled is not None and journaled.message.contact_id == f"whatsapp:{PHONE}"
        # Its handshake is at its own path too.
        challenge = await dp.client.get(
            "/webhook/whatsapp",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": WHATSAPP_CHANNEL["verify_token"],
                "hub.challenge": "42",
            },
        )
        assert challenge.status_code == 200 and challenge.text == "42"


def group_update(update_id: int, chat_id: int, chat_type: str) -> Any:
    update = fixture("telegram", "group_mention")
    message = update["message"]
    update["update_id"], message["message_id"] = update_id, update_id
    message["chat"] = {"id": chat_id, "title": "Salon friends", "type": chat_type}
    return update


async def test_a_telegram_group_that_moves_takes_its_prefixed_conversation_along() -> None:
    old, new = -4012345678, -1001234567890
    telegram = {**TELEGRAM_CHANNEL, "bot_username": "peluqueria_ana_bot"}
    async with channel_app(
        {"type": "webchat"}, bot_and_graph_api(), more_channels=[telegram], flow=FOUR_BUTTONS_FLOW
    ) as dp:
        auth = {SECRET_HEADER: WEBHOOK_SECRET}
        first = await dp.client.post(
            "/webhook/telegram", json=group_update(1, old, "group"), headers=auth
        )
        assert first.status_code == 200
        await dp.settle()
        assert await dp.runtime.states.load(f"telegram:{old}") is not None
        notice = fixture("telegram", "group_migrate_to")
        notice["message"]["chat"]["id"] = old
        notice["message"]["migrate_to_chat_id"] = new
        moved = await dp.client.post("/webhook/telegram", json=notice, headers=auth)
        assert moved.status_code == 200
        await dp.settle()
        assert await dp.runtime.states.load(f"telegram:{old}") is None
        state = await dp.runtime.states.load(f"telegram:{new}")
        assert state is not None and state.node == "MENU"
        assert await dp.runtime.states.load(str(new)) is None


async def test_a_telegram_send_refused_for_a_group_upgrade_moves_the_prefixed_conversation() -> (
    None
):
    old, new = -4012345678, -1001234567890
    ok = fixture("telegram", "api_send_ok")
    refused = fixture("telegram", "api_error_400_migrated")
    refused["parameters"]["migrate_to_chat_id"] = new

    def reply(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("chat_id") == old:
            return httpx.Response(400, json=refused)
        return httpx.Response(200, json=ok)

    telegram = {**TELEGRAM_CHANNEL, "bot_username": "peluqueria_ana_bot"}
    async with channel_app(
        {"type": "webchat"}, FakeProvider(reply), more_channels=[telegram], flow=FOUR_BUTTONS_FLOW
    ) as dp:
        response = await dp.client.post(
            "/webhook/telegram",
            json=group_update(1, old, "group"),
            headers={SECRET_HEADER: WEBHOOK_SECRET},
        )
        assert response.status_code == 200
        await asyncio.wait_for(dp.settle(), timeout=5)
        chats = [b["chat_id"] for b in telegram_sends(dp.provider)]
        assert chats == [old, new]  # refused, then sent where the group went
        assert await dp.runtime.states.load(f"telegram:{old}") is None
        assert await dp.runtime.states.load(f"telegram:{new}") is not None


CHANNEL_FLOW: dict[str, Any] = {
    "id": "which_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_text",
                    "text": "{% if contact.channel == 'webchat' %}Your phone?"
                    "{% else %}On {{ contact.channel }}{% endif %}",
                }
            ],
            "fallback": "MENU",
        }
    },
}


async def test_the_flow_knows_each_contacts_channel() -> None:
    async with channel_app(
        WHATSAPP_CHANNEL,
        bot_and_graph_api(),
        more_channels=[{"type": "webchat"}],
        flow=CHANNEL_FLOW,
    ) as dp:
        assert (await post_whatsapp(dp)).status_code == 200
        await dp.settle()
        [sent] = graph_sends(dp.provider)
        assert sent["text"]["body"] == "On whatsapp"
        response = await dp.client.post("/inbound", json={"contact_id": "abc", "text": "hi"})
        assert [r["text"] for r in response.json()["replies"]] == ["Your phone?"]


async def test_the_web_chat_as_a_more_channel_refuses_ids_naming_other_channels(
    whatsapp_and_web: DataPlane,
) -> None:
    dp = whatsapp_and_web
    for contact_id in (f"whatsapp:{PHONE}", "telegram:5", "x"):
        response = await dp.client.post("/inbound", json={"contact_id": contact_id, "text": "x"})
        assert response.status_code == (200 if contact_id == "x" else 422), contact_id
    assert await dp.runtime.states.load(f"webchat:whatsapp:{PHONE}") is None
    assert await dp.runtime.states.load("webchat:x") is not None


async def test_a_more_channels_settings_errors_name_its_own_key() -> None:
    broken = {k: v for k, v in TELEGRAM_CHANNEL.items() if k != "bot_token"}
    with pytest.raises(ConfigError) as refused:
        async with channel_app({"type": "webchat"}, bot_and_graph_api(), more_channels=[broken]):
            pass
    keys = [key for key, _ in refused.value.problems]
    assert keys == ["more_channels[0].bot_token"]
    assert "channel.bot_token" not in str(refused.value)


async def test_a_web_chat_alone_refuses_ids_naming_a_channel_kind() -> None:
    # Planted now, such a conversation would be Telegram's the day Telegram is added.
    async with channel_app({"type": "webchat"}, bot_and_graph_api(), flow=FOUR_BUTTONS_FLOW) as dp:
        for contact_id in ("telegram:111111111", "whatsapp:34600", "webchat:x"):
            body = {"contact_id": contact_id, "text": "x"}
            assert (await dp.client.post("/inbound", json=body)).status_code == 422
            assert await dp.runtime.states.load(contact_id) is None
        fine = await dp.client.post("/inbound", json={"contact_id": "web-telegram:1", "text": "x"})
        assert fine.status_code == 200


async def test_a_more_channels_own_log_lines_hash_the_id_the_runtime_knows() -> None:
    blocked = fixture("telegram", "api_error_403_blocked")
    provider = FakeProvider(lambda request: httpx.Response(403, json=blocked))
    async with channel_app(
        {"type": "webchat"}, provider, more_channels=[TELEGRAM_CHANNEL], flow=FOUR_BUTTONS_FLOW
    ) as dp:
        with structlog.testing.capture_logs() as logs:
            response = await dp.client.post(
                "/webhook/telegram",
                json=fixture("telegram", "text"),
                headers={SECRET_HEADER: WEBHOOK_SECRET},
            )
            assert response.status_code == 200
            await dp.settle()
    theirs = [e for e in logs if e["event"].startswith("telegram_") and "contact" in e]
    assert theirs, [e["event"] for e in logs]
    assert {e["contact"] for e in theirs} == {hash_contact("salon", f"telegram:{CHAT}")}
    assert all(str(CHAT) not in str(e) for e in logs)


REPLY_FLOW: dict[str, Any] = {
    "id": "reply_v1",
    "initial_state": "START",
    "states": {
        "START": {
            "transitions": [
                {"target": "ECHO", "condition": "message.extra.reply_to is defined"},
            ],
            "fallback": "START",
        },
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "{{ message.extra.reply_to }}"}],
            "fallback": "START",
        },
    },
}


async def test_a_more_channels_reply_to_names_the_message_as_its_id_is_named() -> None:
    """`message.extra.reply_to` carries the channel's prefix, as `message.id` does, so it
    equals the id of the contact's message it quotes."""
    async with channel_app(
        {"type": "webchat"}, bot_and_graph_api(), more_channels=[TELEGRAM_CHANNEL], flow=REPLY_FLOW
    ) as dp:
        response = await dp.client.post(
            "/webhook/telegram",
            json=fixture("telegram", "callback_query"),
            headers={SECRET_HEADER: WEBHOOK_SECRET},
        )
        assert response.status_code == 200
        await dp.settle()
        sent = [s for s in telegram_sends(dp.provider) if "text" in s]
    assert [s["text"] for s in sent] == [f"telegram:{CHAT}:1366"]
