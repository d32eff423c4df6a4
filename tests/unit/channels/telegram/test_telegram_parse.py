"""Telegram updates (fixtures in the Bot API's documented shapes) -> typed messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.channels.telegram.parse import parse_update
from botfleet.domain.messages import OPTION_MENU, MessageType

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
SENT_AT = datetime.fromtimestamp(1714986000, UTC)
CHAT = "111111111"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


# fixture -> (type, text, extra entries that must be present)
CASES: dict[str, tuple[MessageType, str, dict[str, Any]]] = {
    "text": (MessageType.TEXT, "Hola, quiero pedir cita", {}),
    "command_start": (MessageType.TEXT, "/start", {}),
    "photo": (
        MessageType.IMAGE,
        "This haircut please",
        {"file_id": "AgACAgQAAxkBAAIBZ2Y-large", "media_kind": "photo"},
    ),
    "sticker": (MessageType.IMAGE, "", {"emoji": "😀", "media_kind": "sticker"}),
    "audio": (MessageType.AUDIO, "", {"mime_type": "audio/mpeg", "media_kind": "audio"}),
    "voice": (MessageType.AUDIO, "", {"mime_type": "audio/ogg", "media_kind": "voice"}),
    "video": (MessageType.VIDEO, "The salon entrance", {"media_kind": "video"}),
    "video_note": (MessageType.VIDEO, "", {"media_kind": "video_note"}),
    "animation": (MessageType.VIDEO, "", {"media_kind": "animation", "file_name": "funny.mp4"}),
    "document": (
        MessageType.DOCUMENT,
        "My voucher",
        {"file_name": "voucher.pdf", "mime_type": "application/pdf"},
    ),
    "location": (MessageType.LOCATION, "", {"latitude": 40.4168, "longitude": -3.7038}),
    "venue": (
        MessageType.LOCATION,
        "Puerta del Sol — Calle Mayor 1, Madrid",
        {"latitude": 40.4168, "name": "Puerta del Sol", "address": "Calle Mayor 1, Madrid"},
    ),
    "contact": (
        MessageType.CONTACTS,
        "Luis Pérez",
        {"contacts": [{"name": "Luis Pérez", "phones": ["+34600000000"]}]},
    ),
    "poll": (MessageType.UNSUPPORTED, "", {"provider_type": "poll"}),
    "dice": (MessageType.UNSUPPORTED, "", {"provider_type": "dice"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_message_type_becomes_a_typed_message(name: str) -> None:
    kind, text, extra = CASES[name]
    update = parse_update(load(name), received_at=RECEIVED)
    message = update.message
    assert message is not None, update.skipped
    assert update.update_id == load(name)["update_id"]
    assert (message.type, message.text, message.payload) == (kind, text, "")
    assert extra.items() <= message.extra.items()
    assert message.contact_id == CHAT
    assert message.message_id == f"{CHAT}:{load(name)['message']['message_id']}"
    assert message.contact_name == "Ana García"
    assert message.language == "es"
    assert message.timestamp == SENT_AT
    assert update.callback_query_id == ""
    json.dumps(message.extra)


def test_a_pressed_inline_button_is_a_button_reply_with_its_label() -> None:
    update = parse_update(load("callback_query"), received_at=RECEIVED)
    message = update.message
    assert message is not None
    assert (message.type, message.payload, message.text) == (
        MessageType.BUTTON_REPLY,
        "menu_book",
        "Book appointment",
    )
    assert message.message_id == f"{CHAT}:cb:4382bfdwdsb323b2d9"
    assert message.contact_id == CHAT
    assert message.extra == {"reply_to": f"{CHAT}:1366"}
    assert update.callback_query_id == "4382bfdwdsb323b2d9"


def test_a_button_sent_by_position_comes_back_as_the_typed_number() -> None:
    payload = load("callback_query")
    payload["callback_query"]["data"] = "#opt2"
    message = parse_update(payload, received_at=RECEIVED).message
    assert message is not None
    assert (message.type, message.text, message.payload) == (MessageType.TEXT, "2", "")


def test_a_button_sent_by_position_carries_its_menu_s_fingerprint() -> None:
    payload = load("callback_query")
    payload["callback_query"]["data"] = "#opt2.0123456789"
    message = parse_update(payload, received_at=RECEIVED).message
    assert message is not None
    assert (message.type, message.text, message.payload) == (MessageType.TEXT, "2", "")
    assert message.extra == {"reply_to": f"{CHAT}:1366", OPTION_MENU: "0123456789"}


@pytest.mark.parametrize(
    "data", ["#opt2.0123", "#opt2.01234567890", "#opt2.ABCDEF0123", "#opt0", "#opt2\n", "#opt"]
)
def test_data_that_only_looks_positional_is_an_ordinary_payload(data: str) -> None:
    payload = load("callback_query")
    payload["callback_query"]["data"] = data
    message = parse_update(payload, received_at=RECEIVED).message
    assert message is not None
    assert (message.type, message.payload) == (MessageType.BUTTON_REPLY, data)
    assert OPTION_MENU not in message.extra


def test_a_callback_without_a_message_answers_in_the_private_chat() -> None:
    payload = load("callback_query")
    del payload["callback_query"]["message"]
    message = parse_update(payload, received_at=RECEIVED).message
    assert message is not None
    assert message.contact_id == CHAT
    assert message.text == ""  # no keyboard to read the label from


def test_a_reaction_is_typed_and_namespaced_by_update() -> None:
    message = parse_update(load("message_reaction"), received_at=RECEIVED).message
    assert message is not None
    assert message.type is MessageType.REACTION
    assert message.text == "👍"
    assert message.message_id == f"{CHAT}:reaction:872000017"
    assert message.extra == {"emoji": "👍", "reacted_message_id": f"{CHAT}:1366"}


@pytest.mark.parametrize(
    ("new_reaction", "text", "custom_id"),
    [
        ([{"type": "custom_emoji", "custom_emoji_id": "5368324170671202286"}], "custom_emoji", ""),
        ([{"type": "paid"}], "paid", ""),
        ([{"type": "paid"}, {"type": "emoji", "emoji": "🔥"}], "🔥", ""),  # an emoji comes first
        ([], "", ""),  # removed
    ],
)
def test_a_reaction_without_an_emoji_is_not_read_as_removed(
    new_reaction: list[dict[str, str]], text: str, custom_id: str
) -> None:
    payload = load("message_reaction")
    payload["message_reaction"]["new_reaction"] = new_reaction
    message = parse_update(payload, received_at=RECEIVED).message
    assert message is not None
    assert message.text == message.extra["emoji"] == text
    if new_reaction and new_reaction[0].get("custom_emoji_id") and text == "custom_emoji":
        assert message.extra["custom_emoji_id"] == "5368324170671202286"
    else:
        assert "custom_emoji_id" not in message.extra


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("edited_message", "update:edited_message"),
        ("my_chat_member", "chat_member"),
        ("group_new_member", "service_message"),
    ],
)
def test_notices_and_edits_are_skipped(name: str, reason: str) -> None:
    update = parse_update(load(name), received_at=RECEIVED)
    assert update.message is None
    assert update.skipped == reason


def test_message_ids_are_unique_per_chat() -> None:
    first = load("text")
    other_chat = load("text")
    other_chat["message"]["chat"]["id"] = 222222222
    a = parse_update(first, received_at=RECEIVED).message
    b = parse_update(other_chat, received_at=RECEIVED).message
    assert a is not None and b is not None
    assert a.message_id != b.message_id  # same message_id 1365, different chats


def test_messages_from_bots_are_skipped() -> None:
    payload = load("text")
    payload["message"]["from"]["is_bot"] = True
    assert parse_update(payload, received_at=RECEIVED).skipped == "from_bot"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


@given(JSON)
def test_arbitrary_json_never_raises(payload: object) -> None:
    update = parse_update(payload, received_at=RECEIVED)
    if update.message is not None:  # only an update with an int id and a chat can get here
        assert isinstance(payload, dict)
        json.dumps(update.message.extra)


@given(
    st.dictionaries(
        st.sampled_from(["message_id", "chat", "from", "text", "photo", "location", "date"]),
        JSON,
    )
)
def test_arbitrary_message_objects_never_raise(message: dict[str, Any]) -> None:
    update = parse_update({"update_id": 1, "message": message}, received_at=RECEIVED)
    if update.message is not None:
        json.dumps(update.message.extra)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("/start@salon_ana_bot", "/start"),
        ("/book@SalonAnaBot tomorrow", "/book tomorrow"),
        ("/start", "/start"),
        ("/start@someone", "/start@someone"),  # not a bot's username: left as written
        ("/start@salon_ana_bottle", "/start@salon_ana_bottle"),
        ("mail me at ana@salon_bot", "mail me at ana@salon_bot"),  # not a command
    ],
)
def test_a_command_addressed_to_the_bot_in_a_group_reads_as_the_command(
    written: str, read: str
) -> None:
    raw = load("command_start")
    raw["message"]["text"] = written
    message = parse_update(raw, received_at=RECEIVED).message
    assert message is not None
    assert message.text == read
