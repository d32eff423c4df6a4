"""Option ids too long for a channel, sent by position. Pure.

A provider caps the id a button or list row carries (Telegram's `callback_data` 64 bytes,
WhatsApp 256 characters for a button and 200 for a row, the web chat `POST /inbound`'s 4096). An
option whose id does not fit is sent as `#opt<position>.<fingerprint>`: its 1-based position in
its menu and the fingerprint of that menu's ids (`options_fingerprint`). A press comes back as
the typed answer "<position>" with the fingerprint in `extra[OPTION_MENU]`; the engine reads it
as that option only if the menu is still the last one shown (`flows.matching`), so a press of an
older menu never picks an option of the current one.

`#opt<position>` without a fingerprint is what was sent before fingerprints: it still comes back
as the plain typed answer (the option of the last menu, as it always was).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from botfleet.domain.messages import OPTION_MENU
from botfleet.domain.outputs import FINGERPRINT_LENGTH, Option, options_fingerprint

PREFIX = "#opt"
#: An id sent by position: group 1 the position, group 2 the menu's fingerprint (absent in ids
#: sent before fingerprints).
POSITIONAL_ID = re.compile(rf"#opt([1-9][0-9]{{0,2}})(?:\.([0-9a-f]{{{FINGERPRINT_LENGTH}}}))?")


def sendable_ids(options: Sequence[Option], fits: Callable[[str], bool]) -> list[str]:
    """The id to send for each option: its own when `fits`, else `#opt<position>.<fingerprint>`.

    The menu's fingerprint is computed only when an id does not fit.
    """
    fingerprint = ""
    ids: list[str] = []
    for position, option in enumerate(options, start=1):
        if fits(option.id):
            ids.append(option.id)
            continue
        fingerprint = fingerprint or options_fingerprint(options)
        ids.append(f"{PREFIX}{position}.{fingerprint}")
    return ids


def positional_press(option_id: str, *, legacy: bool = True) -> tuple[str, dict[str, Any]] | None:
    """(the typed answer, `extra` entries) of a pressed id sent by position, else None.

    `legacy`: also take `#opt<position>` without a fingerprint (sent by earlier versions).
    """
    if not option_id.startswith(PREFIX):
        return None
    match = POSITIONAL_ID.fullmatch(option_id)
    if match is None:
        return None
    position, fingerprint = match.groups()
    if fingerprint is None:
        return (position, {}) if legacy else None
    return position, {OPTION_MENU: fingerprint}
