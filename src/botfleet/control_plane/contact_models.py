"""Answers of the contact routes (`api/contacts.py`): a contact's data read from, or erased on,
the tenant's data plane, and its list of conversations. They mirror the data plane's own
answers (`data_plane/api/contacts.py`), which the control plane relays; it does not import the
data plane's modules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
)
from pydantic.config import JsonDict, JsonValue

# Owned by `task_models` (which this module's export reuses the `TaskView` of), named here too.
from botfleet.control_plane.task_models import MAX_CONTACT_ID, TaskView

__all__ = [
    "DEFAULT_CONVERSATIONS",
    "MAX_CONTACT_ID",
    "MAX_CONVERSATIONS",
    "MAX_CURSOR_LENGTH",
    "ContactErasureView",
    "ContactExportView",
    "ConversationListView",
    "ConversationView",
]
#: Most conversations one list holds, as on the data plane.
MAX_CONVERSATIONS = 1000
DEFAULT_CONVERSATIONS = 100
#: The longest `before` cursor taken, as on the data plane (whose cursors are far shorter).
MAX_CURSOR_LENGTH = 2048
_HASH = (
    "The contact as the data plane's log lines name it (a keyed hash; absent from data "
    "planes of earlier releases)"
)


class _Relayed(BaseModel):
    """A part of the data plane's export, relayed as it came: a key a newer data plane adds is
    kept, and one it left out (a template's `header_param`) stays out rather than turn null."""

    model_config = ConfigDict(extra="allow")

    # No return annotation: pydantic would publish it (`Any`: an untyped part) in place of
    # the model's own schema.
    @model_serializer(mode="wrap")
    def _as_given(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        dumped = handler(self)
        left_out = set(type(self).model_fields) - self.model_fields_set
        return {key: value for key, value in dumped.items() if key not in left_out}


class ButtonView(_Relayed):
    id: str = Field(description="What a press of the button returns (its payload)")
    title: str = Field(description="The button's label")


class OptionView(ButtonView):
    description: str = Field(description="A list row's second line; empty for a button")


class ListSectionView(_Relayed):
    title: str = Field(description="The section's heading; may be empty")
    rows: list[OptionView] = Field(description="The rows, each an option to pick")


class TemplateButtonView(_Relayed):
    index: int = Field(description="The button's position in the template, from 0")
    sub_type: str = Field(description="`quick_reply` or `url`")
    value: str = Field(description="A quick reply's payload, or the suffix of a URL button's URL")
    title: str = Field(description="What channels without templates show on a quick reply")


class TextOutput(_Relayed):
    type: Literal["text"] = Field(description="A plain text message")
    text: str = Field(description="The text sent")


class ButtonsOutput(_Relayed):
    type: Literal["buttons"] = Field(description="A text with reply buttons")
    text: str = Field(description="The text above the buttons")
    buttons: list[ButtonView] = Field(description="The buttons, in order")


class ListOutput(_Relayed):
    type: Literal["list"] = Field(description="A text with a list menu")
    text: str = Field(description="The text above the menu")
    button_label: str = Field(description="The label of the button that opens the list")
    sections: list[ListSectionView] = Field(description="The list's sections, in order")


class TemplateOutput(_Relayed):
    type: Literal["template"] = Field(description="A provider-approved template (WhatsApp)")
    name: str = Field(description="The template's name at the provider")
    language: str = Field(description="The template's language code")
    params: list[str] = Field(description="The body's `{{1}}`, `{{2}}`... in order")
    text: str = Field(description="What channels without templates send instead")
    header_param: str | None = Field(
        default=None, description="The header's `{{1}}`; absent when the header has none"
    )
    buttons: list[TemplateButtonView] = Field(
        default_factory=list, description="The buttons' parameters; absent when there are none"
    )


_OUTPUT_KINDS = frozenset({"text", "buttons", "list", "template"})
_NOT_KNOWN: JsonDict = {"not": {"enum": list[JsonValue](sorted(_OUTPUT_KINDS))}}


class OtherOutput(_Relayed):
    """An output of a kind this release does not know (a newer data plane's): relayed whole."""

    # Not a known kind: an answer matches exactly one of the outputs (`oneOf`).
    type: str = Field(description="The output's kind", json_schema_extra=_NOT_KNOWN)


def _output_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in _OUTPUT_KINDS else "other"


#: One message of the bot's, as the data plane stores it (`type` tells which).
SentOutput = Annotated[
    Annotated[TextOutput, Tag("text")]
    | Annotated[ButtonsOutput, Tag("buttons")]
    | Annotated[ListOutput, Tag("list")]
    | Annotated[TemplateOutput, Tag("template")]
    | Annotated[OtherOutput, Tag("other")],
    Discriminator(_output_kind),
]


class ContactMessageView(_Relayed):
    """A message of the contact's as the channel gave it."""

    type: str = Field(
        description="`text`, `button_reply`, `list_reply`, `image`, `audio`, `video`, "
        "`document`, `location`, `reaction`, `contacts` or `unsupported`"
    )
    timestamp: datetime = Field(description="When the channel says it was sent")
    text: str = Field(description="The text; empty for a message without one")
    payload: str = Field(description="A button or list reply's payload; empty otherwise")
    contact_name: str = Field(description="The name the channel gives the contact; may be empty")
    language: str = Field(description="The language the channel gives; may be empty")
    extra: dict[str, Any] = Field(description="The provider's own details of the message")


class InboundMessageView(ContactMessageView):
    """A message of the contact's, with its ids."""

    message_id: str = Field(description="The channel's id of the message")
    contact_id: str = Field(description="As the channel names the contact")


class ReceivedMessageView(_Relayed):
    message_id: str = Field(description="The channel's id of the message")
    received_at: datetime = Field(description="When the data plane received it")
    status: str = Field(description="`done`, `failed` (never answered) or `pending` (queued)")
    message: ContactMessageView = Field(description="The message as the channel gave it")
    replies: list[SentOutput] = Field(description="The bot's replies to it")


class SentMessageView(_Relayed):
    seq: int = Field(description="The outbox's sequence number (grows with each message)")
    at: datetime = Field(description="When the bot sent it")
    output: SentOutput = Field(description="The message (`type` tells its kind)")


class TurnView(_Relayed):
    role: str = Field(description="`user` or `bot`")
    text: str = Field(description="What was said")
    at: datetime = Field(description="When")


class ResumeView(_Relayed):
    """Where the flow carries on once a connector call it waits for answers."""

    kind: str = Field(description="`state` (a state's `on_enter`) or `task` (a flow task)")
    name: str = Field(description="The state or task")
    index: int = Field(description="The action to carry on from, from 0")
    request_id: str = Field(description="The connector call waited for")
    origin: str = Field(description="The state the turn started in")
    chain: list[str] = Field(description="The states entered in this turn so far")
    turn_id: str = Field(description="The turn's id")
    overlay: dict[str, Any] = Field(description="Values the turn set so far (its `set_data`)")
    message: InboundMessageView | None = Field(
        description="The message that started the turn; null: a task's turn"
    )
    origin_options: list[OptionView] = Field(description="The options `origin` had offered")
    origin_options_list: bool = Field(description="`origin_options` were a list's rows")


class ConversationStateView(_Relayed):
    """The contact's conversation, as the data plane keeps it."""

    tenant_id: str = Field(description="The tenant")
    contact_id: str = Field(description="As the channel names the contact")
    node: str = Field(description="The flow state the contact is in")
    created_at: datetime = Field(description="When the conversation started")
    updated_at: datetime = Field(description="The last turn: a message or a scheduled task")
    data: dict[str, Any] = Field(description="What the flow collected (its `data`)")
    history: list[TurnView] = Field(description="The last turns, oldest first (the LLM's context)")
    version: int = Field(description="Grows with each stored turn")
    awaiting: ResumeView | None = Field(description="A connector call waited for; null: none")
    last_options: list[OptionView] = Field(description="The options last offered")
    flow_id: str = Field(description="The flow the state belongs to")
    last_options_list: bool = Field(description="`last_options` were a list's rows")
    last_inbound_at: datetime | None = Field(
        description="The contact's last message (null in states stored before it was recorded)"
    )


class AppointmentView(_Relayed):
    """An upcoming appointment, as the calendar's `list_appointments` gives it (in the
    calendar's time zone)."""

    event_id: str = Field(description="The calendar's id of the event")
    date: str = Field(description="The day, YYYY-MM-DD")
    time: str = Field(description="The start time, HH:MM")
    start: str = Field(description="The start, ISO 8601 with its offset")
    end: str = Field(description="The end, ISO 8601 with its offset")
    duration_min: int = Field(description="Its length in minutes")
    service: str = Field(description="The service's key")
    service_name: str = Field(description="The service's name when it was booked")
    contact_id: str = Field(description="The contact it was booked for")
    contact_name: str = Field(description="The name it was booked under")
    slot: str = Field(description="The slot's id (as offered in a list of free slots)")
    title: str = Field(description="The appointment as the bot words it")


class CalendarAppointmentsView(_Relayed):
    """One calendar binding's appointments of the contact."""

    connector: str = Field(description="The calendar binding (`calendar`, `calendar.<name>`)")
    appointments: list[AppointmentView] | None = Field(
        description="The contact's upcoming appointments; null when the calendar could not be "
        "read (`error`)"
    )
    error: str | None = Field(default=None, description="Why the calendar could not be read")


class ContactMoveView(_Relayed):
    """A move of the contact's conversation to a new id that is not finished yet."""

    old_contact_id: str = Field(description="The group's id before it became a supergroup")
    new_contact_id: str = Field(description="The supergroup's id, where the conversation is")


class ContactExportView(BaseModel):
    """Everything the tenant's data plane holds about one contact."""

    # A field a newer data plane adds is relayed, not dropped: the export is the person's.
    model_config = ConfigDict(extra="allow")

    contact_id: str = Field(description="As the channel names the contact")
    contact_hash: str | None = Field(default=None, description=_HASH)
    stored_as: str | None = Field(
        default=None,
        description="The id the data is stored under, when it is not `contact_id` as asked (a "
        "number written with `+`, `00`, spaces or dashes: a WhatsApp contact's digits); null "
        "when it is as asked, or from a data plane that does not say",
    )
    conversation: ConversationStateView | None = Field(
        description="The conversation state; null when the contact has none"
    )
    messages_received: list[ReceivedMessageView] = Field(
        description="The contact's messages (kept 8 days), oldest first"
    )
    messages_sent: list[SentMessageView] = Field(
        description="What the bot sent the contact (kept 8 days), oldest first"
    )
    scheduled_tasks: list[TaskView] = Field(description="The contact's scheduled tasks")
    truncated: bool = Field(description="A list stopped at the data plane's limit (10,000)")
    moves: list[ContactMoveView] | None = Field(
        default=None,
        description="Unfinished moves naming the contact (a Telegram group become a "
        "supergroup whose reminders could not be moved yet): export and erase both ids; null "
        "from a data plane of a release that did not export them",
    )
    appointments: list[CalendarAppointmentsView] | None = Field(
        default=None,
        description="Upcoming appointments in each calendar the tenant binds (kept by the "
        "calendar: an erasure does not touch them); null from a data plane of a release "
        "that did not export them",
    )


class ContactErasureView(BaseModel):
    """What the erasure removed on the tenant's data plane (all zeros and false: nothing was
    held, or it was erased before)."""

    contact_id: str
    contact_hash: str | None = Field(default=None, description=_HASH)
    stored_as: str | None = Field(
        default=None,
        description="The id the data is stored under, when it is not `contact_id` as asked (a "
        "number written with `+`, `00`, spaces or dashes: a WhatsApp contact's digits); null "
        "when it is as asked, or from a data plane that does not say",
    )
    conversation: bool = Field(description="A conversation state was erased")
    messages_received: int = Field(description="The contact's messages emptied")
    messages_sent: int = Field(description="The bot's messages to the contact deleted")
    scheduled_tasks: int = Field(
        description="The contact's scheduled tasks cancelled (with those an unfinished move "
        "of a Telegram group to its supergroup still kept under the group's id)"
    )
    kept_notifications: int | None = Field(
        default=None,
        description="Notifications of the contact's turns kept to be sent again (a webhook's "
        "`redeliver_for`), deleted; null from a data plane of a release that did not keep them",
    )
    appointments_left: int | None = Field(
        default=None,
        description="Upcoming appointments of the contact the tenant's calendars still hold: an "
        "erasure leaves them (cancel them in the calendar); null when a calendar could not be "
        "read, or from a data plane of a release that did not say",
    )


class ConversationView(BaseModel):
    """Who talked to the bot and when: never what was said."""

    contact_id: str | None = Field(
        description="As the channel names the contact; null for a web chat visitor (and on a "
        "data plane that does not say the channel) to keys below owner: a web chat visitor's "
        "id is their credential: shown to owners only"
    )
    contact_hash: str = Field(description="The contact as the data plane's log lines name it")
    channel: str | None = Field(
        default=None,
        description="The kind of channel the contact talks on: whatsapp, telegram or webchat "
        "(null from a data plane that does not say)",
    )
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
    next: str | None = Field(
        default=None,
        description="When `truncated`: the cursor of the next page (the older ones), to pass "
        "as `before` as it is (sealed by the control plane: opaque); null otherwise, and from "
        "a data plane of a release that does not page",
    )
