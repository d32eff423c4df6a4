"""Telegram groups with privacy mode off: what addresses a message to the bot, and the bot's
username (the `bot_username` setting, else getMe, asked once)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram import TelegramBotSender, TelegramMetrics
from botfleet.adapters.channels.telegram.parse import GroupAddress, parse_update, without_mention
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.errors import ConfigError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
BOT_ID = 7000000001  # the fixtures' bot (`api_get_me`)
BOT = "peluqueria_ana_bot"
TOKEN = f"{BOT_ID}:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def address(update: Any) -> GroupAddress:
    parsed = parse_update(update, received_at=RECEIVED)
    assert parsed.message is not None
    assert parsed.group is not None
    return parsed.group


def group_text(text: str, *entities: dict[str, Any]) -> Any:
    update = load("group_text")
    update["message"]["text"] = text
    if entities:
        update["message"]["entities"] = list(entities)
    return update


def entity(kind: str, text: str, word: str, **more: Any) -> dict[str, Any]:
    """An entity over `word` in `text`, offsets in UTF-16 code units as the Bot API counts."""
    start = text.index(word)
    units = len(text[:start].encode("utf-16-le")) // 2
    return {"type": kind, "offset": units, "length": len(word.encode("utf-16-le")) // 2, **more}


def addressed(update: Any, username: str | None = BOT) -> bool:
    return address(update).to_bot(BOT_ID, username)


def test_private_chats_carry_no_group_address() -> None:
    for name in ("text", "command_start", "callback_query", "message_reaction"):
        assert parse_update(load(name), received_at=RECEIVED).group is None


def test_group_chatter_is_not_addressed_to_the_bot() -> None:
    assert not addressed(load("group_text"))


def test_a_mention_of_the_bot_addresses_it() -> None:
    group = address(load("group_mention"))
    assert group.needs_username
    assert group.to_bot(BOT_ID, BOT)
    assert group.to_bot(BOT_ID, "Peluqueria_Ana_Bot")  # usernames ignore case
    assert not group.to_bot(BOT_ID, None)  # unknown username: cannot tell, not answered


def test_a_mention_after_emoji_is_found_by_utf16_offsets() -> None:
    text = "😀😀 hola @peluqueria_ana_bot"
    assert addressed(group_text(text, entity("mention", text, f"@{BOT}")))


@pytest.mark.parametrize(
    ("text", "kind", "word", "more", "expected"),
    [
        ("hi @ana_g, coffee?", "mention", "@ana_g", {}, False),
        ("/start", "bot_command", "/start", {}, True),  # given to every bot of the group
        (f"/book@{BOT} tomorrow", "bot_command", f"/book@{BOT}", {}, True),
        ("/start@other_salon_bot", "bot_command", "/start@other_salon_bot", {}, False),
        ("try /start later", "bot_command", "/start", {}, False),  # not opening the message
        ("Ana, can you help?", "text_mention", "Ana", {"user": {"id": 111111111}}, False),
        ("Bot, can you help?", "text_mention", "Bot", {"user": {"id": BOT_ID}}, True),
    ],
)
def test_what_addresses_a_group_message_to_the_bot(
    text: str, kind: str, word: str, more: dict[str, Any], expected: bool
) -> None:
    assert addressed(group_text(text, entity(kind, text, word, **more))) is expected


def test_a_reply_to_the_bot_s_message_addresses_it_by_id_alone() -> None:
    group = address(load("group_reply_to_bot"))
    assert not group.needs_username
    assert group.to_bot(BOT_ID, None)


@pytest.mark.parametrize(
    "author",
    [
        {"id": 111111111, "is_bot": False, "first_name": "Ana", "username": BOT},
        {"id": 7000000002, "is_bot": True, "first_name": "Other", "username": "other_salon_bot"},
    ],
)
def test_a_reply_to_someone_else_does_not_address_the_bot(author: dict[str, Any]) -> None:
    update = load("group_reply_to_bot")
    update["message"]["reply_to_message"]["from"] = author
    assert not addressed(update)


def test_a_forum_topic_s_opening_notice_is_no_reply_to_the_bot() -> None:
    update = load("group_reply_to_bot")
    message = update["message"]
    message["is_topic_message"] = True
    message["message_thread_id"] = 42
    del message["reply_to_message"]["text"]
    message["reply_to_message"]["forum_topic_created"] = {"name": "Bookings", "icon_color": 1}
    assert not addressed(update)


def test_a_caption_mention_addresses_the_bot() -> None:
    update = load("photo")
    caption = f"@{BOT} this haircut please"
    update["message"].update(
        chat=load("group_text")["message"]["chat"],
        caption=caption,
        caption_entities=[entity("mention", caption, f"@{BOT}")],
    )
    assert addressed(update)


def test_a_group_reaction_is_never_addressed_to_the_bot() -> None:
    update = load("message_reaction")
    update["message_reaction"]["chat"] = load("group_text")["message"]["chat"]
    assert not addressed(update)


@pytest.mark.parametrize(
    "entities",
    [
        [{"type": "mention", "offset": "0", "length": 5}],
        [{"type": "mention", "offset": -3, "length": 5}],
        [{"type": "mention", "offset": 10**6, "length": 10**6}],
        [{"type": "text_mention", "offset": 0, "length": 2, "user": {"id": "7000000001"}}],
        [{"type": "bot_command", "offset": 0, "length": 2**40}],
        "not a list",
    ],
)
def test_malformed_entities_never_raise(entities: object) -> None:
    update = group_text("\ud800 lone surrogate")
    update["message"]["entities"] = entities
    address(update).to_bot(BOT_ID, BOT)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        (f"@{BOT} 2", "2"),
        (f"@{BOT}, quiero pedir cita", "quiero pedir cita"),
        (f"2 @{BOT}", "2"),
        ("@Peluqueria_Ana_Bot hola", "hola"),
        (f"ask @{BOT} about prices", f"ask @{BOT} about prices"),  # said about the bot
        (f"@{BOT}x hola", f"@{BOT}x hola"),  # another username
        (f"write to ana@{BOT}", f"write to ana@{BOT}"),  # not a mention
        (f"@{BOT}", ""),
    ],
)
def test_the_bot_s_mention_at_either_end_is_not_part_of_the_text(written: str, read: str) -> None:
    message = parse_update(group_text(written), received_at=RECEIVED).message
    assert message is not None
    assert without_mention(message, BOT).text == read


# ---------------------------------------------------------------- the bot's username


@pytest.fixture
async def sender(registry: CollectorRegistry) -> Any:
    raw = {"bot_token": TOKEN, "webhook_secret": "s", "api_base_url": "https://tg.test"}
    async with httpx.AsyncClient() as http:
        yield TelegramBotSender(
            telegram_settings(raw), HttpxProvider(http), metrics=TelegramMetrics(registry)
        )


def test_the_bot_id_is_the_token_s_number_and_the_username_loses_its_at() -> None:
    settings = telegram_settings(
        {"bot_token": TOKEN, "webhook_secret": "s", "bot_username": f"@{BOT}"}
    )
    assert (settings.bot_id, settings.bot_username) == (BOT_ID, BOT)


@pytest.mark.parametrize("username", ["ab", "has space_bot", "1starts_with_digit_bot", "x" * 33])
def test_a_username_telegram_would_not_give_is_refused(username: str) -> None:
    with pytest.raises(ConfigError, match=r"channel\.bot_username"):
        telegram_settings({"bot_token": TOKEN, "webhook_secret": "s", "bot_username": username})


async def test_getme_is_asked_once_for_the_username(
    sender: TelegramBotSender, registry: CollectorRegistry
) -> None:
    with respx.mock(base_url=f"https://tg.test/bot{TOKEN}") as api:
        route = api.post("/getMe").mock(return_value=httpx.Response(200, json=load("api_get_me")))
        assert await sender.bot_username() == BOT
        assert await sender.bot_username() == BOT
    assert route.call_count == 1
    labels = {"method": "getMe", "outcome": "ok"}
    assert registry.get_sample_value("botfleet_telegram_api_requests_total", labels) == 1


async def test_an_unreachable_bot_api_leaves_the_username_unknown(
    sender: TelegramBotSender,
) -> None:
    with respx.mock(base_url=f"https://tg.test/bot{TOKEN}") as api:
        api.post("/getMe").mock(side_effect=httpx.ConnectError("refused"))
        with structlog.testing.capture_logs() as logs:
            assert await sender.bot_username() is None
    assert [e["event"] for e in logs] == ["telegram_username_unknown"]


async def test_a_configured_username_needs_no_getme(registry: CollectorRegistry) -> None:
    raw = {"bot_token": TOKEN, "webhook_secret": "s", "bot_username": BOT}
    async with httpx.AsyncClient() as http:
        sender = TelegramBotSender(telegram_settings(raw), HttpxProvider(http))
        with respx.mock(assert_all_called=False):  # any request would fail the test
            assert await sender.bot_username() == BOT


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, load("api_error_401")),
        (200, {"ok": True, "result": {"id": BOT_ID, "is_bot": True}}),  # no username
        (502, "Bad Gateway"),
    ],
)
async def test_a_failed_getme_is_logged_and_not_asked_again_at_once(
    sender: TelegramBotSender, status: int, body: object
) -> None:
    with respx.mock(base_url=f"https://tg.test/bot{TOKEN}") as api:
        answer = httpx.Response(status, text=body) if isinstance(body, str) else None
        route = api.post("/getMe").mock(return_value=answer or httpx.Response(status, json=body))
        with structlog.testing.capture_logs() as logs:
            assert await sender.bot_username() is None
            assert await sender.bot_username() is None  # within the pause: not asked again
    assert route.call_count == 1
    assert [e["event"] for e in logs] == ["telegram_username_unknown"]
    assert TOKEN not in json.dumps(logs, default=str)
