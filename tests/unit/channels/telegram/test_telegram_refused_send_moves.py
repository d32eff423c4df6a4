"""A send refused because the group became a supergroup (`migrate_to_chat_id`) asks for the
group's conversation to move there, as the migration notice does: once per pair, only for a
basic group's id becoming a supergroup's, and never failing the send when it cannot be asked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog

from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.adapters.channels.telegram.parse import ChatMigration, group_to_supergroup
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.errors import Overloaded
from botfleet.domain.outputs import Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OLD_GROUP = "-4012345678"
SUPERGROUP = "-1001234567890"
PERSON = "111111111"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = load("api_send_ok")


def refusal(new_chat_id: str) -> dict[str, Any]:
    body = load("api_error_400_migrated")
    body["parameters"]["migrate_to_chat_id"] = int(new_chat_id)
    return body


def chat_ids(route: respx.Route) -> list[int]:
    return [json.loads(call.request.content)["chat_id"] for call in route.calls]


class Moves:
    """Stands in for the runtime's `move_contact`: records what it is asked to queue."""

    def __init__(self, error: Exception | None = None) -> None:
        self.asked: list[tuple[str, str]] = []
        self.error = error

    def __call__(self, old_contact_id: str, new_contact_id: str) -> object:
        self.asked.append((old_contact_id, new_contact_id))
        if self.error is not None:
            raise self.error
        return None


@pytest.fixture
def moves(sender: TelegramBotSender) -> Moves:
    spy = Moves()
    sender.queue_moves_with(spy)
    return spy


async def test_a_send_refused_for_the_upgrade_queues_the_groups_move(
    sender: TelegramBotSender, api: respx.MockRouter, moves: Moves
) -> None:
    route = api["sendMessage"].mock(
        side_effect=[httpx.Response(400, json=refusal(SUPERGROUP)), httpx.Response(200, json=OK)]
    )
    outcome = await sender.send(OLD_GROUP, [Text("which day?")])
    assert chat_ids(route) == [int(OLD_GROUP), int(SUPERGROUP)]
    assert (outcome.sent, outcome.failed) == (1, 0)
    assert moves.asked == [(OLD_GROUP, SUPERGROUP)]


async def test_a_sender_built_with_the_move_queues_it_too(
    settings_raw: dict[str, Any], api: respx.MockRouter
) -> None:
    api["sendMessage"].mock(
        side_effect=[httpx.Response(400, json=refusal(SUPERGROUP)), httpx.Response(200, json=OK)]
    )
    moves = Moves()
    async with httpx.AsyncClient() as http:
        sender = TelegramBotSender(
            telegram_settings(settings_raw), HttpxProvider(http), move_contact=moves
        )
        await sender.send(OLD_GROUP, [Text("which day?")])
    assert moves.asked == [(OLD_GROUP, SUPERGROUP)]


async def test_later_sends_of_the_turn_go_to_the_supergroup_and_ask_nothing_more(
    sender: TelegramBotSender, api: respx.MockRouter, moves: Moves
) -> None:
    route = api["sendMessage"].mock(
        side_effect=[httpx.Response(400, json=refusal(SUPERGROUP))]
        + [httpx.Response(200, json=OK)] * 3
    )
    await sender.send(OLD_GROUP, [Text("one"), Text("two")])
    await sender.send(OLD_GROUP, [Text("a reminder, later")])
    assert chat_ids(route) == [int(OLD_GROUP)] + [int(SUPERGROUP)] * 3
    assert moves.asked == [(OLD_GROUP, SUPERGROUP)]


@pytest.fixture
async def slow_api_sender(
    settings_raw: dict[str, Any],
) -> AsyncIterator[tuple[TelegramBotSender, list[int]]]:
    """A sender on a Bot API that answers the old group's sends only once two are waiting:
    both are refused before either refusal is known."""
    posted: list[int] = []
    both_waiting = asyncio.Event()

    async def reply(request: httpx.Request) -> httpx.Response:
        chat_id = json.loads(request.content)["chat_id"]
        posted.append(chat_id)
        if chat_id != int(OLD_GROUP):
            return httpx.Response(200, json=OK)
        if posted.count(int(OLD_GROUP)) == 2:
            both_waiting.set()
        await both_waiting.wait()
        return httpx.Response(400, json=refusal(SUPERGROUP))

    transport = httpx.MockTransport(reply)
    async with httpx.AsyncClient(transport=transport) as http:
        yield TelegramBotSender(telegram_settings(settings_raw), HttpxProvider(http)), posted


