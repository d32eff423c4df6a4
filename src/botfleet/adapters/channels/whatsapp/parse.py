"""WhatsApp Cloud API webhook payload -> typed inbound messages and status updates. Pure.

The parser is total: any JSON value gives a `WebhookBatch` (possibly empty) and never raises,
because a signed payload from Meta in a shape we do not know must be acknowledged, not retried.
Message types map onto `MessageType`; anything else becomes `UNSUPPORTED` and still reaches the
flow (whose fallback answers politely). Meta `system` notices are not from the contact and are
skipped, and so is something done to a message already in the chat (an edit, a pin, a poll
vote), which Meta delivers as an `unsupported` message (or as an `edit` or `revoke` one).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botfleet.adapters.channels.option_ids import positional_press
from botfleet.domain.messages import InboundMessage, MessageType

#: Provider message types that carry media, and the `MessageType` each becomes.
MEDIA_TYPES = {
    "image": MessageType.IMAGE,
    "sticker": MessageType.IMAGE,
    "audio": MessageType.AUDIO,
    "video": MessageType.VIDEO,
    "document": MessageType.DOCUMENT,
}
#: Notices from WhatsApp itself (e.g. "the customer changed number"): not a message to answer.
SKIPPED_TYPES = frozenset({"system", "ephemeral"})
#: `unsupported.type` of an `unsupported` message (error 131051) that is something done to a
#: message already in the chat, not a new one: the fallback would answer "I did not understand"
#: to an edit or a pin. The rest (a poll created, a GIF, a view-once photo, a message Meta could
#: not make available, or no type given) is something the contact sent and expects an answer to.
ACTION_TYPES = frozenset({"edit", "revoke", "pin", "keep_in_chat", "poll_update", "reaction"})
#: Message types that are an edit or a deletion of a message already in the chat: what Meta
#: sends for a number also used in the WhatsApp Business app ("coexistence") instead of an
#: `unsupported` one. Skipped alike (a `reaction` message is not: it reaches the flow).
ACTION_MESSAGE_TYPES = frozenset({"edit", "revoke"})
_MEDIA_FIELDS = ("id", "mime_type", "sha256", "filename", "voice", "animated")
MAX_ID = 256
#: Longest `type` and `fbtrace_id` kept (Meta's are a dozen to thirty characters).
MAX_FIELD = 64
_REPLY_KINDS = ("button_reply", "list_reply")


@dataclass(frozen=True, slots=True)
class GraphErrorInfo:
    """One entry of an `errors` array (webhook statuses, messages or API responses)."""

    code: int
    #: A webhook error's `title` (an API error's `error_user_title`, which Meta rarely sends).
    title: str = ""
    message: str = ""
    details: str = ""
    #: An API error's `type`: "OAuthException" for nearly every error, so it says little.
    type: str = ""
    #: `error_subcode`: what a code means exactly (190: 463 expired, 460 password changed...).
    subcode: int | None = None
    #: Meta's opaque id of the failed request, for their support (an API error's).
    fbtrace_id: str = ""


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status callback for a message the bot sent."""

    message_id: str
    status: str  # sent | delivered | read | failed | deleted | ... (as Meta sends it)
    recipient_id: str
    timestamp: datetime | None
    errors: tuple[GraphErrorInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeError:
    """An error Meta reports for a whole change (`value.errors`), not for one message."""

    error: GraphErrorInfo
    #: Stable across Meta's redeliveries of the delivery: these errors carry no id of their
    #: own (`change_error_fingerprint`).
    fingerprint: str


@dataclass(frozen=True, slots=True)
class WebhookBatch:
    """Everything one webhook delivery carried for our phone number."""

    messages: tuple[InboundMessage, ...] = ()
    statuses: tuple[StatusUpdate, ...] = ()
    errors: tuple[ChangeError, ...] = ()
    #: Entries skipped: another phone number, another webhook field, or a malformed item.
    skipped: int = 0
    notes: tuple[str, ...] = ()
    #: Whether a change for our number came (even one with nothing to process), and the other
    #: numbers whose changes were skipped: `OtherNumberWatch` tells a wrong binding from an app
    #: shared by several numbers with them.
    ours: bool = False
    other_numbers: tuple[str, ...] = ()


def parse_webhook(
    payload: object, *, phone_number_id: str | None, received_at: datetime
) -> WebhookBatch:
    """Collect the messages and statuses addressed to `phone_number_id` (None: any number).

    Args:
        payload: The decoded JSON body of `POST /webhook`.
        phone_number_id: Our number; changes for other numbers of the same app are skipped.
        received_at: Timestamp used when a message has no usable one.
    """
    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    errors: list[ChangeError] = []
    skipped = 0
    notes: list[str] = []
    ours = False
    others: list[str] = []
    for entry, field, value in _change_values(payload, notes):
        number = _text(_obj(value.get("metadata")).get("phone_number_id"))
        if phone_number_id is not None and number != phone_number_id:
            skipped += 1
            # Named: a binding whose `phone_number_id` is wrong (the WhatsApp Business Account
            # id, or the number itself) skips every message, and the log must show the right id.
            notes.append(f"other_phone_number:{number[:40] or '?'}")
            others.append(number[:40] or "?")
            continue
        ours = True
        names = _profile_names(value.get("contacts"))
        for raw in _objects(value.get("messages")):
            if raw.get("group_id"):
                # A group's message (Groups API): not said to the bot in private, and a reply
                # to its sender would go to them alone, not to the group.
                skipped += 1
                notes.append("group_message")
                continue
            message = parse_message(raw, names, received_at)
            if message is None:
                skipped += 1
                notes.append(f"message:{_kind_of(raw)[:60] or '?'}{_fault(raw)}")
            else:
                messages.append(message)
        for raw in _objects(value.get("statuses")):
            status = parse_status(raw)
            if status is None:
                skipped += 1
                notes.append("status")
            else:
                statuses.append(status)
        for raw in _objects(value.get("errors")):
            for error in parse_errors(raw):
                key = change_error_fingerprint(entry, field, value, raw, error)
                errors.append(ChangeError(error, key))
    return WebhookBatch(
        tuple(messages),
        tuple(statuses),
        tuple(errors),
        skipped,
        tuple(notes),
        ours=ours,
        other_numbers=tuple(dict.fromkeys(others)),
    )


def _change_values(
    payload: object, notes: list[str]
) -> Iterator[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(entry, field, value) of each change of the `messages` field."""
    root = _obj(payload)
    if root.get("object") != "whatsapp_business_account":
        if root:
            notes.append("not_whatsapp")
        return
    for entry in _objects(root.get("entry")):
        for change in _objects(entry.get("changes")):
            field = _text(change.get("field"))
            if field != "messages":
                notes.append(f"field:{field[:40] or '?'}")
                continue
            value = change.get("value")
            if isinstance(value, dict):
                yield entry, field, value


def change_error_fingerprint(
    entry: dict[str, Any],
    field: str,
    value: dict[str, Any],
    raw: dict[str, Any],
    error: GraphErrorInfo,
) -> str:
    """What identifies a change's error across redeliveries: its account (the entry's id), the
    change's field, the error's code, title, message and details, and its time where Meta gives
    one (the error's, the change's or the entry's). Without a time, the same error reported
    again later reads as a redelivery while it is remembered."""
    when = next(
        (str(t) for t in (raw.get("timestamp"), value.get("timestamp"), entry.get("time")) if t),
        "",
    )
    parts = [_text(entry.get("id")), field, error.code, error.title, error.message]
    parts += [error.details, when]
    digest = hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode())
    return digest.hexdigest()[:24]


def parse_message(
    raw: dict[str, Any], names: dict[str, str], received_at: datetime
) -> InboundMessage | None:
    """One item of `messages`; None when it lacks an id or sender, is a system notice, or
    is an action on an earlier message (`ACTION_MESSAGE_TYPES`, `ACTION_TYPES`).

    The sender is their phone number (`from`), else their business-scoped user id
    (`from_user_id`, e.g. "US.1349..."): Meta leaves the number out for a user with a username
    who has not shared it, and the id is then the only way to answer them.
    """
    message_id = _text(raw.get("id"))
    user_id = _text(raw.get("from_user_id"))
    sender = _text(raw.get("from")) or user_id
    kind = _text(raw.get("type"))
    if not _valid_id(message_id) or not _valid_id(sender) or kind in SKIPPED_TYPES:
        return None
    if kind in ACTION_MESSAGE_TYPES:
        return None
    if kind == "unsupported" and _unsupported_type(raw) in ACTION_TYPES:
        return None
    msg_type, text, payload, extra = _content(kind, raw)
    context = _obj(raw.get("context"))
    if _text(context.get("id")):
        extra["reply_to"] = _text(context.get("id"))
    return InboundMessage(
        message_id=message_id,
        contact_id=sender,
        type=msg_type,
        timestamp=_timestamp(raw.get("timestamp")) or received_at,
        text=text,
        payload=payload,
        contact_name=names.get(sender) or names.get(user_id, ""),
        extra=extra,
    )


def _content(kind: str, raw: dict[str, Any]) -> tuple[MessageType, str, str, dict[str, Any]]:
    """(type, text, payload, extra) of one message by its provider type."""
    body = _obj(raw.get(kind)) if kind else {}
    if kind == "text":
        return MessageType.TEXT, _text(body.get("body")), "", {}
    if kind == "interactive":
        return _interactive(body)
    if kind == "button":  # a quick-reply button of a template
        title = _text(body.get("text"))
        return MessageType.BUTTON_REPLY, title, _text(body.get("payload")) or title, {}
    if kind in MEDIA_TYPES:
        extra = {f"media_{k}" if k == "id" else k: body[k] for k in _MEDIA_FIELDS if k in body}
        extra = {k: v for k, v in extra.items() if isinstance(v, str | bool)}
        extra["media_kind"] = kind
        return MEDIA_TYPES[kind], _text(body.get("caption")), "", extra
    if kind == "location":
        return _location(body)
    if kind == "contacts":
        shared = [_shared_contact(c) for c in _objects(raw.get("contacts"))]
        names = ", ".join(c["name"] for c in shared if c["name"])
        return MessageType.CONTACTS, names, "", {"contacts": shared}
    if kind == "reaction":
        emoji = _text(body.get("emoji"))  # empty when a reaction is removed
        extra = {"emoji": emoji, "reacted_message_id": _text(body.get("message_id"))}
        return MessageType.REACTION, emoji, "", extra
    return MessageType.UNSUPPORTED, "", "", _unsupported(kind, raw)


def _interactive(body: dict[str, Any]) -> tuple[MessageType, str, str, dict[str, Any]]:
    reply_kind = _text(body.get("type"))
    reply = _obj(body.get(reply_kind)) if reply_kind else {}
    title, option_id = _text(reply.get("title")), _text(reply.get("id"))
    pressed = positional_press(option_id) if reply_kind in _REPLY_KINDS else None
    if pressed:  # an option sent by position (its id was too long): the typed answer "2"
        return MessageType.TEXT, pressed[0], "", {"option_title": title, **pressed[1]}
    if reply_kind == "button_reply" and option_id:
        return MessageType.BUTTON_REPLY, title, option_id, {}
    if reply_kind == "list_reply" and option_id:
        extra = {"description": _text(reply.get("description"))} if "description" in reply else {}
        return MessageType.LIST_REPLY, title, option_id, extra
    return MessageType.UNSUPPORTED, "", "", {"provider_type": f"interactive.{reply_kind or '?'}"}


def _location(body: dict[str, Any]) -> tuple[MessageType, str, str, dict[str, Any]]:
    extra: dict[str, Any] = {}
    for key in ("latitude", "longitude"):
        number = _number(body.get(key))
        if number is not None:
            extra[key] = number
    for key in ("name", "address", "url"):
        if _text(body.get(key)):
            extra[key] = _text(body.get(key))
    text = " — ".join(v for v in (extra.get("name", ""), extra.get("address", "")) if v)
    return MessageType.LOCATION, text, "", extra


def _shared_contact(raw: dict[str, Any]) -> dict[str, Any]:
    name = _obj(raw.get("name"))
    phones = [_text(p.get("phone")) for p in _objects(raw.get("phones"))]
    return {
        "name": _text(name.get("formatted_name")) or _text(name.get("first_name")),
        "phones": [p for p in phones if p],
    }


def _unsupported(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {"provider_type": kind or "?"}
    if kind == "unsupported" and _unsupported_type(raw):
        extra["unsupported_type"] = _unsupported_type(raw)
    codes = [e.code for e in parse_errors(raw.get("errors"))]
    if codes:
        extra["error_codes"] = codes
    return extra


def _unsupported_type(raw: dict[str, Any]) -> str:
    """What an `unsupported` message was (`unsupported.type`: "edit", "poll_creation", ...);
    "" when Meta does not say (older payloads, error 131060)."""
    kind = _text(_obj(raw.get("unsupported")).get("type"))
    return kind if 0 < len(kind) <= 40 and kind.isprintable() else ""


def _kind_of(raw: dict[str, Any]) -> str:
    kind = _text(raw.get("type"))[:40]
    sub = _unsupported_type(raw) if kind == "unsupported" else ""
    return f"{kind}.{sub}" if sub else kind


def parse_status(raw: dict[str, Any]) -> StatusUpdate | None:
    message_id, status = _text(raw.get("id")), _text(raw.get("status"))
    if not _valid_id(message_id) or not status:
        return None
    return StatusUpdate(
        message_id=message_id,
        status=status,
        # The contact as `parse_message` names it: the phone number, else (a user who shares
        # none) the business-scoped user id.
        recipient_id=_text(raw.get("recipient_id")) or _text(raw.get("recipient_user_id")),
        timestamp=_timestamp(raw.get("timestamp")),
        errors=parse_errors(raw.get("errors")),
    )


def parse_errors(raw: object) -> tuple[GraphErrorInfo, ...]:
    """An `errors` array (or a single Graph `error` object) as typed entries."""
    items = [raw] if isinstance(raw, dict) else list(_objects(raw))
    found: list[GraphErrorInfo] = []
    for item in items:
        code = item.get("code")
        if isinstance(code, bool) or not isinstance(code, int):
            continue
        data = _obj(item.get("error_data"))
        trace = _text(item.get("fbtrace_id"))
        found.append(
            GraphErrorInfo(
                code=code,
                title=_text(item.get("title")) or _text(item.get("error_user_title")),
                message=_text(item.get("message")),
                details=_text(data.get("details"))
                or _text(item.get("details"))
                or _text(item.get("error_user_msg")),
                type=_text(item.get("type"))[:MAX_FIELD],
                subcode=_whole(item.get("error_subcode")),
                fbtrace_id=trace if len(trace) <= MAX_FIELD and trace.isprintable() else "",
            )
        )
    return tuple(found)


def _profile_names(raw: object) -> dict[str, str]:
    """Profile names by phone number (`wa_id`) and by business-scoped user id (`user_id`)."""
    names: dict[str, str] = {}
    for contact in _objects(raw):
        name = _text(_obj(contact.get("profile")).get("name"))
        for key in ("wa_id", "user_id"):
            contact_id = _text(contact.get(key))
            if contact_id and name:
                names[contact_id] = name
    return names


def _timestamp(raw: object) -> datetime | None:
    """Meta sends Unix seconds as a string; anything unusable gives None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 12:
        raw = int(raw)
    if not isinstance(raw, int) or not 0 < raw < 10**11:
        return None
    return datetime.fromtimestamp(raw, UTC)


def _fault(raw: dict[str, Any]) -> str:
    """What makes a skipped message unusable, when a field does (`:no_from`, `:bad_from`,
    `:no_id`, `:bad_id`), for its log line: else "" (a notice or an action on an earlier
    message, which its type names)."""
    sender = _text(raw.get("from")) or _text(raw.get("from_user_id"))
    message_id = _text(raw.get("id"))
    for name, value in (("from", sender), ("id", message_id)):
        if not value:
            return f":no_{name}"
        if not _valid_id(value):
            return f":bad_{name}"
    return ""


def _valid_id(value: str) -> bool:
    return 0 < len(value) <= MAX_ID and value.isprintable() and not value.isspace()


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: object) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _whole(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
