"""`my_chat_member` updates and refused sends teach the sender which chats cannot be written to
(blocked bot, removed bot); sends there are skipped without a request until the chat's people
undo it. A group's migration notices are read and logged once."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram import TelegramBotSender, TelegramMetrics
from botfleet.adapters.channels.telegram.parse import (
    ChatMemberChange,
    ChatMigration,
    parse_update,
)
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.contact_hash import hash_contact
from botfleet.domain.outputs import Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
TENANT = "salon"
CHAT = "111111111"
GROUP = "-1001234567890"
OLD_GROUP = "-4012345678"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def member_update(name: str, old: dict[str, Any], new: dict[str, Any], update_id: int = 1) -> Any:
    update = copy.deepcopy(load(name))
    update["update_id"] = update_id
    member = update["my_chat_member"]
    member["old_chat_member"] = {**member["old_chat_member"], **old}
    member["new_chat_member"] = {**member["new_chat_member"], **new}
    return update


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("name", "old", "new", "change"),
    [
        ("my_chat_member", {"status": "member"}, {"status": "kicked"}, "blocked"),
        ("my_chat_member", {"status": "kicked"}, {"status": "member"}, "unblocked"),
        ("my_chat_member_group_removed", {"status": "member"}, {"status": "left"}, "removed"),
        (
            "my_chat_member_group_removed",
            {"status": "administrator"},
            {"status": "kicked"},
            "removed",
        ),
        ("my_chat_member_group_removed", {"status": "left"}, {"status": "member"}, "added"),
        ("my_chat_member_group_removed", {"status": "left"}, {"status": "administrator"}, "added"),
        (
            "my_chat_member_group_removed",
            {"status": "member"},
            {"status": "administrator"},
            "other",
        ),
        (
            "my_chat_member_group_removed",
            {"status": "left"},
            {"status": "restricted", "is_member": True},
            "added",
        ),
        (
            "my_chat_member_group_removed",
            {"status": "member"},
            {"status": "restricted", "is_member": False},
            "removed",
        ),
    ],
)
def test_chat_member_updates_say_what_changed_for_the_bot(
    name: str, old: dict[str, Any], new: dict[str, Any], change: str
) -> None:
    update = parse_update(member_update(name, old, new), received_at=RECEIVED)
    assert update.message is None
    chat = CHAT if name == "my_chat_member" else GROUP
    assert update.member_change == ChatMemberChange(chat, change, old["status"], new["status"])


def test_the_fixture_is_a_contact_blocking_the_bot() -> None:
    update = parse_update(load("my_chat_member"), received_at=RECEIVED)
    assert update.member_change == ChatMemberChange(CHAT, "blocked", "member", "kicked")


def test_a_chat_member_update_without_a_chat_is_skipped() -> None:
    update = load("my_chat_member")
    del update["my_chat_member"]["chat"]
    parsed = parse_update(update, received_at=RECEIVED)
    assert parsed.member_change is None
    assert parsed.skipped == "malformed_chat_member"


@pytest.mark.parametrize("name", ["group_migrate_to", "supergroup_migrate_from"])
def test_both_migration_notices_name_the_old_and_the_new_chat(name: str) -> None:
    update = parse_update(load(name), received_at=RECEIVED)
    assert update.message is None
    assert update.skipped == "service_message"
    assert update.migration == ChatMigration(OLD_GROUP, GROUP)


@pytest.mark.parametrize(
    ("name", "chat_type"),
    [
        ("group_migrate_to", "private"),
        ("group_migrate_to", "supergroup"),
        ("supergroup_migrate_from", "private"),
        ("supergroup_migrate_from", "group"),
    ],
)
def test_a_migration_notice_counts_only_in_the_chat_telegram_posts_it_in(
    name: str, chat_type: str
) -> None:
    """ "Moved to" is posted in the group, "moved from" in the supergroup; anywhere else the
    field is no migration (it would hand one chat's conversation to another)."""
    update = load(name)
    update["message"]["chat"]["type"] = chat_type
    parsed = parse_update(update, received_at=RECEIVED)
    assert parsed.migration is None
    assert parsed.message is None


# ---------------------------------------------------------------- the sender's memory


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def sender(registry: CollectorRegistry) -> AsyncIterator[TelegramBotSender]:
    settings = telegram_settings(
        {
            "bot_token": "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
            "webhook_secret": "s",
            "api_base_url": "https://tg.test",
        }
    )
    async with httpx.AsyncClient() as http:
        yield TelegramBotSender(
            settings, HttpxProvider(http), metrics=TelegramMetrics(registry), tenant_id=TENANT
        )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(
        base_url="https://tg.test/bot7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        assert_all_mocked=True,
        assert_all_called=False,
    ) as router:
        router.post("/sendMessage", name="sendMessage").mock(
            return_value=httpx.Response(200, json=load("api_send_ok"))
        )
        yield router


def change(chat: str, what: str) -> ChatMemberChange:
    return ChatMemberChange(chat, what, "", "")


async def test_a_contact_who_blocked_the_bot_is_not_sent_to(
    sender: TelegramBotSender, api: respx.MockRouter, registry: CollectorRegistry
) -> None:
    with structlog.testing.capture_logs() as logs:
        sender.chat_member_changed(1, change(CHAT, "blocked"))
        await sender.send(CHAT, [Text("Your appointment is tomorrow")])
    assert api["sendMessage"].call_count == 0
    assert [e["event"] for e in logs] == ["telegram_bot_blocked", "telegram_send_skipped"]
    for entry in logs:
        assert entry["contact"] == hash_contact(TENANT, CHAT)
    assert logs[1]["reason"] == "blocked"
    assert CHAT not in repr(logs)
    assert sample(registry, "botfleet_telegram_chat_member_updates_total", change="blocked") == 1
    assert sample(registry, "botfleet_telegram_sends_skipped_total") == 1


async def test_unblocking_the_bot_lets_sends_through_again(
    sender: TelegramBotSender, api: respx.MockRouter, registry: CollectorRegistry
) -> None:
    sender.chat_member_changed(1, change(CHAT, "blocked"))
    sender.chat_member_changed(2, change(CHAT, "unblocked"))
    await sender.send(CHAT, [Text("hello")])
    assert api["sendMessage"].call_count == 1
    assert sample(registry, "botfleet_telegram_chat_member_updates_total", change="unblocked") == 1


async def test_a_redelivered_chat_member_update_is_counted_once(
    sender: TelegramBotSender, registry: CollectorRegistry
) -> None:
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            sender.chat_member_changed(7, change(CHAT, "blocked"))
    assert len(logs) == 1
    assert sample(registry, "botfleet_telegram_chat_member_updates_total", change="blocked") == 1


async def test_a_group_that_removed_the_bot_is_not_sent_to_in_any_topic(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    sender.chat_member_changed(1, change(GROUP, "removed"))
    await sender.send(GROUP, [Text("hello")])
    await sender.send(f"{GROUP}:topic:42", [Text("hello")])
    assert api["sendMessage"].call_count == 0
    sender.chat_member_changed(2, change(GROUP, "added"))
    await sender.send(f"{GROUP}:topic:42", [Text("hello")])
    assert api["sendMessage"].call_count == 1


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("api_error_403_blocked", "blocked"),
        ("api_error_403_kicked", "removed"),
        ("api_error_403_not_member", "removed"),  # left, or removed while updates were off
    ],
)
async def test_a_refused_send_marks_the_chat_until_its_people_write_again(
    sender: TelegramBotSender,
    api: respx.MockRouter,
    registry: CollectorRegistry,
    answer: str,
    reason: str,
) -> None:
    refused = httpx.Response(403, json=load(answer))
    ok = httpx.Response(200, json=load("api_send_ok"))
    route = api["sendMessage"].mock(side_effect=[refused, ok])
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("one"), Text("two")])
        await sender.send(CHAT, [Text("a reminder")])  # no request: known to be refused
        assert route.call_count == 1
        sender.chat_active(CHAT)  # the contact wrote: they unblocked the bot
        await sender.send(CHAT, [Text("welcome back")])
    assert route.call_count == 2
    events = [e["event"] for e in logs]
    assert events[1:] == ["telegram_send_skipped", "telegram_chat_reachable_again"]
    assert logs[1]["reason"] == logs[2]["reason"] == reason
    assert sample(registry, "botfleet_telegram_sends_skipped_total") == 1
    assert CHAT not in repr(logs)


