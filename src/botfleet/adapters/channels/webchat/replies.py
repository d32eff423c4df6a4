"""The bot's replies as the web chat API gives them: `output_to_dict` forms, fitted to the
channel, with option ids the page could not send back sent by position.

Encoded as plain JSON, not through the documented models (`answer_schema.py`): a model would
validate and serialise the replies again, on every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botfleet.adapters.channels.option_ids import sendable_ids
from botfleet.adapters.channels.webchat.page_words import answer_language
from botfleet.adapters.channels.webchat.schemas import MAX_PAYLOAD
from botfleet.domain.degrade import degrade
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    Section,
    output_from_dict,
    output_to_dict,
)
from botfleet.json_text import json_bytes
from botfleet.ports.channels import Capabilities, TurnResult


def encode_reply(result: TurnResult, capabilities: Capabilities) -> bytes:
    """The `POST /inbound` answer: an `InboundReply` as JSON, the replies fitted to the channel,
    with the `seq` `GET /messages` shows each under (`seqs`) and the language the flow chose
    for the conversation (`language`), which the chat page's own words follow."""
    fitted: Sequence[Output] = degrade(result.outputs, capabilities)
    seqs = result.seqs
    if seqs is None or len(seqs) != len(result.outputs):
        shown: list[int | None] | None = None
    elif fitted == result.outputs:  # the runtime fitted them to these capabilities already
        shown = list(seqs)
    else:
        fitted, shown = _refitted(result.outputs, seqs, capabilities)
    answer = {
        "message_id": result.message_id,
        "duplicate": result.duplicate,
        "replies": [output_to_dict(by_position(o)) for o in fitted],
        "seqs": shown,
        "language": answer_language(result.language) if result.language else None,
    }
    return json_bytes(answer)


def _refitted(
    outputs: Sequence[Output], seqs: Sequence[int], capabilities: Capabilities
) -> tuple[list[Output], list[int | None]]:
    """Outputs stored fitted to other capabilities than these (routes built with their own):
    each fitted again, one by one. A reply keeps its stored output's seq only if it is that
    output unchanged, for `GET /messages` shows the stored one under it; the replies made of
    one fitted anew (split, or changed) get None, as no seq shows them."""
    replies: list[Output] = []
    shown: list[int | None] = []
    for output, seq in zip(outputs, seqs, strict=True):
        fitted = degrade((output,), capabilities)
        same = fitted == (output,)
        replies.extend(fitted)
        shown.extend(seq if same else None for _ in fitted)
    return replies, shown


def fits_payload(option_id: str) -> bool:
    """Whether the page can send `option_id` back as a choice's `payload` (1 to `MAX_PAYLOAD`
    characters); another is sent by position (`option_ids`)."""
    return 0 < len(option_id) <= MAX_PAYLOAD


def by_position(output: Output) -> Output:
    """`output` with the option ids the page could not send back replaced by
    `#opt<position>.<fingerprint>`; `output` itself when every id fits (the usual case)."""
    if isinstance(output, Buttons):
        options = output.buttons
    elif isinstance(output, ListMenu):
        options = output.options
    else:
        return output
    for option in options:  # a plain loop: this runs on every turn's menu
        if not 0 < len(option.id) <= MAX_PAYLOAD:
            break
    else:
        return output
    ids = iter(sendable_ids(options, fits_payload))

    def renamed(option: Option) -> Option:
        return Option(next(ids), option.title, option.description)

    if isinstance(output, Buttons):
        return Buttons(output.body, tuple(renamed(b) for b in output.buttons))
    sections = tuple(Section(s.title, tuple(renamed(r) for r in s.rows)) for s in output.sections)
    return ListMenu(output.body, output.button_label, sections)


def sendable_output(output: dict[str, Any]) -> dict[str, Any]:
    """An outbox row's output (`output_to_dict` form) with ids the page could not send back
    sent by position, as in `encode_reply`."""
    kind = output.get("type")
    if kind == "buttons":
        ids = [b.get("id") for b in output.get("buttons") or ()]
    elif kind == "list":
        ids = [r.get("id") for s in output.get("sections") or () for r in s.get("rows") or ()]
    else:
        return output
    if all(isinstance(i, str) and fits_payload(i) for i in ids):
        return output
    return output_to_dict(by_position(output_from_dict(output)))
