"""The channel `botfleet chat --channel` shows the bot on: what it can show and how a press of
a shown option reaches the bot there.

Outputs are degraded with the channel's own `Capabilities` (the adapters' constants, never
copies: `sandbox.CHANNEL_CAPABILITIES`, which `botfleet test --channel` uses too), so a
WhatsApp tenant's four buttons show as the list WhatsApp gets. A press is the message that
channel's inbound side delivers: a list row on Telegram is a keyboard button (a
`button_reply`), and an option whose id is too long for the channel was sent by position
(`#opt2.<fingerprint>`, `option_ids`), so its press is the typed answer "2" with its menu's
fingerprint, as the engine receives it from the channel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botfleet.adapters.channels.option_ids import positional_press, sendable_ids
from botfleet.adapters.channels.telegram.payloads import fits_callback_data
from botfleet.adapters.channels.webchat.api import fits_payload
from botfleet.adapters.channels.whatsapp.payloads import MAX_BUTTON_ID, MAX_ROW_ID
from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Capabilities, ListMenu, Option, Output, options_of
from botfleet.domain.tenant_config import TenantConfig
from botfleet.testing.sandbox import CHANNEL_CAPABILITIES, tenant_channel

__all__ = ["CHANNELS", "ChatChannel", "Press", "chat_channel", "default_channel"]


def _fits_whatsapp_button(option_id: str) -> bool:
    return 0 < len(option_id) <= MAX_BUTTON_ID


def _fits_whatsapp_row(option_id: str) -> bool:
    return 0 < len(option_id) <= MAX_ROW_ID


@dataclass(frozen=True, slots=True)
class Press:
    """The message a press delivers: its type, text, payload and `extra`."""

    kind: MessageType
    text: str = ""
    payload: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def by_position(self) -> bool:
        """The option was sent by position: the press is the typed answer "<position>"."""
        return self.kind is MessageType.TEXT


@dataclass(frozen=True, slots=True)
class ChatChannel:
    """A channel as chat plays it."""

    name: str
    capabilities: Capabilities
    #: Whether the channel sends a button's id as it is (else by position).
    fits_button: Callable[[str], bool]
    #: Whether the channel sends a list row's id as it is (else by position).
    fits_row: Callable[[str], bool]
    #: Lists are drawn as buttons (Telegram's inline keyboard): a row's press is a button's.
    rows_are_buttons: bool = False
    #: A press by position carries the title shown (`extra.option_title`).
    titles_positions: bool = True
    #: `#opt<position>` without a fingerprint is read as a press by position too.
    legacy_positions: bool = True

    def press(self, menu: Output, option: Option) -> Press:
        """What the channel delivers when `option` of `menu` (as the channel showed it, that is
        degraded) is pressed."""
        options = options_of(menu)
        is_list = isinstance(menu, ListMenu)
        fits = self.fits_row if is_list else self.fits_button
        index = next(i for i, shown in enumerate(options) if shown.id == option.id)
        sent = sendable_ids(options, fits)[index]
        pressed = positional_press(sent, legacy=self.legacy_positions)
        if pressed is not None:
            titled = {"option_title": option.title} if self.titles_positions else {}
            return Press(MessageType.TEXT, text=pressed[0], extra={**titled, **pressed[1]})
        kind = (
            MessageType.LIST_REPLY
            if is_list and not self.rows_are_buttons
            else MessageType.BUTTON_REPLY
        )
        return Press(kind, text=option.title, payload=sent)


_CHANNELS: dict[str, ChatChannel] = {
    "webchat": ChatChannel(
        "webchat",
        CHANNEL_CAPABILITIES["webchat"],
        fits_payload,
        fits_payload,
        legacy_positions=False,  # the page never sent `#opt<position>` alone
    ),
    "whatsapp": ChatChannel(
        "whatsapp",
        CHANNEL_CAPABILITIES["whatsapp"],
        _fits_whatsapp_button,
        _fits_whatsapp_row,
    ),
    "telegram": ChatChannel(
        "telegram",
        CHANNEL_CAPABILITIES["telegram"],
        fits_callback_data,
        fits_callback_data,
        rows_are_buttons=True,
        titles_positions=False,
    ),
}
#: The channels chat can show the bot on (`--channel`).
CHANNELS = tuple(_CHANNELS)


def chat_channel(name: str) -> ChatChannel:
    """The channel called `name` (one of `CHANNELS`).

    Raises:
        ValueError: no such channel.
    """
    try:
        return _CHANNELS[name]
    except KeyError:
        raise ValueError(
            f"unknown channel {name!r}; expected one of {', '.join(CHANNELS)}"
        ) from None


def default_channel(config: TenantConfig) -> str:
    """The tenant's channel (`channel.type`) when chat can show it, else the web chat (a flow
    file run without a tenant file is on the web chat): the rule `botfleet test` follows too."""
    return tenant_channel(config)
