"""A contact's data on request: `GET /contacts/{contact_id}` (everything held about them) and
`DELETE /contacts/{contact_id}` (erase it). `runtime/contact_data.py` says what is covered.
Internal, and always behind the token (`check_actor`): the answers hold a person's messages.

`GET /conversations` lists who talked to the bot and when (no content), newest first, as
`GET /tasks` lists jobs: behind the token, or from this machine in development (`check_reader`);
a page's `next` cursor, passed back as `before`, gives the older ones (`conversation_cursor`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.contact_hash import hash_contact
from botfleet.data_plane.api.conversation_cursor import (
    MAX_CURSOR_LENGTH,
    decode_cursor,
    encode_cursor,
)
from botfleet.data_plane.api.internal_auth import check_actor, check_reader
from botfleet.data_plane.api.tasks import TaskView
from botfleet.data_plane.runtime.bare_ids import misfiled_bare_id
from botfleet.data_plane.runtime.contact_data import EXPORT_LIMIT, ContactData
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.ports.contact_records import ContactRecords
from botfleet.ports.redelivery import QueuedCall
from botfleet.ports.stores import JournalEntry
from botfleet.web import Operation, query_of

#: As long as the other routes' contact ids may be.
MAX_CONTACT_ID = 191
#: Most conversations one `GET /conversations` lists.
MAX_CONVERSATIONS = 1000


class ReceivedView(BaseModel):
    message_id: str
    received_at: datetime
    status: str = Field(description="`done`, `failed` (never answered) or `pending` (queued)")
    message: dict[str, Any] = Field(
        description="The message as the channel gave it: `type`, `text`, `payload`, "
        "`contact_name`, `language`, `timestamp`, `extra` (provider details)"
    )
    replies: list[dict[str, Any]] = Field(description="The bot's replies to it")


class SentView(BaseModel):
    seq: int
    at: datetime
    output: dict[str, Any]


_HASH = (
    "The contact as the data plane's log lines name it (a keyed hash, docs/operations.md "
    '"Logs"): to find its lines, or to record the request without the contact\'s id'
)


class AppointmentsView(BaseModel):
    connector: str = Field(description="The calendar binding (`calendar`, `calendar.<name>`)")
    appointments: list[dict[str, Any]] | None = Field(
        description="The contact's upcoming appointments as `list_appointments` gives them; "
        "null when the calendar could not be read (`error`)"
    )
    error: str | None = None


class MoveView(BaseModel):
    old_contact_id: str = Field(description="The group's id before it became a supergroup")
    new_contact_id: str = Field(description="The supergroup's id, where the conversation is")


class KeptNotificationView(BaseModel):
    connector: str = Field(description="The binding (`notification.crm`)")
    operation: str
    params: dict[str, Any] = Field(description="What the notification carries, as the flow gave")
    kept_since: datetime = Field(description="When it first failed")
    next_attempt_at: datetime
    attempts: int = Field(
        description="Attempts made since it was kept (the first call's own retries not counted)"
    )

    @classmethod
    def of(cls, call: QueuedCall) -> KeptNotificationView:
        return cls(
            connector=call.connector,
            operation=call.operation,
            params=dict(call.params),
            kept_since=call.queued_at,
            next_attempt_at=call.next_at,
            attempts=call.attempts,
        )


class ContactExportView(BaseModel):
    contact_id: str
    contact_hash: str = Field(description=_HASH)
    stored_as: str | None = Field(
        default=None,
        description="The id the data is stored under, when it is not `contact_id` as asked: a "
        "number written with `+`, `00`, spaces or dashes is a WhatsApp contact's digits "
        "(`+49 151 1222 3334` is `4915112223334`); null when it is as asked",
    )
    conversation: dict[str, Any] | None = Field(
        description="The conversation state: `node`, `data` (what the flow collected), "
        "`history`, times; null when the contact has none"
    )
    messages_received: list[ReceivedView] = Field(description="Kept 8 days, oldest first")
    messages_sent: list[SentView] = Field(description="Kept 8 days, oldest first")
    scheduled_tasks: list[TaskView]
    truncated: bool = Field(description=f"A list stopped at {EXPORT_LIMIT} entries")
    appointments: list[AppointmentsView] = Field(
        description="Upcoming appointments in each calendar the tenant binds (kept by the "
        "calendar: an erasure does not touch them)"
    )
    kept_notifications: list[KeptNotificationView] = Field(
        default_factory=list,
        description="Notifications of the contact's turns the receiver did not take yet, kept "
        "to be sent again (a webhook binding's `redeliver_for`): what the business will get",
    )
    moves: list[MoveView] = Field(
        description="Moves of the contact to a new id (a Telegram group become a supergroup) "
        "not finished yet: the conversation moved, its reminders did not (the job file could "
        "not be written; the next start moves them). The new id's `scheduled_tasks` and "
        "erasure include the reminders still under the old id; the old id's messages stay "
        "under it: export and erase it too. Empty when none"
    )


class ContactErasureView(BaseModel):
    contact_id: str
    contact_hash: str = Field(description=_HASH)
    stored_as: str | None = Field(
        default=None,
        description="The id the data is stored under, when it is not `contact_id` as asked: a "
        "number written with `+`, `00`, spaces or dashes is a WhatsApp contact's digits "
        "(`+49 151 1222 3334` is `4915112223334`); null when it is as asked",
    )
    conversation: bool = Field(description="A conversation state was erased")
    messages_received: int = Field(description="The contact's messages emptied")
    messages_sent: int = Field(description="The bot's messages to the contact deleted")
    scheduled_tasks: int = Field(
        description="The contact's scheduled tasks cancelled (with those an unfinished move "
        "still kept under its earlier id)"
    )
    kept_notifications: int = Field(
        default=0,
        description="Notifications of the contact's turns kept to be sent again, deleted: the "
        "business will not get them",
    )
    appointments_left: int | None = Field(
        default=0,
        description="Upcoming appointments of the contact the tenant's calendars still hold: "
        "an erasure leaves them (cancel them in the calendar, or through the bot first); null "
        "when a calendar could not be read",
    )


class ConversationsQuery(BaseModel):
    """`GET /conversations` filters."""

    active_since: datetime | None = Field(
        default=None, description="Only conversations with a turn at or after this ISO time"
    )
    limit: int = Field(default=100, ge=1, le=MAX_CONVERSATIONS)
    before: str | None = Field(
        default=None,
        max_length=MAX_CURSOR_LENGTH,
        description="Only those after this cursor: the `next` of the previous page, as it is "
        "(with the same `active_since`)",
    )


class ConversationView(BaseModel):
    contact_id: str
    contact_hash: str = Field(description=_HASH)
    channel: str = Field(
        description="The kind of channel the contact talks on: whatsapp, telegram or webchat "
        "(a tenant with more_channels: docs/channels.md)"
    )
    state: str = Field(description="The flow state the contact is in")
    created_at: datetime
    updated_at: datetime = Field(description="The last turn: a message or a scheduled task")
    last_message_at: datetime | None = Field(
        description="The contact's last message (null in conversations stored before it was "
        "recorded)"
    )


class ConversationList(BaseModel):
    conversations: list[ConversationView]
    count: int
    truncated: bool = Field(description="More conversations match than `limit`")
    next: str | None = Field(
        description="When `truncated`: the cursor of the next page (the older ones), to pass "
        "as `before`; null otherwise"
    )


def _records(request: Request) -> tuple[ConversationRuntime, ContactRecords]:
    runtime: ConversationRuntime = request.app.state.runtime
    if runtime.records is None:
        # For good, not for a while: no Retry-After to wait for.
        raise HTTPException(501, "this data plane's store keeps no contact records")
    return runtime, runtime.records


def _contact_data(request: Request) -> tuple[ContactData, str]:
    runtime, records = _records(request)
    contact_id = str(request.path_params["contact_id"])
    if not 0 < len(contact_id) <= MAX_CONTACT_ID:
        raise HTTPException(422, f"contact_id: 1 to {MAX_CONTACT_ID} characters")
    return ContactData(runtime, records), contact_id


async def _stored_id(data: ContactData, asked: str) -> str:
    """`ContactData.stored_id`; 422 for a more channel's contact asked without its prefix
    (`bare_ids`): an erasure of no one would answer zeros that read as done."""
    contact_id = await data.stored_id(asked)
    misfiled = await misfiled_bare_id(data.runtime.ctx, contact_id, data.holds)
    if misfiled is not None:
        raise HTTPException(422, f"contact_id: {misfiled}")
    return contact_id


def _received(entry: JournalEntry) -> ReceivedView:
    # The domain's dataclasses as JSON (dates ISO 8601, enums by value): the API reaches the
    # store through its ports only, not through the SQLite codec.
    message = to_jsonable_python(entry.message)
    del message["message_id"], message["contact_id"]
    return ReceivedView(
        message_id=entry.message.message_id,
        received_at=entry.received_at,
        status=entry.status,
        message=message,
        replies=list(entry.replies),
    )


def contacts_operations(settings: DataPlaneSettings) -> list[Operation]:
    async def list_conversations(request: Request) -> Response:
        """Who talked to the bot and when, the most recent first (no content: a contact's
        messages are in `GET /contacts/{contact_id}`)."""
        check_reader(request, settings)
        query = query_of(ConversationsQuery, request)
        if query.active_since is not None and query.active_since.utcoffset() is None:
            raise HTTPException(
                422, "active_since: give a UTC offset, e.g. 2024-05-06T09:00:00+02:00"
            )
        try:
            before = None if query.before is None else decode_cursor(query.before)
        except ValueError as exc:
            raise HTTPException(422, f"before: {exc}") from None
        runtime, records = _records(request)
        found = await records.recent(
            limit=query.limit + 1, active_since=query.active_since, before=before
        )
        tenant = runtime.ctx.tenant.id
        shown = [
            ConversationView(
                contact_id=c.contact_id,
                contact_hash=hash_contact(tenant, c.contact_id),
                channel=runtime.ctx.channel_of(c.contact_id),
                state=c.node,
                created_at=c.created_at,
                updated_at=c.updated_at,
                last_message_at=c.last_inbound_at,
            )
            for c in found[: query.limit]
        ]
        more = len(found) > query.limit
        # After the last one shown, by the store's order: (last turn, contact id).
        last = found[query.limit - 1] if more else None
        listed = ConversationList(
            conversations=shown,
            count=len(shown),
            truncated=more,
            next=None if last is None else encode_cursor(last.updated_at, last.contact_id),
        )
        return JSONResponse(listed.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    async def export_contact(request: Request) -> Response:
        """Everything this data plane holds about a contact (a person's request to see it)."""
        check_actor(request, settings)
        data, asked = _contact_data(request)
        contact_id = await _stored_id(data, asked)
        found = await data.export(contact_id)
        view = ContactExportView(
            contact_id=asked,
            contact_hash=data.contact_hash(contact_id),
            stored_as=None if contact_id == asked else contact_id,
            conversation=to_jsonable_python(found.conversation),
            messages_received=[_received(e) for e in found.received],
            messages_sent=[SentView.model_validate(row) for row in found.sent],
            scheduled_tasks=[TaskView.of(job) for job in found.tasks],
            truncated=found.truncated,
            appointments=[
                AppointmentsView(connector=a.connector, appointments=a.appointments, error=a.error)
                for a in found.appointments
            ],
            kept_notifications=[KeptNotificationView.of(call) for call in found.kept_calls],
            moves=[MoveView(old_contact_id=old, new_contact_id=new) for old, new in found.moves],
        )
        return JSONResponse(view.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    async def erase_contact(request: Request) -> Response:
        """Erase a contact: conversation, messages both ways, scheduled tasks."""
        check_actor(request, settings)
        data, asked = _contact_data(request)
        contact_id = await _stored_id(data, asked)
        erased = await data.erase(contact_id)
        view = ContactErasureView(
            contact_id=asked,
            contact_hash=data.contact_hash(contact_id),
            stored_as=None if contact_id == asked else contact_id,
            conversation=erased.records.conversation,
            messages_received=erased.records.messages_received,
            messages_sent=erased.records.messages_sent,
            scheduled_tasks=erased.tasks_cancelled,
            kept_notifications=erased.records.calls_kept,
            appointments_left=erased.appointments_left,
        )
        # It names the contact: no cache on the way keeps it (as the control plane's relay).
        return JSONResponse(view.model_dump(mode="json"), headers={"Cache-Control": "no-store"})

    tags = ("internal",)
    contact = (
        {
            "name": "contact_id",
            "in": "path",
            "required": True,
            "description": "As the channel names the contact (a phone number, a chat id)",
            "schema": {"type": "string", "minLength": 1, "maxLength": MAX_CONTACT_ID},
        },
    )
    return [
        Operation(
            "GET",
            "/conversations",
            list_conversations,
            summary="List conversations",
            tags=tags,
            query=ConversationsQuery,
            answer=ConversationList,
        ),
        Operation(
            "GET",
            "/contacts/{contact_id:path}",
            export_contact,
            summary="Export a contact's data",
            tags=tags,
            parameters=contact,
            answer=ContactExportView,
        ),
        Operation(
            "DELETE",
            "/contacts/{contact_id:path}",
            erase_contact,
            summary="Erase a contact's data",
            tags=tags,
            parameters=contact,
            answer=ContactErasureView,
        ),
    ]
