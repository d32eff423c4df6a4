"""The answers of the web chat API and the shapes of the bot's replies, for the OpenAPI document.

A front end's developer generating a client from `GET /openapi.json` gets these. Nothing
validates or serialises an answer with them: the routes encode `output_to_dict` forms as plain
JSON themselves (`replies.py`), the hot `POST /inbound` without a model at all, so describing
the replies costs a turn nothing. The limits are those `degrade` fits every reply to
(`WEBCHAT_CAPABILITIES`) and docs/channels.md ("Your own front end") states;
tests/integration/channels/test_webchat_answer_schema.py checks real answers against them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES as CAPS
from botfleet.adapters.channels.webchat.schemas import MAX_PAYLOAD

#: An option's id: what a press sends back as `payload`. Ids longer than that, or empty, come
#: by position (`#opt<position>.<fingerprint>`), so every id fits.
OptionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_PAYLOAD,
        description="Send it back unchanged as the press's `payload`.",
    ),
]


class TextReply(BaseModel):
    """A plain text message."""

    type: Literal["text"]
    text: str = Field(
        min_length=1,
        max_length=CAPS.max_text,
        description="Plain text, never HTML (show it with `textContent`); a longer text comes "
        "as several replies.",
    )


class ReplyButton(BaseModel):
    """One button of a `buttons` reply."""

    id: OptionId
    title: str = Field(max_length=CAPS.max_button_title, description="The button's label.")


class ButtonsReply(BaseModel):
    """A text with buttons under it. A press sends `{"type": "button_reply", "payload": id,
    "title": title}`."""

    type: Literal["buttons"]
    text: str = Field(max_length=CAPS.max_text, description="Plain text, never HTML.")
    buttons: list[ReplyButton] = Field(min_length=1, max_length=CAPS.max_buttons)


class ListRow(BaseModel):
    """One choice of a `list` reply."""

    id: OptionId
    title: str = Field(max_length=CAPS.max_row_title)
    description: str = Field(
        max_length=CAPS.max_row_description, description='May be "": show nothing.'
    )


class ListSection(BaseModel):
    """A group of a list's rows under a heading."""

    title: str = Field(max_length=CAPS.max_row_title, description='May be "": show nothing.')
    rows: list[ListRow] = Field(
        min_length=1,
        max_length=CAPS.max_list_rows,
        description=f"At most {CAPS.max_list_rows} rows in all the list's sections together.",
    )


class ListReply(BaseModel):
    """A text and a button (`button_label`) that opens a list of choices. A pick sends
    `{"type": "list_reply", "payload": id, "title": title}`."""

    type: Literal["list"]
    text: str = Field(max_length=CAPS.max_text, description="Plain text, never HTML.")
    button_label: str = Field(
        max_length=CAPS.max_button_title, description="The label of the button that opens the list."
    )
    sections: list[ListSection] = Field(min_length=1, max_length=CAPS.max_list_rows)


#: One reply, told apart by `type`. Nothing else comes: a template arrives as its text (with
#: buttons for its quick replies), more buttons than fit as a list, a longer list as numbered text.
Reply = Annotated[TextReply | ButtonsReply | ListReply, Field(discriminator="type")]


class InboundReply(BaseModel):
    """What one inbound message produced; `duplicate` when its `message_id` was seen before
    (then `replies` and `seqs` are the first answer's). `replies` is empty with `wait=false`
    (202), which has no `seqs`."""

    message_id: str
    duplicate: bool
    replies: list[Reply]
    seqs: list[int | None] | None = Field(
        default=None,
        description="The `seq` under which `GET /messages` shows each reply, in the order of "
        "`replies` (as long): skip those when polling, they are shown already. An item is null "
        "when no `seq` shows that reply as given here (the routes fit replies to other limits "
        "than the channel stored them with); the whole field is null for a retry of a message "
        "answered before the store kept them (an upgrade). Absent from `wait=false`'s 202.",
    )
    language: str | None = Field(
        default=None,
        description="The language the flow talks to this contact in, when it chose one with "
        "`settings.language` and the platform has words in it: a BCP 47 tag (`es`, `pt-PT`, "
        "`ca-ES`). The chat page shows its own words (labels, errors) and sets `<html lang>` in "
        "it from then on; null when the flow chose none (the tenant's `language` applies) and "
        "for a retry (`duplicate`): keep what is shown. Absent from `wait=false`'s 202.",
    )


class OutboxMessage(BaseModel):
    """One message the bot sent."""

    seq: int = Field(description="Its place among the tenant's outgoing messages (a cursor).")
    contact_id: str
    at: str = Field(
        json_schema_extra={"format": "date-time"},
        description="When it was stored (ISO 8601 with an offset); for display only.",
    )
    output: Reply


class MessagesPage(BaseModel):
    """`GET /messages`: messages after `since`, and the cursor to pass as the next `since`."""

    messages: list[OutboxMessage]
    last: int
