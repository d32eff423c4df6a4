"""Channel-neutral outputs -> WhatsApp Cloud API `POST /messages` bodies. Pure.

Outputs are expected to be degraded to `WHATSAPP_CAPABILITIES` already; this module enforces the
limits that capabilities do not describe: an interactive body holds 1024 characters (a longer
one is sent as text first), list sections need titles when there are several, and option ids
over WhatsApp's length limit are replaced by their 1-based position and their menu's
fingerprint (`#opt2.<fingerprint>`, `option_ids`), which the inbound side turns back into the
typed answer "2" (read by the engine as the second option if that menu is still the last one
shown).
"""

from __future__ import annotations

import re
from typing import Any

from botfleet.adapters.channels.option_ids import sendable_ids
from botfleet.domain.degrade import shorten, split_text
from botfleet.domain.outputs import (
    QUICK_REPLY,
    Buttons,
    ListMenu,
    Option,
    Output,
    TemplateButton,
    TemplateMessage,
    Text,
)
from botfleet.ports.channels import Capabilities

WHATSAPP_CAPABILITIES = Capabilities(
    buttons=True,
    max_buttons=3,
    max_button_title=20,
    lists=True,
    max_list_rows=10,
    max_row_title=24,
    max_row_description=72,
    max_text=4096,
    templates=True,
)
MAX_INTERACTIVE_BODY = 1024
MAX_BUTTON_ID = 256
MAX_ROW_ID = 200
MAX_LIST_BUTTON = 20
MAX_SECTION_TITLE = 24
#: A template's text header holds 60 characters, its variable's value included.
MAX_TEMPLATE_HEADER_PARAM = 60
#: A business-scoped user id ("US.1349...", a parent one "US.ENT.1181..."): the contact of a
#: user with a username who shares no phone number. Phone numbers are digits only.
BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9.]{1,160}")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
_RUN_OF_SPACES = re.compile(r" {5,}")

Payload = dict[str, Any]


def message_payloads(to: str, output: Output, *, empty_body: str = "👇") -> list[Payload]:
    """The API bodies that deliver `output` to `to`, in order (more than one for long bodies)."""
    if isinstance(output, Text):
        return [text_payload(to, chunk) for chunk in split_text(output.text, 4096)]
    if isinstance(output, TemplateMessage):
        return [template_payload(to, output)]
    head, body = _fit_body(output.body, empty_body)
    first = [text_payload(to, chunk) for chunk in head]
    if isinstance(output, Buttons):
        # Titles are unique as sent: degradation (which every send runs first) makes buttons
        # whose titles would repeat a list, since Graph refuses a title twice.
        return [*first, _interactive(to, "button", body, _button_action(output.buttons))]
    return [*first, _interactive(to, "list", body, _list_action(output))]


def text_payload(to: str, text: str) -> Payload:
    return _envelope(to, "text", {"text": {"preview_url": False, "body": text}})


#: What an empty parameter is sent as: Graph refuses an empty one ("Parameter 'text' is
#: mandatory", error 100) and with it the whole reminder, which matters more than one value.
EMPTY_TEMPLATE_PARAM = "-"


def template_param(text: str) -> str:
    """A body parameter as Graph takes it: no new lines or tabs and at most four spaces in a
    row (else error 132018 refuses the whole template), so a multi-line address still goes;
    never empty (see `EMPTY_TEMPLATE_PARAM`)."""
    return _RUN_OF_SPACES.sub("    ", _LINE_BREAKS.sub(" ", text)).strip() or EMPTY_TEMPLATE_PARAM


def template_payload(to: str, output: TemplateMessage) -> Payload:
    """Graph's template message: components header, body, then one per button in index order,
    each left out when it has nothing to fill (a template without variables has none)."""
    template: dict[str, Any] = {"name": output.name, "language": {"code": output.language}}
    components: list[Payload] = []
    if output.header_param is not None:
        header = shorten(template_param(output.header_param), MAX_TEMPLATE_HEADER_PARAM)
        components.append({"type": "header", "parameters": [_text_parameter(header)]})
    if output.params:
        parameters = [_text_parameter(template_param(p)) for p in output.params]
        components.append({"type": "body", "parameters": parameters})
    components.extend(_template_button(b) for b in sorted(output.buttons, key=_by_index))
    if components:
        template["components"] = components
    return _envelope(to, "template", {"template": template})


