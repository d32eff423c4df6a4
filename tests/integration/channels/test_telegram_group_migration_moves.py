"""A Telegram group that becomes a supergroup, through the real data plane (webhook, runtime,
stores, scheduler): its conversation and its reminder follow it to the supergroup's chat id, in
whichever order the two notices come, and however often; and when no notice came, on the first
send Telegram refuses because the group moved (`migrate_to_chat_id`)."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
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
    fixture,
)

from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.contact_hash import hash_contact
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.tenant_config import Binding, TenantConfig
from botfleet.testing.clock import FrozenClock
from botfleet.testing.scheduling import ManualScheduler

OLD_GROUP, SUPERGROUP = "-4012345678", "-1001234567890"
START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
AUTH = {SECRET_HEADER: WEBHOOK_SECRET}

#: `/book` asks for a day and schedules a reminder an hour later (default key: by contact).
FLOW: dict[str, Any] = {
    "id": "salon_groups",
    "initial_state": "MENU",
    "tasks": {
        "reminder": [
            {"action": "send_text", "text": "Reminder: pick a day for the {{ data.service }}"}
        ]
    },
    "states": {
        "MENU": {
            "on_enter": [{"action": "send_text", "text": "Hi! Write /book"}],
            "transitions": [
                {
                    "condition": "message.text == '/book'",
                    "set_data": {"service": "haircut"},
                    "target": "ASK_DAY",
                }
            ],
            "fallback": "MENU",
        },
        "ASK_DAY": {
            "on_enter": [
                {"action": "schedule_task", "task": "reminder", "delay": "1h"},
                {"action": "send_text", "text": "Which day for the {{ data.service }}?"},
            ],
            "transitions": [{"on_type": "text", "target": "BOOKED"}],
            "fallback": "ASK_DAY",
        },
        "BOOKED": {
            "on_enter": [
                {"action": "send_text", "text": "Booked the {{ data.service }}: {{ message.text }}"}
            ],
            "fallback": "MENU",
        },
    },
}


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def data_plane(
    kind: str, tmp_path: Path, provider: FakeProvider | None = None
) -> AsyncIterator[tuple[DataPlane, ManualScheduler]]:
    clock = FrozenClock(START)
    scheduler = ManualScheduler(clock, tenant_id="salon")
    channel = {**TELEGRAM_CHANNEL, "bot_username": "salon_bot"}
    config = TenantConfig(tenant_id="salon", flow=FLOW, channel=Binding(**channel))
    settings = DataPlaneSettings.model_validate({"log_json": False})
    provider = provider or bot_api()
    async with (
        InMemoryTenantStore()
        if kind == "memory"
        else SqliteTenantStore.open(tmp_path / "state.db") as stores,
        httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http,
    ):
        overrides = Overrides(
            clock=clock, stores=stores, http=HttpxProvider(http), scheduler=scheduler
        )
        app = create_app(settings, config=config, overrides=overrides)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://dp.test"
            ) as client,
        ):
            yield DataPlane(app, client, provider), scheduler


def group_text(update_id: int, chat_id: str, text: str) -> Any:
    """A member's text in the group (or supergroup), addressed to the bot: a command opening
    it, or a mention of the bot."""
    update = copy.deepcopy(fixture("telegram", "group_mention"))
    message = update["message"]
    update["update_id"], message["message_id"] = update_id, update_id
    message["chat"] = {
        "id": int(chat_id),
        "title": "Salon friends",
        "type": "supergroup" if chat_id == SUPERGROUP else "group",
    }
    kind = "bot_command" if text.startswith("/") else "mention"
    length = len(text.split()[0])
    message["text"], message["entities"] = text, [{"offset": 0, "length": length, "type": kind}]
    return update


async def post(dp: DataPlane, update: Any) -> None:
    response = await dp.client.post("/webhook", json=update, headers=AUTH)
    assert response.status_code == 200, response.text


def sent(dp: DataPlane) -> list[tuple[int, str]]:
    return [(b["chat_id"], b["text"]) for b in dp.provider.bodies(f"/bot{BOT_TOKEN}/sendMessage")]


async def book_in_the_old_group(dp: DataPlane) -> None:
    await post(dp, group_text(1, OLD_GROUP, "/book"))
    await dp.settle()
    assert sent(dp) == [(int(OLD_GROUP), "Which day for the haircut?")]


NOTICES = {
    "to-then-from": ["group_migrate_to", "supergroup_migrate_from"],
    "from-then-to": ["supergroup_migrate_from", "group_migrate_to"],
    "one-replayed": ["group_migrate_to", "group_migrate_to", "supergroup_migrate_from"],
}


@pytest.mark.parametrize("notices", NOTICES.values(), ids=NOTICES.keys())
async def test_the_supergroup_goes_on_where_the_group_was_and_gets_its_reminder_once(
    store_kind: str, tmp_path: Path, notices: list[str]
) -> None:
    async with data_plane(store_kind, tmp_path) as (dp, scheduler):
        await book_in_the_old_group(dp)
        with structlog.testing.capture_logs() as logs:
            for name in notices:
                await post(dp, fixture("telegram", name))
            await dp.settle()
        moves = [e for e in logs if e["event"] == "contact_moved"]
        assert [(e["conversation"], e["tasks_moved"]) for e in moves] == [("moved", 1)]
        assert moves[0]["contact"] == hash_contact("salon", OLD_GROUP)
        assert moves[0]["new_contact"] == hash_contact("salon", SUPERGROUP)
        assert OLD_GROUP not in repr(logs) and SUPERGROUP not in repr(logs)
        assert [(j.contact_id, j.key) for j in await scheduler.jobs()] == [
            (SUPERGROUP, f"reminder:{SUPERGROUP}")
        ]

        await post(dp, group_text(2, SUPERGROUP, "@salon_bot Tuesday"))
        await dp.settle()
        # From ASK_DAY, with its data: a new conversation would have answered "Hi! Write /book".
        assert sent(dp)[1:] == [(int(SUPERGROUP), "Booked the haircut: Tuesday")]

        runs = await scheduler.advance(hours=2)
        await dp.settle()
        assert [r.contact_id for r in runs] == [SUPERGROUP]
        assert sent(dp)[2:] == [(int(SUPERGROUP), "Reminder: pick a day for the haircut")]
        assert await dp.runtime.states.load(OLD_GROUP) is None


async def test_a_supergroup_that_already_talked_keeps_its_conversation(
    store_kind: str, tmp_path: Path
) -> None:
    async with data_plane(store_kind, tmp_path) as (dp, scheduler):
        await book_in_the_old_group(dp)
        # Its first message was answered before the notice came: never overwritten.
        await post(dp, group_text(2, SUPERGROUP, "@salon_bot hello"))
        await dp.settle()
        with structlog.testing.capture_logs() as logs:
            await post(dp, fixture("telegram", "group_migrate_to"))
            await dp.settle()
        moves = [e for e in logs if e["event"] == "contact_moved"]
        assert [(e["conversation"], e["tasks_moved"]) for e in moves] == [("taken", 0)]
        old = await dp.runtime.states.load(OLD_GROUP)
        new = await dp.runtime.states.load(SUPERGROUP)
        assert (old and old.node, new and new.node) == ("ASK_DAY", "MENU")

        # The old conversation keeps its reminder, sent to where the group now is, once.
        await scheduler.advance(hours=2)
        await dp.settle()
        reminders = [s for s in sent(dp) if s[1].startswith("Reminder")]
        assert reminders == [(int(SUPERGROUP), "Reminder: pick a day for the haircut")]


async def test_a_reminder_due_while_the_move_waited_runs_in_the_moved_conversation(
    store_kind: str, tmp_path: Path
) -> None:
    async with data_plane(store_kind, tmp_path) as (dp, scheduler):
        await book_in_the_old_group(dp)
        gate = asyncio.Event()
        busy = dp.runtime.after_turns(OLD_GROUP, gate.wait)  # the group's turn still running
        await post(dp, fixture("telegram", "group_migrate_to"))  # the move waits behind it
        # The reminder falls due meanwhile: out of the job file, queued behind the move.
        advancing = asyncio.create_task(scheduler.advance(hours=2))
        for _ in range(100):
            if scheduler.runs:
                break
            await asyncio.sleep(0)
        assert scheduler.runs
        gate.set()
        await busy
        await advancing
        await dp.settle()

        assert sent(dp)[1:] == [(int(SUPERGROUP), "Reminder: pick a day for the haircut")]
        assert await dp.runtime.states.load(OLD_GROUP) is None  # not run in a new one there
        rows = await dp.runtime.outbox.since()
        assert [r["contact_id"] for r in rows] == [OLD_GROUP, SUPERGROUP]


async def test_the_supergroups_message_after_the_notice_waits_for_the_move(
    store_kind: str, tmp_path: Path
) -> None:
    async with data_plane(store_kind, tmp_path) as (dp, _):
        await book_in_the_old_group(dp)
        gate = asyncio.Event()
        busy = dp.runtime.after_turns(OLD_GROUP, gate.wait)  # the group's turn still running
        await post(dp, fixture("telegram", "supergroup_migrate_from"))
        await post(dp, group_text(2, SUPERGROUP, "@salon_bot Tuesday"))
        for _ in range(20):  # the supergroup's turn would run now if it did not wait
            await asyncio.sleep(0)
        gate.set()
        await busy
        await dp.settle()
        assert sent(dp)[1:] == [(int(SUPERGROUP), "Booked the haircut: Tuesday")]


async def test_a_notice_naming_its_own_chat_moves_nothing(store_kind: str, tmp_path: Path) -> None:
    async with data_plane(store_kind, tmp_path) as (dp, _):
        await book_in_the_old_group(dp)
        notice = fixture("telegram", "group_migrate_to")
        notice["message"]["migrate_to_chat_id"] = int(OLD_GROUP)
        with structlog.testing.capture_logs() as logs:
            await post(dp, notice)
            await dp.settle()
        assert "contact_moved" not in [e["event"] for e in logs]
        state = await dp.runtime.states.load(OLD_GROUP)
        assert state is not None and state.node == "ASK_DAY"


PERSON, OTHER_PERSON = "111111111", "222222222"
#: (the chat with a conversation and a reminder, the notice's chat and its type, the field, the
#: chat id it names): notices Telegram never sends, each aimed at that conversation.
NOT_MIGRATIONS = {
    "person-takes-anothers": (
        OTHER_PERSON,
        PERSON,
        "private",
        "migrate_from_chat_id",
        OTHER_PERSON,
    ),
    "person-gives-to-another": (PERSON, PERSON, "private", "migrate_to_chat_id", OTHER_PERSON),
    "supergroup-takes-a-person": (PERSON, SUPERGROUP, "supergroup", "migrate_from_chat_id", PERSON),
    "group-to-a-group": (OLD_GROUP, OLD_GROUP, "group", "migrate_to_chat_id", "-4099999999"),
}


@pytest.mark.parametrize("case", NOT_MIGRATIONS.values(), ids=NOT_MIGRATIONS.keys())
async def test_a_notice_that_is_not_a_group_upgrade_moves_nothing(
    store_kind: str, tmp_path: Path, case: tuple[str, str, str, str, str]
) -> None:
    booked, chat, chat_type, field, named = case
    async with data_plane(store_kind, tmp_path) as (dp, scheduler):
        await post(dp, group_text(1, booked, "/book"))
        await dp.settle()
        notice = fixture("telegram", "group_migrate_to")
        del notice["message"]["migrate_to_chat_id"]
        notice["message"]["chat"] = {"id": int(chat), "type": chat_type}
        notice["message"][field] = int(named)
        with structlog.testing.capture_logs() as logs:
            await post(dp, notice)
            await dp.settle()
        assert "contact_moved" not in [e["event"] for e in logs]
        state = await dp.runtime.states.load(booked)
        assert state is not None and state.node == "ASK_DAY"
        assert [j.contact_id for j in await scheduler.jobs()] == [booked]
        # Nor are the booked chat's sends redirected to another chat.
        await scheduler.advance(hours=2)
        await dp.settle()
        assert sent(dp)[-1] == (int(booked), "Reminder: pick a day for the haircut")


# ------------------------------------------------- no notice: a send refused for the upgrade


def upgraded(old: str, new: str) -> Any:
    """The Bot API's answers once chat `old` became `new`: a send to `old` is refused, naming
    `new` (`migrate_to_chat_id`); every other is accepted."""
    ok = fixture("telegram", "api_send_ok")
    refused = fixture("telegram", "api_error_400_migrated")
    refused["parameters"]["migrate_to_chat_id"] = int(new)

    def reply(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("chat_id") == int(old):
            return httpx.Response(400, json=refused)
        return httpx.Response(200, json=ok)

    return reply


async def settle(dp: DataPlane) -> None:
    # A move awaited inside the turn that asked for it would wait for that turn for good.
    await asyncio.wait_for(dp.settle(), timeout=5)


async def the_supergroup_goes_on(dp: DataPlane, scheduler: ManualScheduler) -> None:
    assert await dp.runtime.states.load(OLD_GROUP) is None
    moved = await dp.runtime.states.load(SUPERGROUP)
    assert moved is not None and moved.node == "ASK_DAY"
    assert moved.data["service"] == "haircut"
    before = len(sent(dp))
    await post(dp, group_text(9, SUPERGROUP, "@salon_bot Tuesday"))
    await settle(dp)
    # From ASK_DAY, with its data: a new conversation would have answered "Hi! Write /book".
    assert sent(dp)[before:] == [(int(SUPERGROUP), "Booked the haircut: Tuesday")]


async def test_a_reply_refused_for_the_upgrade_moves_the_conversation_and_its_reminder(
    store_kind: str, tmp_path: Path
) -> None:
    # The group was upgraded unseen (the webhook was down, or the notice lost).
    provider = FakeProvider(upgraded(OLD_GROUP, SUPERGROUP))
    async with data_plane(store_kind, tmp_path, provider) as (dp, scheduler):
        with structlog.testing.capture_logs() as logs:
            await post(dp, group_text(1, OLD_GROUP, "/book"))
            await settle(dp)
        assert sent(dp) == [
            (int(OLD_GROUP), "Which day for the haircut?"),  # refused
            (int(SUPERGROUP), "Which day for the haircut?"),
        ]
        moves = [e for e in logs if e["event"] == "contact_moved"]
        assert [(e["conversation"], e["tasks_moved"]) for e in moves] == [("moved", 1)]
        assert moves[0]["new_contact"] == hash_contact("salon", SUPERGROUP)
        assert [(j.contact_id, j.key) for j in await scheduler.jobs()] == [
            (SUPERGROUP, f"reminder:{SUPERGROUP}")
        ]

        await the_supergroup_goes_on(dp, scheduler)

        before = len(sent(dp))
        runs = await scheduler.advance(hours=2)
        await settle(dp)
        assert [r.contact_id for r in runs] == [SUPERGROUP]
        assert sent(dp)[before:] == [(int(SUPERGROUP), "Reminder: pick a day for the haircut")]


async def test_a_reminder_refused_for_the_upgrade_moves_the_conversation(
    store_kind: str, tmp_path: Path
) -> None:
    async with data_plane(store_kind, tmp_path) as (dp, scheduler):
        await book_in_the_old_group(dp)
        dp.provider.reply = upgraded(OLD_GROUP, SUPERGROUP)  # upgraded now, unseen
        with structlog.testing.capture_logs() as logs:
            await scheduler.advance(hours=2)
            await settle(dp)
        assert sent(dp)[1:] == [
            (int(OLD_GROUP), "Reminder: pick a day for the haircut"),  # refused
            (int(SUPERGROUP), "Reminder: pick a day for the haircut"),
        ]
        moves = [e for e in logs if e["event"] == "contact_moved"]
        assert [e["conversation"] for e in moves] == ["moved"]

        await the_supergroup_goes_on(dp, scheduler)


REFUSALS_NOT_UPGRADES = {
    "a-person-named-a-supergroup": (PERSON, SUPERGROUP),
    "a-group-named-a-group": (OLD_GROUP, "-4099999999"),
}


@pytest.mark.parametrize("case", REFUSALS_NOT_UPGRADES.values(), ids=REFUSALS_NOT_UPGRADES.keys())
async def test_a_refusal_that_is_no_group_upgrade_moves_nothing(
    store_kind: str, tmp_path: Path, case: tuple[str, str]
) -> None:
    booked, named = case
    async with data_plane(store_kind, tmp_path) as (dp, scheduler):
        await post(dp, group_text(1, booked, "/book"))
        await settle(dp)
        dp.provider.reply = upgraded(booked, named)
        with structlog.testing.capture_logs() as logs:
            await post(dp, group_text(2, booked, "@salon_bot Tuesday"))
            await settle(dp)
        assert len(sent(dp)) == 3  # the reply was refused, then sent where Telegram said
        assert "contact_moved" not in [e["event"] for e in logs]
        state = await dp.runtime.states.load(booked)
        assert state is not None and state.node == "BOOKED"
        assert await dp.runtime.states.load(named) is None
        assert [j.contact_id for j in await scheduler.jobs()] == [booked]
