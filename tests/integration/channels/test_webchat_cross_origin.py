"""A business's own front end on https://shop.example calling the web chat API cross-origin,
against the real app: CORS, the cursor of `GET /messages`, errors it can show, two tabs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app
from botfleet.testing.scheduling import ManualScheduler

SHOP = "https://shop.example"
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
FLOW: dict[str, Any] = {
    "id": "shop",
    "initial_state": "MENU",
    "tasks": {"remind": [{"action": "send_text", "text": "Reminder: your order ships today"}]},
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Pick",
                    "buttons": [{"id": "track", "title": "Track"}, {"id": "help", "title": "Help"}],
                }
            ],
            "transitions": [
                {"on_payload": "track", "target": "TRACK"},
                {"on_type": "text", "target": "ECHO"},
            ],
        },
        "TRACK": {
            "on_enter": [
                {"action": "send_text", "text": "On its way"},
                {"action": "schedule_task", "task": "remind", "delay": "1h"},
            ],
            "next": "MENU",
        },
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "echo {{ message.text }}"}],
            "next": "MENU",
        },
    },
}


@pytest.fixture
async def shop() -> AsyncIterator[tuple[ChatClient, ManualScheduler]]:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    config = make_tenant_config(FLOW, channel={"type": "webchat", "allowed_origins": [SHOP]})
    async with running_app(config, clock=clock, scheduler=scheduler) as chat:
        yield chat, scheduler


async def post(chat: ChatClient, body: dict[str, Any]) -> Any:
    return await chat.http.post("/inbound", json=body, headers={"Origin": SHOP})


async def poll(chat: ChatClient, contact_id: str, since: int) -> Any:
    return await chat.http.get(
        "/messages", params={"contact_id": contact_id, "since": since}, headers={"Origin": SHOP}
    )


@pytest.mark.parametrize(
    "body",
    [
        {"contact_id": "ñandú", "text": "hi"},
        {"contact_id": "ana lópez", "text": "hi"},
        {"contact_id": "c1", "text": "hi", "message_id": "👋"},
    ],
)
async def test_an_id_in_the_wrong_form_is_refused_in_words(
    shop: tuple[ChatClient, ManualScheduler], body: dict[str, Any]
) -> None:
    chat, _ = shop
    refused = await post(chat, body)
    assert refused.status_code == 422
    assert refused.headers["access-control-allow-origin"] == SHOP  # the page can read why
    [error] = refused.json()["detail"]
    assert error["msg"].startswith("String should be 1 to 128 of the characters A-Z a-z 0-9")
    assert "pattern" not in error["msg"]


async def test_a_polled_id_in_the_wrong_form_is_refused_in_words(
    shop: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = shop
    refused = await poll(chat, "ñandú", 0)
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["query", "contact_id"]
    assert "A-Z a-z 0-9 _ . : @ + -" in error["msg"]


async def test_polled_messages_are_never_cached(shop: tuple[ChatClient, ManualScheduler]) -> None:
    chat, _ = shop
    await post(chat, {"contact_id": "c1", "text": "hi"})
    read = await poll(chat, "c1", 0)
    assert read.headers["cache-control"] == "no-store"


async def test_the_preflight_of_a_poll_and_of_a_post_is_answered_without_credentials(
    shop: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = shop
    for method, path in [("POST", "/inbound"), ("GET", "/messages")]:
        preflight = await chat.http.options(
            path,
            headers={
                "Origin": SHOP,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == SHOP
        # no cookies: a fetch with `credentials: "include"` is refused by the browser
        assert "access-control-allow-credentials" not in preflight.headers


async def test_showing_what_polls_return_after_each_post_shows_every_reply_once(
    shop: tuple[ChatClient, ManualScheduler],
) -> None:
    """The front end of docs/channels.md: post, then read the outbox from its cursor."""
    chat, scheduler = shop
    shown: list[str] = []
    last = 0

    async def catch_up() -> None:
        nonlocal last
        page = (await poll(chat, "c1", last)).json()
        shown.extend(m["output"]["text"] for m in page["messages"])
        last = page["last"]

    await post(chat, {"contact_id": "c1", "text": "hi"})
    await catch_up()
    pressed = {"contact_id": "c1", "type": "button_reply", "payload": "track", "title": "Track"}
    await post(chat, {**pressed, "message_id": "m-1"})
    retried = await post(chat, {**pressed, "message_id": "m-1"})  # no answer seen: sent again
    assert retried.json()["duplicate"] is True
    await catch_up()
    await catch_up()  # nothing new: the cursor stays
    await scheduler.advance(hours=2)
    await catch_up()
    assert shown == ["echo hi", "Pick", "On its way", "Pick", "Reminder: your order ships today"]


async def test_two_tabs_of_one_contact_are_answered_one_message_at_a_time(
    shop: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = shop
    answers = await asyncio.gather(
        *(post(chat, {"contact_id": "c1", "text": f"tab {n}"}) for n in range(4))
    )
    replies = [a.json()["replies"][0]["text"] for a in answers]
    assert replies == [f"echo tab {n}" for n in range(4)]
    outbox = [m["output"]["text"] for m in (await poll(chat, "c1", 0)).json()["messages"]]
    # each tab's poll sees the other tabs' replies too (not their messages: only the bot's)
    assert sorted(t for t in outbox if t.startswith("echo")) == replies


async def test_a_page_elsewhere_may_read_retry_after(
    shop: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = shop
    answer = await post(chat, {"contact_id": "c-retry", "text": "hi"})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == SHOP
    exposed = answer.headers["access-control-expose-headers"].lower().split(",")
    assert "retry-after" in [name.strip() for name in exposed]
