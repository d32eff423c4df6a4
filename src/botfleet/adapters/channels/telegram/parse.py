"""Telegram Bot API `Update` -> a typed inbound message. Pure and total (never raises).

Contacts are chats (`chat.id`; a private chat's id is the user's), and a forum topic is a
contact of its own (`<chat>:topic:<message_thread_id>`, `contact_ids`). Telegram message ids
count per chat, so message ids are prefixed with the chat id (`<chat>:<message_id>`); callback
queries (`<chat>:cb:<query id>`) and reactions (`<chat>:reaction:<update_id>`) get their own
namespaces. A pressed inline button becomes a `BUTTON_REPLY` whose payload is its
`callback_data`. Content we do not map (polls, dice, ...) becomes `UNSUPPORTED` and reaches the
flow; service notices (members joining, pins, ...), edits, bots' messages and a linked channel's
posts copied into its discussion group are skipped. A message an anonymous admin (or a member
writing as their channel) sends comes from a fake bot user: it is a person's, not skipped.
Two kinds of notice still say something the webhook acts on: `my_chat_member` (the bot blocked
or unblocked in a private chat, removed from or added to a group: `ChatMemberChange`) and a
group's migration to a supergroup (`ChatMigration`).

A bot without privacy mode gets every message of its groups. A group message carries what
could make it addressed to the bot (`GroupAddress`: commands, mentions, a reply to a bot); the
webhook decides once it knows the bot's username, and skips the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botfleet.adapters.channels.option_ids import positional_press
from botfleet.adapters.channels.telegram.contact_ids import contact_of
from botfleet.domain.messages import InboundMessage, MessageType

#: Content keys -> type, checked in this order (an animation also carries `document`).
MEDIA_KEYS: tuple[tuple[str, MessageType], ...] = (
    ("photo", MessageType.IMAGE),
    ("sticker", MessageType.IMAGE),
    ("animation", MessageType.VIDEO),
    ("video", MessageType.VIDEO),
    ("video_note", MessageType.VIDEO),
    ("voice", MessageType.AUDIO),
    ("audio", MessageType.AUDIO),
    ("document", MessageType.DOCUMENT),
)
#: Notices about the chat itself, not something the contact said.
SERVICE_KEYS = frozenset(
    {
        "new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
        "delete_chat_photo", "group_chat_created", "supergroup_chat_created",
        "channel_chat_created", "message_auto_delete_timer_changed", "migrate_to_chat_id",
        "migrate_from_chat_id", "pinned_message", "forum_topic_created", "forum_topic_edited",
        "forum_topic_closed", "forum_topic_reopened", "general_forum_topic_hidden",
        "general_forum_topic_unhidden", "video_chat_scheduled", "video_chat_started",
        "video_chat_ended", "video_chat_participants_invited", "write_access_allowed",
        "proximity_alert_triggered", "boost_added", "chat_background_set",
    }
)  # fmt: skip
#: Content we recognise but do not map: reaches the flow as UNSUPPORTED.
UNSUPPORTED_KEYS = (
    "poll", "dice", "game", "story", "invoice", "successful_payment", "paid_media",
    "giveaway", "giveaway_winners", "users_shared", "chat_shared", "web_app_data",
    "passport_data",
)  # fmt: skip
_FILE_FIELDS = ("file_id", "file_unique_id", "mime_type", "file_name", "emoji")
GROUP_CHATS = frozenset({"group", "supergroup"})
#: Statuses of a chat member who is in the chat (`restricted` says so with `is_member`).
PRESENT_STATUSES = frozenset({"creator", "administrator", "member"})


@dataclass(frozen=True, slots=True)
class GroupAddress:
    """What in a group message may address it to the bot; `to_bot()` decides."""

    #: Usernames named by commands (`/start@salon_bot`), lower case; "" for a bare command at
    #: the start (`/start`), which Telegram gives every bot of the group.
    commands: tuple[str, ...] = ()
    #: `@username` mentions, lower case, without the "@".
    mentions: tuple[str, ...] = ()
    #: Users mentioned by name, without a username (`text_mention`): their ids.
    mentioned_ids: tuple[int, ...] = ()
    #: The bot whose message this one replies to: (its id, its username in lower case).
    replied_bot: tuple[int | None, str] | None = None

    @property
    def needs_username(self) -> bool:
        """Whether only the bot's username can tell (a mention, a command naming a bot)."""
        return bool(self.mentions) or any(self.commands)

    def to_bot(self, bot_id: int, username: str | None) -> bool:
        """Addressed to the bot `bot_id` (`username`: None while unknown)."""
        name = (username or "").lower()
        if "" in self.commands or bot_id in self.mentioned_ids:
            return True
        if self.replied_bot is not None:
            replied_id, replied_name = self.replied_bot
            if replied_id == bot_id or (name and replied_name == name):
                return True
        return bool(name) and (name in self.mentions or name in self.commands)


