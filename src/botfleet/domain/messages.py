"""Channel-agnostic inbound messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class MessageType(StrEnum):
    TEXT = "text"
    BUTTON_REPLY = "button_reply"
    LIST_REPLY = "list_reply"
    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"
    LOCATION = "location"
    REACTION = "reaction"
    CONTACTS = "contacts"
    UNSUPPORTED = "unsupported"

    @classmethod
    def parse(cls, value: str) -> MessageType:
        """Accept the DSL's aliases (`button`, `list`)."""
        return cls(_ALIASES.get(value, value))


_ALIASES = {"button": "button_reply", "list": "list_reply"}

#: Types that carry a payload chosen from options the bot offered.
PAYLOAD_TYPES = frozenset({MessageType.BUTTON_REPLY, MessageType.LIST_REPLY})

#: `extra` key of an option pressed by position (its id was too long for the channel, so it was
#: sent as `#opt<position>.<fingerprint>`): the fingerprint (`options_fingerprint`) of the menu
#: it belongs to. The message is the typed answer "<position>".
OPTION_MENU = "option_menu"
#: `extra` key the engine sets (to true) on such a press of a menu that is no longer the last
#: one shown: it is no option, and no transition matches it (the state's fallback answers).
STALE_MENU = "stale_menu"


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from a contact, as every channel adapter produces it."""

    message_id: str
    contact_id: str
    type: MessageType
    timestamp: datetime
    text: str = ""
    payload: str = ""
    contact_name: str = ""
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: The title of the option last shown that this message picked (pressed, or typed as its
    #: number or title: `flows.matching.as_option_choice`), else "".
    option_title: str = ""

    @property
    def is_free_text(self) -> bool:
        return self.type is MessageType.TEXT and bool(self.text.strip())

    @property
    def effective_payload(self) -> str:
        """The payload a transition compares against.

        Button and list replies carry one; a text message's payload is its stripped text, so a
        "recognised text payload" (a user typing `menu_book`) matches like the button would.
        """
        if self.type is MessageType.TEXT:
            return self.payload or self.text.strip()
        return self.payload

    def as_namespace(self) -> dict[str, Any]:
        """The `message` namespace seen by templates and conditions."""
        return {
            "text": self.text,
            # The payload matching uses, so `message.payload == 'x'` holds when `on_payload: x`
            # does.
            "payload": self.effective_payload,
            "type": self.type.value,
            "contact_id": self.contact_id,
            "timestamp": self.timestamp.isoformat(),
            "id": self.message_id,
            "option_title": self.option_title,
            **({"extra": self.extra} if self.extra else {}),
        }
