"""Channel-neutral outputs -> Telegram `sendMessage` bodies with inline keyboards. Pure.

Buttons and list rows become inline keyboard buttons, one per row; their `callback_data` is the
option id. Telegram limits `callback_data` to 64 bytes, so a longer id is replaced by the
option's 1-based position and its menu's fingerprint (`#opt2.<fingerprint>`, `option_ids`),
which the inbound side turns back into the typed answer "2" (the engine reads it as the second
option if that menu is still the last one shown). List descriptions and section titles, which a
keyboard cannot show, are written under the body. Text is plain (no parse_mode): nothing in a
bot's text can be misread as markup, and no entity can be cut in two. A contact that is a forum
topic gets its `message_thread_id` on every message (`contact_ids`).
"""

from __future__ import annotations

from typing import Any

from botfleet.adapters.channels.option_ids import sendable_ids
from botfleet.adapters.channels.telegram.contact_ids import chat_target
from botfleet.domain.degrade import shorten, split_text
from botfleet.domain.outputs import Buttons, ListMenu, Option, Output, TemplateMessage, Text
from botfleet.ports.channels import Capabilities

TELEGRAM_CAPABILITIES = Capabilities(
    buttons=True,
    max_buttons=8,  # one button per keyboard row: more than this is a list
    max_button_title=40,
    lists=True,  # drawn as a keyboard, rows described under the body
    max_list_rows=20,
    max_row_title=40,
    max_row_description=72,
    max_text=4096,
    templates=False,  # templates are WhatsApp's; their fallback text is sent
)
MAX_CALLBACK_DATA_BYTES = 64

Payload = dict[str, Any]


def message_payloads(contact_id: str, output: Output, *, empty_body: str = "👇") -> list[Payload]:
    """The sendMessage bodies that deliver `output` to `contact_id` (a chat or a forum topic),
    in order."""
    limit = TELEGRAM_CAPABILITIES.max_text
    if isinstance(output, Text):
        return [text_payload(contact_id, chunk) for chunk in split_text(output.text, limit)]
    if isinstance(output, TemplateMessage):
        text = output.fallback_text.strip() or output.name
        return [text_payload(contact_id, chunk) for chunk in split_text(text, limit)]
    if isinstance(output, Buttons):
        body, options = output.body, output.buttons
    else:
        body, options = _list_body(output), output.options
    chunks = split_text(body, limit) or [empty_body]
    *head, last = chunks
    keyboard = inline_keyboard(options)
    return [
        *(text_payload(contact_id, chunk) for chunk in head),
        {**text_payload(contact_id, last), "reply_markup": keyboard},
    ]


def text_payload(contact_id: str, text: str) -> Payload:
    """A plain sendMessage body to a chat, or to a forum topic (`message_thread_id`)."""
    return {**chat_target(contact_id), "text": text}


def inline_keyboard(options: tuple[Option, ...]) -> Payload:
    limit = TELEGRAM_CAPABILITIES.max_button_title
    ids = sendable_ids(options, fits_callback_data)
    rows = [
        [{"text": shorten(o.title.strip() or o.id, limit), "callback_data": data}]
        for o, data in zip(options, ids, strict=True)
    ]
    return {"inline_keyboard": rows}


def fits_callback_data(option_id: str) -> bool:
    """Whether Telegram takes `option_id` as `callback_data` (1 to 64 bytes); a longer or empty
    one is sent by position."""
    return 0 < len(option_id) <= MAX_CALLBACK_DATA_BYTES and (
        len(option_id.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_DATA_BYTES
    )


def answer_callback_payload(query_id: str) -> Payload:
    return {"callback_query_id": query_id}


def _list_body(output: ListMenu) -> str:
    """The body, plus section titles and row descriptions when there are any to show."""
    sections = [s for s in output.sections if s.rows]
    described = any(r.description.strip() for s in sections for r in s.rows)
    titled = any(s.title.strip() for s in sections)
    if not (described or titled):
        return output.body
    blocks = [output.body.strip()] if output.body.strip() else []
    for section in sections:
        lines = [section.title.strip()] if section.title.strip() else []
        for row in section.rows:
            line = f"• {row.title.strip() or row.id}"
            if row.description.strip():
                line += f" — {row.description.strip()}"
            lines.append(line)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