@dataclass(frozen=True, slots=True)
class ChatMemberChange:
    """The bot's own membership of a chat changed (`my_chat_member`)."""

    chat_id: str
    #: "blocked" / "unblocked" (a private chat), "removed" / "added" (a group, a channel), or
    #: "other" (in the chat before and after: new rights, say).
    change: str
    old_status: str
    new_status: str


@dataclass(frozen=True, slots=True)
class ChatMigration:
    """A group that became a supergroup: its notices name both chat ids."""

    old_chat_id: str
    new_chat_id: str


#: Telegram's chat ids: a basic group's lie above this (and below 0), a supergroup's below it;
#: a person's private chat has a positive id.
SUPERGROUP_IDS_BELOW = -1_000_000_000_000


def group_to_supergroup(migration: ChatMigration) -> bool:
    """Whether a migration names what Telegram's do: a basic group's id, then a supergroup's.

    Its conversation, reminders and later sends go to the new id: a migration naming a
    person's chat (or the same chat twice, a forum topic, a `@channel`) would hand one chat's
    conversation and messages to another. Both the webhook's notices and the sender's refused
    sends (`migrate_to_chat_id`) are checked here."""
    old, new = _chat_number(migration.old_chat_id), _chat_number(migration.new_chat_id)
    if old is None or new is None:
        return False
    return SUPERGROUP_IDS_BELOW < old < 0 and new < SUPERGROUP_IDS_BELOW


def _chat_number(chat_id: str) -> int | None:
    # Exactly an integer chat id: int() would also take spaces, "_" and non-ASCII digits.
    digits = chat_id[1:] if chat_id.startswith("-") else chat_id
    return int(chat_id) if digits.isascii() and digits.isdigit() else None


@dataclass(frozen=True, slots=True)
class ParsedUpdate:
    """What one update means for us: a message to process, or why it was skipped."""

    update_id: int | None
    message: InboundMessage | None = None
    #: Set for a pressed inline button: answer it (answerCallbackQuery).
    callback_query_id: str = ""
    skipped: str = ""
    #: Set for a message of a group or supergroup: answered only if addressed to the bot.
    group: GroupAddress | None = None
    #: Set for a `my_chat_member` update (no message).
    member_change: ChatMemberChange | None = None
    #: Set for the notice of a group's migration to a supergroup (no message).
    migration: ChatMigration | None = None


def parse_update(payload: object, *, received_at: datetime) -> ParsedUpdate:
    """Read one webhook update; `received_at` stands in for a missing or unusable `date`."""
    root = _obj(payload)
    raw_update_id = root.get("update_id")
    update_id = raw_update_id if _is_int(raw_update_id) else None
    if update_id is None:
        return ParsedUpdate(None, skipped="not_an_update")
    if "message" in root:
        return _from_message(update_id, _obj(root["message"]), received_at)
    if "callback_query" in root:
        return _from_callback(update_id, _obj(root["callback_query"]), received_at)
    if "message_reaction" in root:
        return _from_reaction(update_id, _obj(root["message_reaction"]), received_at)
    if "my_chat_member" in root:
        return _from_member_update(update_id, _obj(root["my_chat_member"]))
    kinds = [k for k in root if k != "update_id"]
    return ParsedUpdate(update_id, skipped=f"update:{kinds[0] if kinds else '?'}"[:64])