async def test_two_sends_refused_at_once_queue_one_move(
    slow_api_sender: tuple[TelegramBotSender, list[int]],
) -> None:
    sender, posted = slow_api_sender
    moves = Moves()
    sender.queue_moves_with(moves)
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            sender.send(OLD_GROUP, [Text("the turn's reply")]),
            sender.send(OLD_GROUP, [Text("another send of it")]),
        ),
        timeout=5,
    )
    assert sorted(posted) == [int(SUPERGROUP)] * 2 + [int(OLD_GROUP)] * 2
    assert [(o.sent, o.failed) for o in outcomes] == [(1, 0), (1, 0)]
    assert moves.asked == [(OLD_GROUP, SUPERGROUP)]


NOT_UPGRADES = {
    "a-person-to-a-supergroup": (PERSON, SUPERGROUP),
    "a-group-to-a-group": (OLD_GROUP, "-4099999999"),
    "a-group-to-a-person": (OLD_GROUP, PERSON),
    "a-supergroup-to-another": (SUPERGROUP, "-1009999999999"),
    "a-forum-topic": (f"{SUPERGROUP}:topic:7", "-1009999999999"),
    "a-channel-name": ("@salon_news", SUPERGROUP),
}


@pytest.mark.parametrize("case", NOT_UPGRADES.values(), ids=NOT_UPGRADES.keys())
async def test_a_refusal_that_is_no_group_upgrade_moves_nothing(
    sender: TelegramBotSender, api: respx.MockRouter, moves: Moves, case: tuple[str, str]
) -> None:
    contact, named = case
    api["sendMessage"].mock(
        side_effect=[httpx.Response(400, json=refusal(named)), httpx.Response(200, json=OK)]
    )
    await sender.send(contact, [Text("hello")])
    assert moves.asked == []


async def test_a_move_that_cannot_be_queued_is_logged_and_the_message_still_goes_out(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    moves = Moves(Overloaded("1000 contact moves wait to start"))
    sender.queue_moves_with(moves)
    route = api["sendMessage"].mock(
        side_effect=[httpx.Response(400, json=refusal(SUPERGROUP)), httpx.Response(200, json=OK)]
    )
    with structlog.testing.capture_logs() as logs:
        outcome = await sender.send(OLD_GROUP, [Text("which day?")])
    assert chat_ids(route) == [int(OLD_GROUP), int(SUPERGROUP)]
    assert (outcome.sent, outcome.failed) == (1, 0)
    assert moves.asked == [(OLD_GROUP, SUPERGROUP)]
    warning = next(e for e in logs if e["event"] == "telegram_contact_move_not_queued")
    assert warning["error"] == "Overloaded"
    assert warning["contact"] == sender.contacts.hash(OLD_GROUP)
    assert warning["new_contact"] == sender.contacts.hash(SUPERGROUP)
    assert OLD_GROUP not in repr(logs) and SUPERGROUP not in repr(logs)


async def test_a_move_that_could_not_be_queued_is_asked_again_at_the_next_send(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    # The first refusal finds the moves' backlog full; the next send under the old id (the
    # group's next reminder, sent to the supergroup at once) asks again, and only once.
    moves = Moves(Overloaded("1000 contact moves wait to start"))
    sender.queue_moves_with(moves)
    route = api["sendMessage"].mock(
        side_effect=[
            httpx.Response(400, json=refusal(SUPERGROUP)),
            httpx.Response(200, json=OK),
            httpx.Response(200, json=OK),
            httpx.Response(200, json=OK),
        ]
    )
    await sender.send(OLD_GROUP, [Text("which day?")])
    moves.error = None
    await sender.send(OLD_GROUP, [Text("reminder")])
    await sender.send(OLD_GROUP, [Text("another")])
    assert chat_ids(route) == [int(OLD_GROUP), *[int(SUPERGROUP)] * 3]
    assert moves.asked == [(OLD_GROUP, SUPERGROUP), (OLD_GROUP, SUPERGROUP)]


@pytest.mark.parametrize(
    ("old", "new", "upgrade"),
    [
        (OLD_GROUP, SUPERGROUP, True),
        (OLD_GROUP, OLD_GROUP, False),
        (SUPERGROUP, SUPERGROUP, False),
        (PERSON, SUPERGROUP, False),
        (f" {OLD_GROUP}", SUPERGROUP, False),  # int() would take it
        ("-40_12345678", SUPERGROUP, False),  # and this
        ("-\u0664\u0660\u0661\u0662", SUPERGROUP, False),  # and non-ASCII digits
        ("-", SUPERGROUP, False),
        ("", SUPERGROUP, False),
        (OLD_GROUP, f"{SUPERGROUP}:topic:1", False),
    ],
)
def test_only_a_basic_groups_id_then_a_supergroups_is_a_group_upgrade(
    old: str, new: str, upgrade: bool
) -> None:
    assert group_to_supergroup(ChatMigration(old, new)) is upgrade
