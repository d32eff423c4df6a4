"""The web chat API's request body and its limits (pydantic, at the edge only); the answers
are described in `answer_schema.py`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

#: Characters allowed in contact and message ids: no spaces, quotes, slashes or control codes.
SAFE_ID_PATTERN = r"^[A-Za-z0-9_.:@+\-]+$"
MAX_ID = 128
MAX_TEXT = 4096
#: An option's id as the page got it: a longer one is sent to the page by position
#: (`#opt<position>.<fingerprint>`, `webchat.replies.by_position`), as WhatsApp and Telegram do.
MAX_PAYLOAD = MAX_TEXT
MAX_TITLE = 256
MAX_NAME = 128

#: What `SAFE_ID_PATTERN` allows, in words: a 422 says this rather than the pattern.
SAFE_ID_RULE = (
    f"should be 1 to {MAX_ID} of the characters A-Z a-z 0-9 _ . : @ + - "
    "(no spaces, accents or emoji), e.g. a random UUID"
)

SafeId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID, pattern=SAFE_ID_PATTERN)]

_CHOICE_TYPES = ("button_reply", "list_reply")


class InboundBody(BaseModel):
    """`POST /inbound`: a typed text, or a pressed button / picked list row."""

    model_config = ConfigDict(extra="forbid")

    contact_id: SafeId
    type: Literal["text", "button_reply", "list_reply"] = "text"
    # `type` comes first: the validators below read it from `info.data`.
    text: str = Field(default="", max_length=MAX_TEXT, validate_default=True)
    payload: str = Field(default="", max_length=MAX_PAYLOAD, validate_default=True)
    title: str = Field(default="", max_length=MAX_TITLE)
    message_id: SafeId | None = None
    contact_name: str = Field(default="", max_length=MAX_NAME)

    @field_validator("text")
    @classmethod
    def _text_matches_type(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        if kind == "text" and not value.strip():
            raise ValueError("a text message needs non-empty 'text'")
        if kind in _CHOICE_TYPES and value:
            raise ValueError(f"not allowed with type {kind!r}; send the option's label as 'title'")
        return value

    @field_validator("payload")
    @classmethod
    def _payload_matches_type(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("type")
        if kind in _CHOICE_TYPES and not value:
            raise ValueError(f"type {kind!r} needs the chosen option's id as 'payload'")
        if kind == "text" and value:
            raise ValueError(
                "not allowed with type 'text'; use type 'button_reply' or 'list_reply'"
            )
        return value

    @field_validator("title")
    @classmethod
    def _title_only_for_choices(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("type") == "text" and value:
            raise ValueError("only allowed with type 'button_reply' or 'list_reply'")
        return value