async def test_a_message_in_a_chat_never_marked_logs_nothing(sender: TelegramBotSender) -> None:
    with structlog.testing.capture_logs() as logs:
        sender.chat_active(CHAT)
    assert logs == []


async def test_other_refusals_do_not_mark_the_chat(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api["sendMessage"].mock(
        side_effect=[
            httpx.Response(400, json=load("api_error_400_chat_not_found")),
            httpx.Response(200, json=load("api_send_ok")),
        ]
    )
    await sender.send(CHAT, [Text("one")])
    await sender.send(CHAT, [Text("two")])
    assert route.call_count == 2


async def test_the_memory_of_unreachable_chats_is_bounded(
    sender: TelegramBotSender, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("botfleet.adapters.channels.telegram.chat_memory.MAX_UNREACHABLE", 2)
    for update_id, chat in enumerate(["1001", "1002", "1003"]):
        sender.chat_member_changed(update_id, change(chat, "blocked"))
    await sender.send("1001", [Text("forgotten: tried, and refused again")])
    await sender.send("1003", [Text("remembered")])
    assert [json.loads(c.request.content)["chat_id"] for c in api["sendMessage"].calls] == [1001]


async def test_a_migration_is_logged_once_with_hashed_chats(sender: TelegramBotSender) -> None:
    with structlog.testing.capture_logs() as logs:
        sender.chat_migrated(ChatMigration(OLD_GROUP, GROUP))  # the group's notice
        sender.chat_migrated(ChatMigration(OLD_GROUP, GROUP))  # the supergroup's
    (entry,) = logs
    assert entry["event"] == "telegram_group_migrated"
    assert entry["contact"] == hash_contact(TENANT, OLD_GROUP)
    assert entry["new_contact"] == hash_contact(TENANT, GROUP)
    assert "1234567890" not in repr(logs) and "4012345678" not in repr(logs)
