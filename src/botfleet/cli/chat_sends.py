"""`:send TYPE ...` in `botfleet chat`: a message of any type the flow DSL matches (`on_type`),
shaped as the WhatsApp and Telegram adapters deliver it (`message.text` and `message.extra`).

    :send image [CAPTION]          (also audio, video, document: a voice note is an audio)
    :send location LAT LON [NAME]
    :send reaction [EMOJI]         (no emoji: a reaction taken back)
    :send contacts NAME [PHONE]
    :send button ID / :send list ID / :send text TEXT / :send unsupported [KIND]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botfleet.domain.messages import MessageType
from botfleet.flows._issues import did_you_mean
from botfleet.flows.schema import MESSAGE_TYPES

__all__ = ["SEND_HELP", "SEND_TYPES", "SEND_USAGE", "Send", "SendError", "parse_send"]

#: The type names `:send` takes: the DSL's (`on_type`), its aliases included, in its order.
SEND_TYPES: tuple[str, ...] = MESSAGE_TYPES
SEND_USAGE = ":send TYPE [...]  (e.g. :send image, :send location 40.4 -3.7 Sol, :send reaction 👍)"
SEND_HELP = """\
  :send TYPE ...    send another kind of message (what a flow's on_type matches):
                      :send image|audio|video|document [CAPTION]   (a voice note is audio)
                      :send location LAT LON [NAME]
                      :send reaction [EMOJI]   (without one: a reaction taken back)
                      :send contacts NAME [PHONE]
                      :send button ID, :send list ID, :send text TEXT, :send unsupported [KIND]"""

_MEDIA = frozenset({MessageType.IMAGE, MessageType.AUDIO, MessageType.VIDEO, MessageType.DOCUMENT})
_PHONE = re.compile(r"\+?[0-9][0-9().\-]{2,}")


class SendError(ValueError):
    """`:send`'s arguments are not a message: the text says what was expected."""


@dataclass(frozen=True, slots=True)
class Send:
    """The message to send: its type, text, payload and `extra`."""

    kind: MessageType
    text: str = ""
    payload: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def parse_send(argument: str) -> Send:
    """`:send`'s argument (`image a cat`, `location 40.4 -3.7 Sol`...) as a message.

    Raises:
        SendError: an unknown type, or arguments the type does not take.
    """
    name, _, rest = argument.strip().partition(" ")
    rest = rest.strip()
    if name not in SEND_TYPES:
        hint = did_you_mean(name, SEND_TYPES)
        raise SendError(f"unknown message type {name!r}{hint}; types: {', '.join(SEND_TYPES)}")
    kind = MessageType.parse(name)
    if kind in _MEDIA:  # caption as the text, as WhatsApp and Telegram give it
        return Send(kind, text=rest, extra={"media_kind": kind.value})
    if kind is MessageType.LOCATION:
        return _location(rest)
    if kind is MessageType.REACTION:
        return _reaction(rest)
    if kind is MessageType.CONTACTS:
        return _contacts(rest)
    if kind is MessageType.UNSUPPORTED:
        return Send(kind, extra={"provider_type": rest or "?"})
    if not rest:
        what = "TEXT" if kind is MessageType.TEXT else "ID"
        raise SendError(f":send {name} {what}: the {what.lower()} is missing")
    if kind is MessageType.TEXT:
        return Send(kind, text=rest)
    # A press of that kind; the engine gives it the title of the option it names.
    return Send(kind, payload=rest)


def _location(rest: str) -> Send:
    usage = ":send location LAT LON [NAME]  (e.g. :send location 40.4168 -3.7038 Puerta del Sol)"
    parts = rest.split(maxsplit=2)
    if len(parts) < 2:
        raise SendError(f"a location needs a latitude and a longitude: {usage}")
    latitude = _degrees(parts[0], "latitude", 90, usage)
    longitude = _degrees(parts[1], "longitude", 180, usage)
    name = parts[2].strip() if len(parts) > 2 else ""
    extra: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
    if name:
        extra["name"] = name
    return Send(MessageType.LOCATION, text=name, extra=extra)


def _degrees(text: str, what: str, limit: int, usage: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SendError(f"{what} {text!r} is not a number: {usage}") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise SendError(f"{what} {text!r} is not between -{limit} and {limit}: {usage}")
    return value


def _reaction(rest: str) -> Send:
    if len(rest.split()) > 1:
        raise SendError(f"a reaction is one emoji, not {rest!r}: :send reaction 👍")
    if rest and rest.isascii():  # a word, not an emoji: surely a slip
        raise SendError(f"a reaction is an emoji, not {rest!r}: :send reaction 👍")
    # Without an emoji: a reaction taken back, which the channels deliver with an empty one.
    return Send(MessageType.REACTION, text=rest, extra={"emoji": rest, "reacted_message_id": ""})


def _contacts(rest: str) -> Send:
    if not rest:
        raise SendError("a shared contact needs a name: :send contacts NAME [PHONE]")
    *words, last = rest.split()
    phones = [last] if words and _PHONE.fullmatch(last) else []
    name = " ".join(words) if phones else rest
    shared = {"name": name, "phones": phones}
    return Send(MessageType.CONTACTS, text=name, extra={"contacts": [shared]})