def _from_message(update_id: int, raw: dict[str, Any], received_at: datetime) -> ParsedUpdate:
    chat_id, sender = _chat_id(raw.get("chat")), _obj(raw.get("from"))
    message_id = raw.get("message_id")
    if chat_id is None or not _is_int(message_id):
        return ParsedUpdate(update_id, skipped="malformed_message")
    migration = _migration(chat_id, raw)
    if migration is not None:
        return ParsedUpdate(update_id, skipped="service_message", migration=migration)
    if raw.get("is_automatic_forward") is True:
        # A post of the group's linked channel, copied into its discussion group: a channel
        # post, skipped as `channel_post` updates are.
        return ParsedUpdate(update_id, skipped="automatic_forward")
    on_behalf = _obj(raw.get("sender_chat"))
    # A message sent on behalf of a chat (an anonymous admin: the group itself; a member
    # writing as their channel) carries a fake bot user in `from`: a person wrote it.
    if sender.get("is_bot") is True and not on_behalf:
        return ParsedUpdate(update_id, skipped="from_bot")
    if any(key in raw for key in SERVICE_KEYS):
        return ParsedUpdate(update_id, skipped="service_message")
    msg_type, text, extra = _content(raw)
    message = InboundMessage(
        message_id=f"{chat_id}:{message_id}",
        contact_id=contact_of(chat_id, raw),
        type=msg_type,
        timestamp=_timestamp(raw.get("date")) or received_at,
        text=text,
        contact_name=_text(on_behalf.get("title"))[:128] or _display_name(sender),
        language=_text(sender.get("language_code"))[:16],
        extra=extra,
    )
    if _text(_obj(raw.get("chat")).get("type")) in GROUP_CHATS:
        return ParsedUpdate(update_id, message, group=_group_address(raw))
    return ParsedUpdate(update_id, message)


def _migration(chat_id: str, raw: dict[str, Any]) -> ChatMigration | None:
    # Telegram posts one notice in each chat: in the group, where it moved to; in the
    # supergroup, where it came from. Read only in those chats: a notice anywhere else is not
    # Telegram's, and would hand one chat's conversation to another (the webhook also checks
    # the ids' kinds).
    moved_to, moved_from = raw.get("migrate_to_chat_id"), raw.get("migrate_from_chat_id")
    chat_type = _text(_obj(raw.get("chat")).get("type"))
    if _is_int(moved_to) and chat_type == "group":
        return ChatMigration(chat_id, str(moved_to))
    if _is_int(moved_from) and chat_type == "supergroup":
        return ChatMigration(str(moved_from), chat_id)
    return None


def _from_member_update(update_id: int, raw: dict[str, Any]) -> ParsedUpdate:
    chat = _obj(raw.get("chat"))
    chat_id = _chat_id(chat)
    if chat_id is None:
        return ParsedUpdate(update_id, skipped="malformed_chat_member")
    old, new = _obj(raw.get("old_chat_member")), _obj(raw.get("new_chat_member"))
    was, now = _present(old), _present(new)
    if was == now:
        change = "other"
    elif _text(chat.get("type")) == "private":
        # The only statuses of a bot in a private chat: "member", and "kicked" once blocked.
        change = "unblocked" if now else "blocked"
    else:
        change = "added" if now else "removed"
    member_change = ChatMemberChange(
        chat_id, change, _text(old.get("status"))[:32], _text(new.get("status"))[:32]
    )
    return ParsedUpdate(update_id, skipped="chat_member", member_change=member_change)


def _present(member: dict[str, Any]) -> bool:
    status = _text(member.get("status"))
    return status in PRESENT_STATUSES or (
        status == "restricted" and member.get("is_member") is True
    )


