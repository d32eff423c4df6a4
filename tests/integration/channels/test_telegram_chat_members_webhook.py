"""Telegram `my_chat_member` updates and migration notices through the real data plane: counted,
logged with hashed chats, and a blocked contact is not sent to until they write again."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from channel_harness import (
    BOT_TOKEN,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    DataPlane,
    FakeProvider,
    bot_api,
    channel_app,
    fixture,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.contact_hash import hash_contact
from botfleet.domain.outputs import Text

CHAT = "111111111"
AUTH = {SECRET_HEADER: WEBHOOK_SECRET}


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the data plane's `TelegramWebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "telegram")
    return bool(request.param == "fast-path")


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(TELEGRAM_CHANNEL, bot_api()) as running:
        yield running


async def post(dp: DataPlane, update: Any) -> httpx.Response:
    return await dp.client.post("/webhook", json=update, headers=AUTH)


def sends(provider: FakeProvider) -> list[dict[str, Any]]:
    return provider.bodies(f"/bot{BOT_TOKEN}/sendMessage")


def unblocked() -> Any:
    update = copy.deepcopy(fixture("telegram", "my_chat_member"))
    update["update_id"] += 1
    member = update["my_chat_member"]
    member["old_chat_member"]["status"], member["new_chat_member"]["status"] = "kicked", "member"
    return update


def text(update_id: int, message_id: int) -> Any:
    update = copy.deepcopy(fixture("telegram", "text"))
    update["update_id"], update["message"]["message_id"] = update_id, message_id
    return update


async def test_a_contact_blocking_the_bot_is_logged_counted_and_not_sent_to(dp: DataPlane) -> None:
    with structlog.testing.capture_logs() as logs:
        response = await post(dp, fixture("telegram", "my_chat_member"))
        assert response.json() == {"ok": True, "accepted": False}
        # A reminder due while they block the bot: no request.
        await dp.runtime.sender.send(CHAT, [Text("See you tomorrow at 10:00")])
    assert sends(dp.provider) == []
    assert dp.messages_in == 0
    blocked = [e for e in logs if e["event"] == "telegram_bot_blocked"]
    assert [(e["tenant"], e["contact"]) for e in blocked] == [
        ("salon", hash_contact("salon", CHAT))
    ]
    assert CHAT not in repr(logs)
    assert dp.metric("botfleet_telegram_chat_member_updates_total", change="blocked") == 1
    assert dp.metric("botfleet_telegram_sends_skipped_total") == 1

    await post(dp, fixture("telegram", "my_chat_member"))  # redelivered: counted once
    assert dp.metric("botfleet_telegram_chat_member_updates_total", change="blocked") == 1

    await post(dp, unblocked())
    await dp.runtime.sender.send(CHAT, [Text("See you tomorrow at 10:00")])
    assert [b["text"] for b in sends(dp.provider)] == ["See you tomorrow at 10:00"]
    assert dp.metric("botfleet_telegram_chat_member_updates_total", change="unblocked") == 1


async def test_a_contact_the_api_says_blocked_the_bot_is_answered_again_once_they_write() -> None:
    blocked = fixture("telegram", "api_error_403_blocked")
    ok = fixture("telegram", "api_send_ok")
    refusing = {"on": True}

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json=blocked) if refusing["on"] else httpx.Response(200, json=ok)

    provider = FakeProvider(reply)
    async with channel_app(TELEGRAM_CHANNEL, provider) as dp:
        await post(dp, text(1, 1))
        await dp.settle()
        assert len(sends(provider)) == 1  # refused: the contact had blocked the bot
        await dp.runtime.sender.send(CHAT, [Text("a reminder")])
        assert len(sends(provider)) == 1  # not tried again
        refusing["on"] = False
        await post(dp, text(2, 2))  # they unblocked the bot and wrote
        await dp.settle()
        assert len(sends(provider)) == 2


@pytest.mark.parametrize("name", ["group_migrate_to", "supergroup_migrate_from"])
async def test_a_migration_notice_is_logged_with_hashed_chats(dp: DataPlane, name: str) -> None:
    with structlog.testing.capture_logs() as logs:
        response = await post(dp, fixture("telegram", name))
    assert response.json() == {"ok": True, "accepted": False}
    (entry,) = [e for e in logs if e["event"] == "telegram_group_migrated"]
    assert entry["contact"] == hash_contact("salon", "-4012345678")
    assert entry["new_contact"] == hash_contact("salon", "-1001234567890")
    assert "4012345678" not in repr(logs) and "1234567890" not in repr(logs)
    assert dp.provider.requests == []


async def test_the_two_notices_of_one_migration_log_it_once(dp: DataPlane) -> None:
    with structlog.testing.capture_logs() as logs:
        await post(dp, fixture("telegram", "group_migrate_to"))
        await post(dp, fixture("telegram", "supergroup_migrate_from"))
    assert [e["event"] for e in logs].count("telegram_group_migrated") == 1


async def test_after_a_migration_notice_the_old_group_is_sent_to_at_its_new_id(
    dp: DataPlane,
) -> None:
    await post(dp, fixture("telegram", "group_migrate_to"))
    # A reminder of the old group's conversation: straight to the supergroup, no refused try.
    await dp.runtime.sender.send("-4012345678", [Text("See you tomorrow at 10:00")])
    assert [b["chat_id"] for b in sends(dp.provider)] == [-1001234567890]
