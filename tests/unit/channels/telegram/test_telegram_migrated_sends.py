"""A group that became a supergroup: once the sender knows (the migration notice, or the first
send refused with `migrate_to_chat_id`), what is sent to the old group's contact goes to the
supergroup at once, with no refused request or warning each time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog

from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.adapters.channels.telegram.parse import ChatMemberChange, ChatMigration
from botfleet.domain.outputs import Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
OLD_GROUP = "-4012345678"
SUPERGROUP = "-1001234567890"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = httpx.Response(200, json=load("api_send_ok"))
MIGRATED = httpx.Response(400, json=load("api_error_400_migrated"))


def chat_ids(route: respx.Route) -> list[int]:
    return [json.loads(call.request.content)["chat_id"] for call in route.calls]


async def test_after_the_notice_the_old_group_is_sent_to_at_its_new_id(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    sender.chat_migrated(ChatMigration(OLD_GROUP, SUPERGROUP))
    with structlog.testing.capture_logs() as logs:
        outcome = await sender.send(OLD_GROUP, [Text("your appointment is tomorrow")])
    assert chat_ids(api["sendMessage"]) == [int(SUPERGROUP)]
    assert (outcome.sent, outcome.failed) == (1, 0)
    assert logs == []  # no refused request, no warning


async def test_after_one_refused_send_the_next_ones_go_to_the_new_id(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api["sendMessage"].mock(side_effect=[MIGRATED, OK, OK])
    with structlog.testing.capture_logs() as logs:
        await sender.send(OLD_GROUP, [Text("one")])
        await sender.send(OLD_GROUP, [Text("a reminder, later")])
    assert chat_ids(route) == [int(OLD_GROUP), int(SUPERGROUP), int(SUPERGROUP)]
    assert [e["event"] for e in logs] == ["telegram_chat_migrated"]  # once, not per send


async def test_a_supergroup_that_removed_the_bot_is_not_sent_to_by_its_old_id(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    sender.chat_migrated(ChatMigration(OLD_GROUP, SUPERGROUP))
    sender.chat_member_changed(1, ChatMemberChange(SUPERGROUP, "removed", "member", "left"))
    outcome = await sender.send(OLD_GROUP, [Text("hello")])
    assert api["sendMessage"].call_count == 0
    assert (outcome.sent, outcome.failed) == (0, 1)
    sender.chat_active(SUPERGROUP)  # someone wrote there: the bot is back
    await sender.send(OLD_GROUP, [Text("hello")])
    assert chat_ids(api["sendMessage"]) == [int(SUPERGROUP)]


async def test_a_refusal_at_the_new_id_marks_the_supergroup(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    sender.chat_migrated(ChatMigration(OLD_GROUP, SUPERGROUP))
    api["sendMessage"].mock(return_value=httpx.Response(403, json=load("api_error_403_kicked")))
    await sender.send(OLD_GROUP, [Text("hello")])
    await sender.send(SUPERGROUP, [Text("the supergroup's own conversation")])
    assert chat_ids(api["sendMessage"]) == [int(SUPERGROUP)]  # the second was skipped


async def test_the_memory_of_migrations_is_bounded(
    sender: TelegramBotSender, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("botfleet.adapters.channels.telegram.chat_memory.MAX_MOVED", 2)
    for old, new in (("-1", "-1001"), ("-2", "-1002"), ("-3", "-1003")):
        sender.chat_migrated(ChatMigration(old, new))
    await sender.send("-1", [Text("forgotten: sent to the old id")])
    await sender.send("-3", [Text("remembered")])
    assert chat_ids(api["sendMessage"]) == [-1, -1003]
