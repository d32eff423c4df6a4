"""Answers of the contact routes (`api/contacts.py`): a contact's data read from, or erased on,
the tenant's data plane, and its list of conversations. They mirror the data plane's own
answers (`data_plane/api/contacts.py`), which the control plane relays; it does not import the
data plane's modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: The longest contact id the data plane's routes take.
MAX_CONTACT_ID = 191
#: Most conversations one list holds, as on the data plane.
MAX_CONVERSATIONS = 1000
DEFAULT_CONVERSATIONS = 100
_HASH = (
    "The contact as the data plane's log lines name it (a keyed hash; absent from data "
    "planes of earlier releases)"
)


class ContactExportView(BaseModel):
    """Everything the tenant's data plane holds about one contact."""

    # A field a newer data plane adds is relayed, not dropped: the export is the person's.
    model_config = ConfigDict(extra="allow")

    contact_id: str
    contact_hash: str | None = Field(default=None, description=_HASH)
    conversation: dict[str, Any] | None = Field(
        description="The conversation state: `node`, `data` (what the flow collected), "
        "`history`, times; null when the contact has none"
    )
    messages_received: list[dict[str, Any]] = Field(
        description="The contact's messages (kept 8 days), oldest first: `message_id`, "
        "`received_at`, `status`, `message`, `replies`"
    )
    messages_sent: list[dict[str, Any]] = Field(
        description="What the bot sent the contact (kept 8 days), oldest first: `seq`, `at`, "
        "`output`"
    )
    scheduled_tasks: list[dict[str, Any]] = Field(description="The contact's scheduled tasks")
    truncated: bool = Field(description="A list stopped at the data plane's limit (10,000)")


class ContactErasureView(BaseModel):
    """What the erasure removed on the tenant's data plane (all zeros and false: nothing was
    held, or it was erased before)."""

    contact_id: str
    contact_hash: str | None = Field(default=None, description=_HASH)
    conversation: bool = Field(description="A conversation state was erased")
    messages_received: int = Field(description="The contact's messages emptied")
    messages_sent: int = Field(description="The bot's messages to the contact deleted")
    scheduled_tasks: int = Field(description="The contact's scheduled tasks cancelled")


class ConversationView(BaseModel):
    """Who talked to the bot and when: never what was said."""

    contact_id: str = Field(description="As the channel names the contact")
    contact_hash: str = Field(description="The contact as the data plane's log lines name it")
    state: str = Field(description="The flow state the contact is in")
    created_at: datetime = Field(description="When the conversation started")
    updated_at: datetime = Field(description="The last turn: a message or a scheduled task")
    last_message_at: datetime | None = Field(
        description="The contact's last message (null in conversations the data plane stored "
        "before it recorded it)"
    )


class ConversationListView(BaseModel):
    """The tenant's conversations, the most recent first."""

    conversations: list[ConversationView] = Field(max_length=MAX_CONVERSATIONS)
    count: int = Field(ge=0)
    truncated: bool = Field(description="More conversations match than `limit`")
