"""Channel-neutral outputs. The engine emits these; channel senders degrade them to fit."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    id: str
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    kind: str = "text"


@dataclass(frozen=True, slots=True)
class Buttons:
    body: str
    buttons: tuple[Option, ...]
    kind: str = "buttons"


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class ListMenu:
    body: str
    button_label: str
    sections: tuple[Section, ...]
    kind: str = "list"

    @property
    def options(self) -> tuple[Option, ...]:
        return tuple(row for section in self.sections for row in section.rows)


#: `TemplateButton.sub_type` of a quick-reply button: its value is the payload a press returns.
QUICK_REPLY = "quick_reply"
#: `TemplateButton.sub_type` of a URL button: its value is appended to the template's URL.
URL_BUTTON = "url"


@dataclass(frozen=True, slots=True)
class TemplateButton:
    """The parameter of one button of a template, named by the button's position in it."""

    index: int
    sub_type: str  # QUICK_REPLY or URL_BUTTON
    value: str
    #: What channels without templates show on a quick reply's button (the payload if blank).
    title: str = ""


@dataclass(frozen=True, slots=True)
class TemplateMessage:
    """A provider-approved template (WhatsApp outside the 24-hour window).

    `params` fill the body's `{{1}}`, `{{2}}`...; `header_param` the header's `{{1}}` (None: the
    template's header has no variable, or it has no header); `buttons` carry the quick replies'
    payloads and a URL button's suffix. Channels without templates send `fallback_text`, with
    the quick replies as buttons (`quick_replies`)."""

    name: str
    language: str
    params: tuple[str, ...] = ()
    fallback_text: str = ""
    header_param: str | None = None
    buttons: tuple[TemplateButton, ...] = ()
    kind: str = "template"

    @property
    def quick_replies(self) -> tuple[Option, ...]:
        """The quick replies as the options a press or a typed answer picks: the payload as
        id, the title shown where templates are not available as title."""
        return tuple(
            Option(b.value, b.title.strip() or b.value)
            for b in self.buttons
            if b.sub_type == QUICK_REPLY
        )


Output = Text | Buttons | ListMenu | TemplateMessage


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can show; outputs beyond these limits are degraded to fit
    (`botfleet.domain.degrade`)."""

    buttons: bool = True
    max_buttons: int = 3
    max_button_title: int = 20
    lists: bool = True
    max_list_rows: int = 10
    max_row_title: int = 24
    max_row_description: int = 72
    max_text: int = 4096
    templates: bool = False


def options_of(output: Output) -> tuple[Option, ...]:
    """The choices an output offers the user (empty for plain text), each id once: the first
    option with an id, as degradation keeps it (`unique_options`)."""
    if isinstance(output, Buttons):
        return unique_options(output.buttons)
    if isinstance(output, ListMenu):
        return unique_options(output.options)
    if isinstance(output, TemplateMessage):
        # A reminder's "Confirm" / "Cancel": a typed "1" or title picks one as on any menu,
        # and a press sent by position (Telegram's fallback) is checked against them.
        return unique_options(output.quick_replies)
    return ()


def unique_options(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """`options` without those whose id an earlier one has.

    A press carries only the id: channels refuse a repeated one (WhatsApp the whole message) or
    could not tell which was meant. The engine's options (`last_options`) and what channels show
    must drop the same ones, or a typed "2" or a press by position (`#opt2.<fingerprint>`) would
    name another option.
    """
    seen = {option.id for option in options}
    if len(seen) == len(options):  # the usual case: nothing to copy
        return options
    seen.clear()
    kept: list[Option] = []
    for option in options:
        if option.id not in seen:
            seen.add(option.id)
            kept.append(option)
    return tuple(kept)


#: Length of `options_fingerprint` (hex digits: 40 bits).
FINGERPRINT_LENGTH = 10


def options_fingerprint(options: Iterable[Option]) -> str:
    """A short, stable digest of a menu's option ids, in order (titles are left out: channels
    cut them). Channels that send an over-long id by position add it (`#opt2.<fingerprint>`),
    and the engine compares it with the menu it last showed, so a press of an older menu is
    never read as an option of the current one."""
    digest = hashlib.blake2b(digest_size=FINGERPRINT_LENGTH // 2)
    for option in options:
        data = option.id.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))  # length-prefixed: ("ab", "c") != ("a", "bc")
        digest.update(data)
    return digest.hexdigest()


def output_to_dict(output: Output) -> dict[str, Any]:
    """JSON-ready form used by the web chat API and transcripts."""
    if isinstance(output, Text):
        return {"type": "text", "text": output.text}
    if isinstance(output, Buttons):
        return {
            "type": "buttons",
            "text": output.body,
            "buttons": [{"id": b.id, "title": b.title} for b in output.buttons],
        }
    if isinstance(output, ListMenu):
        return {
            "type": "list",
            "text": output.body,
            "button_label": output.button_label,
            "sections": [
                {
                    "title": s.title,
                    "rows": [
                        {"id": r.id, "title": r.title, "description": r.description} for r in s.rows
                    ],
                }
                for s in output.sections
            ],
        }
    data: dict[str, Any] = {
        "type": "template",
        "name": output.name,
        "language": output.language,
        "params": list(output.params),
        "text": output.fallback_text,
    }
    # Only when there are some: a plain template keeps the form journals already hold.
    if output.header_param is not None:
        data["header_param"] = output.header_param
    if output.buttons:
        data["buttons"] = [
            {"index": b.index, "sub_type": b.sub_type, "value": b.value, "title": b.title}
            for b in output.buttons
        ]
    return data


def output_from_dict(data: dict[str, Any]) -> Output:
    """Inverse of `output_to_dict` (journal replays, transcripts)."""
    kind = data.get("type")
    if kind == "buttons":
        return Buttons(
            str(data.get("text", "")),
            tuple(Option(str(b["id"]), str(b["title"])) for b in data.get("buttons", [])),
        )
    if kind == "list":
        sections = tuple(
            Section(
                str(s.get("title", "")),
                tuple(
                    Option(str(r["id"]), str(r["title"]), str(r.get("description", "")))
                    for r in s.get("rows", [])
                ),
            )
            for s in data.get("sections", [])
        )
        return ListMenu(str(data.get("text", "")), str(data.get("button_label", "")), sections)
    if kind == "template":
        header = data.get("header_param")
        return TemplateMessage(
            str(data["name"]),
            str(data.get("language", "en")),
            tuple(str(p) for p in data.get("params", [])),
            str(data.get("text", "")),
            header_param=None if header is None else str(header),
            buttons=tuple(
                TemplateButton(
                    int(b["index"]), str(b["sub_type"]), str(b["value"]), str(b.get("title", ""))
                )
                for b in data.get("buttons", [])
            ),
        )
    return Text(str(data.get("text", "")))
