"""The channels a sandboxed bot can be on (`botfleet chat` and `botfleet test`, `--channel`):
what each can show and how a press of an option reaches the bot there. Pure.

Outputs are degraded with the channel's own `Capabilities` (the adapters' constants, never
copies), so a WhatsApp tenant's four buttons are the list WhatsApp gets. A press is the message
that channel's inbound side delivers: a list row on Telegram is a keyboard button (a
`button_reply`), and an option whose id is too long for the channel was sent by position
(`#opt2.<fingerprint>`, `option_ids`), so its press is the typed answer "2" with its menu's
fingerprint, as the engine receives it from the channel. An option of a menu the channel
showed as numbered text has nothing to press: the contact types its number. Only Telegram says
a contact's language (`sends_language`): on the others a message carries none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botfleet.adapters.channels.option_ids import positional_press, sendable_ids
from botfleet.adapters.channels.telegram import TELEGRAM_CAPABILITIES
from botfleet.adapters.channels.telegram.payloads import fits_callback_data
from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.replies import fits_payload
from botfleet.adapters.channels.whatsapp import WHATSAPP_CAPABILITIES
from botfleet.adapters.channels.whatsapp.payloads import MAX_BUTTON_ID, MAX_ROW_ID
from botfleet.adapters.registry import WEBCHAT_TYPES
from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Capabilities, ListMenu, Option, Output, options_of
from botfleet.domain.tenant_config import TenantConfig

__all__ = [
    "CHANNELS",
    "Press",
    "PressRoute",
    "SandboxChannel",
    "sandbox_channel",
    "tenant_channel",
]

#: How a press reached the bot:
#: "id": the option's id, as the button or list reply the channel sends;
#: "position": its id was too long for the channel, so it went by position (the typed "<n>"
#: with its menu's fingerprint);
#: "number": its menu was shown as numbered text, so its number was typed;
#: "unshown": no menu last shown offers it (a button of an older message, a payload as a first
#: message): its id as a button reply.
PressRoute = Literal["id", "position", "number", "unshown"]


def _fits_whatsapp_button(option_id: str) -> bool:
    return 0 < len(option_id) <= MAX_BUTTON_ID


def _fits_whatsapp_row(option_id: str) -> bool:
    return 0 < len(option_id) <= MAX_ROW_ID


@dataclass(frozen=True, slots=True)
class Press:
    """The message a press delivers: its type, text, payload and `extra`, and how it got
    there (`route`)."""

    kind: MessageType
    route: PressRoute
    text: str = ""
    payload: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SandboxChannel:
    """A channel as the sandbox plays it."""

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
    #: The channel tells the contact's language with each message (Telegram's
    #: `language_code`): elsewhere `contact.language` is the tenant's `language`.
    sends_language: bool = False

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
            return Press(
                MessageType.TEXT, "position", text=pressed[0], extra={**titled, **pressed[1]}
            )
        kind = (
            MessageType.LIST_REPLY
            if is_list and not self.rows_are_buttons
            else MessageType.BUTTON_REPLY
        )
        return Press(kind, "id", text=option.title, payload=sent)

    def press_of(
        self,
        payload: str,
        shown: tuple[Output, Option] | None,
        last_options: Sequence[Option],
    ) -> Press:
        """What reaches the bot when the contact presses the option `payload`.

        Args:
            payload: The option's id.
            shown: The menu (as the channel showed it) that offers it among those of the last
                turn that showed any, and the option; None when none does.
            last_options: The options of the last menu the engine sent (`last_options`): when
                they hold `payload` but no menu shown does, that menu was numbered text.
        """
        if shown is not None:
            return self.press(*shown)
        position = next((n for n, o in enumerate(last_options, start=1) if o.id == payload), None)
        if position is not None:
            return Press(MessageType.TEXT, "number", text=str(position))
        return Press(MessageType.BUTTON_REPLY, "unshown", payload=payload)


_CHANNELS: dict[str, SandboxChannel] = {
    "webchat": SandboxChannel(
        "webchat",
        WEBCHAT_CAPABILITIES,
        fits_payload,
        fits_payload,
        legacy_positions=False,  # the page never sent `#opt<position>` alone
    ),
    "whatsapp": SandboxChannel(
        "whatsapp",
        WHATSAPP_CAPABILITIES,
        _fits_whatsapp_button,
        _fits_whatsapp_row,
    ),
    "telegram": SandboxChannel(
        "telegram",
        TELEGRAM_CAPABILITIES,
        fits_callback_data,
        fits_callback_data,
        rows_are_buttons=True,
        titles_positions=False,
        sends_language=True,
    ),
}
#: The channels a sandboxed bot can be on (`--channel`).
CHANNELS = tuple(_CHANNELS)


def sandbox_channel(name: str) -> SandboxChannel:
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


def tenant_channel(config: TenantConfig) -> str:
    """The tenant's channel (`channel.type`) when a sandbox can play it, else the web chat (a
    flow run without a tenant file is on the web chat)."""
    kind = config.channel.type
    if kind in WEBCHAT_TYPES:  # `http_dev` is the seed's name for the web chat
        return "webchat"
    return kind if kind in _CHANNELS else "webchat"
