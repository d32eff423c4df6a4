"""Group messages sent on behalf of a chat: an anonymous admin's (the group itself) and a
member's writing as their channel are a person's, though `from` is a fake bot user; a linked
channel's post copied into its discussion group is skipped, as channel posts are."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botfleet.adapters.channels.telegram.parse import parse_update
from botfleet.domain.messages import MessageType

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
BOT_ID = 7000000001
BOT = "peluqueria_ana_bot"
GROUP = "-1001234567890"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def test_an_anonymous_admins_command_reaches_the_flow() -> None:
    update = parse_update(load("group_anonymous_admin"), received_at=RECEIVED)
    assert update.skipped == ""
    assert update.message is not None
    assert update.message.type is MessageType.TEXT
    assert update.message.text == "/start"
    assert update.message.contact_id == GROUP
    # The fake user is "Group": the group's title says who wrote.
    assert update.message.contact_name == "Salon friends"
    assert update.group is not None and update.group.to_bot(BOT_ID, BOT)


def test_a_member_writing_as_their_channel_is_read() -> None:
    raw = copy.deepcopy(load("group_anonymous_admin"))
    message = raw["message"]
    message["from"] = {"id": 136817688, "is_bot": True, "first_name": "Channel"}
    message["from"]["username"] = "Channel_Bot"
    message["sender_chat"] = {"id": -1005555555555, "title": "Ana's nails", "type": "channel"}
    update = parse_update(raw, received_at=RECEIVED)
    assert update.message is not None
    assert update.message.contact_name == "Ana's nails"


def test_a_bots_own_message_is_still_skipped() -> None:
    raw = copy.deepcopy(load("group_anonymous_admin"))
    del raw["message"]["sender_chat"]
    assert parse_update(raw, received_at=RECEIVED).skipped == "from_bot"


def test_a_linked_channels_post_in_its_discussion_group_is_skipped() -> None:
    # It mentions the bot, but it is the channel's post, not someone talking to the bot.
    update = parse_update(load("group_automatic_forward"), received_at=RECEIVED)
    assert update.message is None
    assert update.skipped == "automatic_forward"
