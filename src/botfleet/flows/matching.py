"""Transition matching and numbered/titled answers. Pure functions."""

from __future__ import annotations

import unicodedata
from dataclasses import replace

from botfleet.domain.messages import OPTION_MENU, STALE_MENU, InboundMessage, MessageType
from botfleet.domain.outputs import Option, options_fingerprint
from botfleet.flows.render import Renderer
from botfleet.flows.schema import Transition


def effective_payload(message: InboundMessage) -> str:
    """The payload a transition compares against (`InboundMessage.effective_payload`, which is
    also the `message.payload` templates and conditions see)."""
    return message.effective_payload


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def as_option_choice(
    message: InboundMessage, options: tuple[Option, ...], *, from_list: bool = False
) -> InboundMessage:
    """A text reply "2" or an option's title, after options were shown, becomes that choice:
    a list reply if the options were the rows of a list (`from_list`), else a button reply.

    This is what makes degraded menus (numbered text) work like real buttons and lists.

    An option a channel sent by position (`#opt2.<fingerprint>`, its id too long) arrives as
    the typed "2" with the fingerprint of its menu in `extra`: see `_pressed_by_position`.
    """
    if message.type is not MessageType.TEXT:
        if not message.text and options and message.payload:
            return _titled(message, options)
        return message
    if message.extra and OPTION_MENU in message.extra:
        pressed = _pressed_by_position(message, options, from_list)
        if pressed is not None:
            return pressed
    if not options:
        return message
    answer = message.text.strip().rstrip(".)")
    chosen: Option | None = None
    # isdecimal, not isdigit: "²" is a digit that int() rejects. The length cap keeps int() away
    # from its 4300-digit limit (a ValueError) and from pointless work on huge numbers.
    if answer.isdecimal() and len(answer) <= 6 and 1 <= int(answer) <= len(options):
        chosen = options[int(answer) - 1]
    else:
        folded = _fold(message.text)
        chosen = next((o for o in options if folded and _fold(o.title) == folded), None)
    if chosen is None:
        return message
    return _chose(message, chosen, from_list)


def _chose(message: InboundMessage, chosen: Option, from_list: bool) -> InboundMessage:
    kind = MessageType.LIST_REPLY if from_list else MessageType.BUTTON_REPLY
    return replace(message, type=kind, payload=chosen.id)


def _titled(message: InboundMessage, options: tuple[Option, ...]) -> InboundMessage:
    """A press that came without its label (Telegram, when the message holding the keyboard
    is gone or inline) gets the title of the option it names, so `{{ message.text }}` reads
    "Booked, Haircut!" and not "Booked, !"."""
    if message.type is not MessageType.BUTTON_REPLY and message.type is not MessageType.LIST_REPLY:
        return message
    chosen = next((o for o in options if o.id == message.payload), None)
    return message if chosen is None else replace(message, text=chosen.title)


def _pressed_by_position(
    message: InboundMessage, options: tuple[Option, ...], from_list: bool
) -> InboundMessage | None:
    """A press of the option at a position of the menu whose fingerprint `extra` carries.

    It is that option when the menu is the one last shown (`options`). A press of an older
    menu (a slot list from yesterday, a menu shown earlier in the same turn) is no option of
    the current one: it is marked `STALE_MENU`, which no transition matches, so the state's
    fallback answers (usually with the current menu) and nothing is chosen by mistake.
    The check is done only here, O(options), for such presses.

    None when the text is not a bare position (texts merged by `debounce_ms`, the press
    last): it is read as any other text.
    """
    answer = message.text.strip()
    if not (answer.isdecimal() and len(answer) <= 6):
        return None
    position = int(answer)
    fingerprint = message.extra[OPTION_MENU]
    if (
        1 <= position <= len(options)
        and isinstance(fingerprint, str)
        and fingerprint == options_fingerprint(options)
    ):
        chosen = options[position - 1]
        # The press's text is its label, as for a button that fitted (not the position "2").
        return replace(_chose(message, chosen, from_list), text=chosen.title)
    return replace(message, extra={**message.extra, STALE_MENU: True})


def suffix_of(transition: Transition, message: InboundMessage) -> str | None:
    prefix = transition.on_payload_prefix
    if prefix is None:
        return None
    payload = effective_payload(message)
    if payload.startswith(prefix) and len(payload) > len(prefix):
        return payload[len(prefix) :]
    return None


def matches(
    transition: Transition, message: InboundMessage, renderer: Renderer, where: str
) -> bool:
    """Every trigger present must match, then the condition must hold. A press of a stale
    menu (`STALE_MENU`, see `as_option_choice`) matches nothing."""
    if message.extra and STALE_MENU in message.extra:
        return False
    if transition.on_payload is not None and effective_payload(message) != transition.on_payload:
        return False
    if transition.on_payload_prefix is not None and suffix_of(transition, message) is None:
        return False
    if transition.on_type is not None and MessageType.parse(transition.on_type) is not message.type:
        return False
    if transition.condition is not None:
        return renderer.condition(transition.condition, f"{where}.condition")
    return True