def _group_address(raw: dict[str, Any]) -> GroupAddress:
    if isinstance(raw.get("text"), str):
        text, key = raw["text"], "entities"
    else:  # media: the caption's mentions
        text, key = _text(raw.get("caption")), "caption_entities"
    units = text.encode("utf-16-le", errors="surrogatepass")
    commands: list[str] = []
    mentions: list[str] = []
    mentioned_ids: list[int] = []
    for entity in _objects(raw.get(key)):
        offset, length = entity.get("offset"), entity.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            continue
        # Offsets and lengths count UTF-16 code units (the Bot API's MessageEntity).
        word = units[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")
        kind = entity.get("type")
        if kind == "bot_command":
            named = word.partition("@")[2].lower()
            if named or offset == 0:
                commands.append(named)
        elif kind == "mention":
            mentions.append(word.removeprefix("@").lower())
        elif kind == "text_mention" and _is_int(_obj(entity.get("user")).get("id")):
            mentioned_ids.append(_obj(entity.get("user"))["id"])
    return GroupAddress(tuple(commands), tuple(mentions), tuple(mentioned_ids), _replied_bot(raw))


def without_mention(message: InboundMessage, username: str) -> InboundMessage:
    """A group text without the bot's `@username` at its start or end ("@salon_bot 2" reads
    "2"), as `/start@salon_bot` reads `/start`: flows match what is written in a private chat."""
    if message.type is not MessageType.TEXT or "@" not in message.text:
        return message
    name = re.escape(username)
    text = re.sub(rf"^\s*@{name}(?![A-Za-z0-9_])[\s,:;]*", "", message.text, count=1, flags=re.I)
    text = re.sub(rf"(?:^|\s+)@{name}\s*$", "", text, count=1, flags=re.I)
    return message if text == message.text else replace(message, text=text)


def _replied_bot(raw: dict[str, Any]) -> tuple[int | None, str] | None:
    replied = _obj(raw.get("reply_to_message"))
    if raw.get("is_topic_message") is True and "forum_topic_created" in replied:
        # In a forum topic every message "replies" to the topic's opening notice: no reply.
        return None
    author = _obj(replied.get("from"))
    if author.get("is_bot") is not True:
        return None
    bot_id = author.get("id")
    return (bot_id if _is_int(bot_id) else None), _text(author.get("username")).lower()


#: `/command@<bot username>` (bot usernames are 5 to 32 characters and end in "bot").
_COMMAND_TO_BOT = re.compile(
    r"^(/[A-Za-z0-9_]{1,64})@[A-Za-z][A-Za-z0-9_]{1,28}bot(?![A-Za-z0-9_])", re.I
)


def _content(raw: dict[str, Any]) -> tuple[MessageType, str, dict[str, Any]]:
    if isinstance(raw.get("text"), str):
        text = raw["text"]
        if text.startswith("/"):
            # In a group Telegram addresses a command to one bot: `/start@salon_bot`. The
            # flow matches the command as written in a private chat (`/start`).
            text = _COMMAND_TO_BOT.sub(r"\1", text, count=1)
        return MessageType.TEXT, text, {}
    caption = _text(raw.get("caption"))
    for key, msg_type in MEDIA_KEYS:
        if key in raw:
            media = raw[key]
            if isinstance(media, list):  # photo: sizes, smallest first
                media = next(iter(reversed([m for m in media if isinstance(m, dict)])), {})
            extra = {k: v for k, v in _obj(media).items() if k in _FILE_FIELDS}
            extra = {k: v for k, v in extra.items() if isinstance(v, str)}
            return msg_type, caption, {**extra, "media_kind": key}
    if "venue" in raw or "location" in raw:
        return _location(raw)
    if "contact" in raw:
        contact = _obj(raw["contact"])
        name = " ".join(_text(contact.get(k)) for k in ("first_name", "last_name")).strip()
        shared = {"name": name, "phones": [p for p in [_text(contact.get("phone_number"))] if p]}
        return MessageType.CONTACTS, name, {"contacts": [shared]}
    kind = next((k for k in UNSUPPORTED_KEYS if k in raw), "?")
    return MessageType.UNSUPPORTED, caption, {"provider_type": kind}


def _location(raw: dict[str, Any]) -> tuple[MessageType, str, dict[str, Any]]:
    venue = _obj(raw.get("venue"))
    location = _obj(venue.get("location") or raw.get("location"))
    extra: dict[str, Any] = {}
    for key in ("latitude", "longitude"):
        number = _number(location.get(key))
        if number is not None:
            extra[key] = number
    for key, source in (("name", "title"), ("address", "address")):
        if _text(venue.get(source)):
            extra[key] = _text(venue.get(source))
    text = " — ".join(v for v in (extra.get("name", ""), extra.get("address", "")) if v)
    return MessageType.LOCATION, text, extra


def _from_callback(update_id: int, raw: dict[str, Any], received_at: datetime) -> ParsedUpdate:
    query_id, sender = _text(raw.get("id")), _obj(raw.get("from"))
    origin = _obj(raw.get("message"))
    # Buttons under an inline-mode message have no `message`: answer in the private chat.
    chat_id = _chat_id(origin.get("chat")) or _chat_id(sender)
    data = _text(raw.get("data"))
    if not query_id or len(query_id) > 128 or chat_id is None:
        return ParsedUpdate(update_id, skipped="malformed_callback")
    if not data:  # a game button: nothing to route, but the spinner must still stop
        return ParsedUpdate(update_id, callback_query_id=query_id, skipped="callback_without_data")
    title = _button_title(origin.get("reply_markup"), data)
    extra = _reply_to(origin)
    pressed = positional_press(data)
    if pressed:  # an option sent by position: the typed answer "2", as the engine reads it
        msg_type, text, payload = MessageType.TEXT, pressed[0], ""
        extra.update(pressed[1])  # the menu's fingerprint
    else:
        msg_type, text, payload = MessageType.BUTTON_REPLY, title, data
    message = InboundMessage(
        message_id=f"{chat_id}:cb:{query_id}",
        # The topic of the message the button was under. A message too old for the bot to
        # see (InaccessibleMessage: date 0) says no topic: the press goes to the chat.
        contact_id=contact_of(chat_id, origin),
        type=msg_type,
        timestamp=received_at,  # a callback query carries no date
        text=text,
        payload=payload,
        contact_name=_display_name(sender),
        language=_text(sender.get("language_code"))[:16],
        extra=extra,
    )
    return ParsedUpdate(update_id, message, callback_query_id=query_id)


def _from_reaction(update_id: int, raw: dict[str, Any], received_at: datetime) -> ParsedUpdate:
    chat_id, sender = _chat_id(raw.get("chat")), _obj(raw.get("user"))
    if chat_id is None:
        return ParsedUpdate(update_id, skipped="malformed_reaction")
    reactions = list(_objects(raw.get("new_reaction")))
    # ReactionTypeEmoji carries its emoji; ReactionTypeCustomEmoji (a custom_emoji_id) and
    # ReactionTypePaid (a star) carry none, so their type stands in: "" means only "removed".
    emojis = [_text(r.get("emoji")) for r in reactions] + [_text(r.get("type")) for r in reactions]
    emoji = next((e for e in emojis if e), "")  # empty: the reaction was removed
    reacted = raw.get("message_id")
    extra = {"emoji": emoji, "reacted_message_id": f"{chat_id}:{reacted}" if reacted else ""}
    custom = [_text(r.get("custom_emoji_id")) for r in reactions if r.get("custom_emoji_id")]
    if custom and emoji == "custom_emoji":
        extra["custom_emoji_id"] = custom[0]
    message = InboundMessage(
        message_id=f"{chat_id}:reaction:{update_id}",
        contact_id=chat_id,
        type=MessageType.REACTION,
        timestamp=_timestamp(raw.get("date")) or received_at,
        text=emoji,
        contact_name=_display_name(sender),
        extra=extra,
    )
    # In a group the update does not say whose message the reaction is on: never the bot's
    # for sure, so never addressed to it (an empty `GroupAddress`).
    group = GroupAddress() if _text(_obj(raw.get("chat")).get("type")) in GROUP_CHATS else None
    return ParsedUpdate(update_id, message, group=group)


def _button_title(markup: object, data: str) -> str:
    """The label of the pressed button, found in the keyboard of the message it was under."""
    keyboard = _obj(markup).get("inline_keyboard")
    for row in keyboard if isinstance(keyboard, list) else ():
        for button in _objects(row):
            if button.get("callback_data") == data:
                return _text(button.get("text"))
    return ""


def _reply_to(origin: dict[str, Any]) -> dict[str, Any]:
    chat_id, message_id = _chat_id(origin.get("chat")), origin.get("message_id")
    return {"reply_to": f"{chat_id}:{message_id}"} if chat_id and _is_int(message_id) else {}


def _chat_id(chat: object) -> str | None:
    value = _obj(chat).get("id")
    return str(value) if _is_int(value) else None


def _display_name(user: dict[str, Any]) -> str:
    name = " ".join(_text(user.get(k)).strip() for k in ("first_name", "last_name")).strip()
    return (name or _text(user.get("username")))[:128]


def _timestamp(raw: object) -> datetime | None:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 10**11:
        return None
    return datetime.fromtimestamp(raw, UTC)


def _is_int(value: object) -> bool:
    # Telegram ids fit in 52 bits; a bool is not an id.
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: object) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