def _text_parameter(text: str) -> Payload:
    return {"type": "text", "text": text}


def _by_index(button: TemplateButton) -> int:
    return button.index


def _template_button(button: TemplateButton) -> Payload:
    # A quick reply's payload goes as written: the press returns it, and transitions compare
    # it exactly. A URL suffix is a text parameter like the body's (never empty).
    if button.sub_type == QUICK_REPLY:
        parameter: Payload = {"type": "payload", "payload": button.value}
    else:
        parameter = _text_parameter(template_param(button.value))
    # Graph documents the index as a string ("0").
    return {
        "type": "button",
        "sub_type": button.sub_type,
        "index": str(button.index),
        "parameters": [parameter],
    }


#: How long Graph shows "typing…" unless a message to the contact ends it first.
TYPING_LASTS_S = 25.0


def read_receipt_payload(message_id: str) -> Payload:
    """Marks an inbound message read (blue ticks)."""
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}


def typing_payload(message_id: str) -> Payload:
    """Marks an inbound message read and shows "typing…" until the next message to the
    contact, or `TYPING_LASTS_S`."""
    return {**read_receipt_payload(message_id), "typing_indicator": {"type": "text"}}


def _envelope(to: str, kind: str, content: Payload) -> Payload:
    # Graph takes a phone number as `to` and a business-scoped user id as `recipient`.
    address = "recipient" if BSUID.fullmatch(to) else "to"
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        address: to,
        "type": kind,
        **content,
    }


def _interactive(to: str, kind: str, body: str, action: Payload) -> Payload:
    interactive = {"type": kind, "body": {"text": body}, "action": action}
    return _envelope(to, "interactive", {"interactive": interactive})


def _button_action(buttons: tuple[Option, ...]) -> Payload:
    ids = sendable_ids(buttons, _fits_button)
    return {
        "buttons": [
            {"type": "reply", "reply": {"id": sent_id, "title": _button_title(b)}}
            for b, sent_id in zip(buttons, ids, strict=True)
        ]
    }


def _button_title(button: Option) -> str:
    return shorten(button.title.strip() or button.id, WHATSAPP_CAPABILITIES.max_button_title)


def _list_action(output: ListMenu) -> Payload:
    caps = WHATSAPP_CAPABILITIES
    label = shorten(output.button_label.strip() or "Options", MAX_LIST_BUTTON)
    sections = [s for s in output.sections if s.rows]
    several = len(sections) > 1
    # Positions count the rows of all sections, as the engine's options do.
    ids = iter(sendable_ids(output.options, _fits_row))
    rendered: list[Payload] = []
    for section in sections:
        rows: list[Payload] = []
        for row in section.rows:
            item = {
                "id": next(ids),
                "title": shorten(row.title.strip() or row.id, caps.max_row_title),
            }
            if row.description.strip():
                item["description"] = shorten(row.description, caps.max_row_description)
            rows.append(item)
        entry: Payload = {"rows": rows}
        # A title is required once there are several sections; one section may omit it.
        title = section.title.strip() or (label if several else "")
        if title:
            entry["title"] = shorten(title, MAX_SECTION_TITLE)
        rendered.append(entry)
    return {"button": label, "sections": rendered}


def _fits_button(option_id: str) -> bool:
    """Whether WhatsApp takes `option_id` as a reply button's id (else it is sent by position)."""
    return 0 < len(option_id) <= MAX_BUTTON_ID


def _fits_row(option_id: str) -> bool:
    """Whether WhatsApp takes `option_id` as a list row's id (else it is sent by position)."""
    return 0 < len(option_id) <= MAX_ROW_ID


def _fit_body(body: str, empty_body: str) -> tuple[list[str], str]:
    """(texts to send first, body of at most 1024 characters, never empty)."""
    if not body.strip():
        return [], empty_body
    if len(body) <= MAX_INTERACTIVE_BODY:
        return [], body
    # The last 1024-character piece stays the body; what precedes it goes as ordinary texts,
    # which may be up to 4096 characters each.
    tail = split_text(body, MAX_INTERACTIVE_BODY)[-1]
    head = body[: body.rfind(tail)]
    return split_text(head, WHATSAPP_CAPABILITIES.max_text), tail
