"""Who talked to a tenant's bot and when, through the control plane: the tenant's data plane
lists its conversations (`GET /conversations`), reached as for a contact's data
(`tenant_data_plane`), with the admin key or the tenant's own keys.

Not audited, unlike a contact's export: the list holds no content (no message, nothing the flow
collected), and it is the owner's everyday view of their bot, read as often as the tenant's
status, which is not audited either. The audit log records what changes a tenant and what
hands out a person's data, and an entry per look at the list would bury those.

A web chat visitor's id is their only credential: whoever holds it reads what the bot said to
them and writes as them on the data plane's public web chat API. So keys below owner (editors)
get null in its place, and the page's `next`, the data plane's cursor (which names the last
contact in clear), is sealed with the control plane's key for everyone and opened when given
back as `before`: no caller learns an id from it.
"""

from __future__ import annotations

from datetime import datetime

from botfleet.control_plane.contact_models import ConversationListView, ConversationView
from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.principals import Principal, Role
from botfleet.control_plane.services.data_plane_contacts import DataPlaneContacts
from botfleet.control_plane.services.tenant_data_plane import reach_data_plane, read_answer

#: The longest `before` taken: a data plane's cursor (at most 2,048 characters) sealed with the
#: tenant id comes to about 2,950 (Fernet adds 57 bytes, then base64 a third).
MAX_SEALED_CURSOR = 4096
#: Marks a sealed dict as this list's cursor: the same key seals credentials, which never come
#: from a caller, but a cursor must not be mistaken for anything else either.
_LISTING = "conversations"
_NOT_A_CURSOR = (
    "not a cursor of this list: pass the `next` of the previous page as it is, or leave it out "
    "for the first page"
)


async def list_conversations(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneContacts,
    tenant_id: str,
    *,
    active_since: datetime | None,
    limit: int,
    before: str | None,
) -> ConversationListView:
    """The tenant's conversations, the most recent first; with `active_since` (aware: a naive
    time is refused, as the data plane refuses it) only those with a turn since then; with
    `before` (a page's `next`, sealed by this control plane: anything else is a 422 naming
    it) the older ones. Web chat ids are null for keys below owner."""
    if active_since is not None and active_since.utcoffset() is None:
        raise InvalidInput(
            "active_since", "give a UTC offset, e.g. 2024-05-06T09:00:00+02:00 (or Z for UTC)"
        )
    # Opened before the data plane is reached: a forged cursor costs no call.
    cursor = None if before is None else open_cursor(box, tenant_id, before)
    data_plane = await reach_data_plane(uow, principal, box, tenant_id)
    answer = await data_planes.list_conversations(
        data_plane.url, data_plane.token, tenant_id=tenant_id,
        active_since=active_since, limit=limit, before=cursor,
    )  # fmt: skip
    listed = read_answer(ConversationListView, answer, data_plane)
    shown = listed.conversations
    if not sees_web_chat_ids(principal):
        shown = [_without_credential(c) for c in shown]
    sealed = None if listed.next is None else seal_cursor(box, tenant_id, listed.next)
    return listed.model_copy(update={"conversations": shown, "next": sealed})


def sees_web_chat_ids(principal: Principal) -> bool:
    """Whether `principal` may be handed a web chat visitor's id: the admin and owners, who
    may export the visitor's messages anyway."""
    return principal.is_admin or principal.role.covers(Role.OWNER)


def _without_credential(conversation: ConversationView) -> ConversationView:
    # A data plane that does not say the channel (null) may be serving a web chat: its ids are
    # withheld too, as they cannot be told apart.
    if conversation.channel not in (None, "webchat"):
        return conversation
    return conversation.model_copy(update={"contact_id": None})


def seal_cursor(box: SecretBox, tenant_id: str, cursor: str) -> str:
    """The data plane's `cursor` as the caller gets it: sealed, so the contact id it names
    stays unread, and bound to the tenant whose list it pages."""
    return box.seal({"listing": _LISTING, "tenant": tenant_id, "cursor": cursor})


def open_cursor(box: SecretBox, tenant_id: str, sealed: str) -> str:
    """The data plane's cursor `seal_cursor` sealed for `tenant_id`; 422 naming `before` for
    anything else (forged, another tenant's, sealed with a key no longer configured)."""
    try:
        value = box.open(sealed, where="before")
    except (UndecryptableSecret, ValueError):  # not a token; or not JSON inside
        raise InvalidInput("before", _NOT_A_CURSOR) from None
    cursor = value.get("cursor")
    if (value.get("listing"), value.get("tenant")) != (_LISTING, tenant_id) or not isinstance(
        cursor, str
    ):
        raise InvalidInput("before", _NOT_A_CURSOR)
    return cursor
