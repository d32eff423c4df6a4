"""Who talked to a tenant's bot and when, through the control plane: the tenant's data plane
lists its conversations (`GET /conversations`), reached as for a contact's data
(`tenant_data_plane`), with the admin key or the tenant's own keys.

Not audited, unlike a contact's export: the list holds no content (no message, nothing the flow
collected), and it is the owner's everyday view of their bot, read as often as the tenant's
status, which is not audited either. The audit log records what changes a tenant and what
hands out a person's data, and an entry per look at the list would bury those.
"""

from __future__ import annotations

from datetime import datetime

from botfleet.control_plane.contact_models import ConversationListView
from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services.data_plane_contacts import DataPlaneContacts
from botfleet.control_plane.services.tenant_data_plane import reach_data_plane, read_answer


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
    `before` (a page's `next`, the data plane's cursor, relayed as it is) the older ones."""
    if active_since is not None and active_since.utcoffset() is None:
        raise InvalidInput(
            "active_since", "give a UTC offset, e.g. 2024-05-06T09:00:00+02:00 (or Z for UTC)"
        )
    data_plane = await reach_data_plane(uow, principal, box, tenant_id)
    answer = await data_planes.list_conversations(
        data_plane.url, data_plane.token, tenant_id=tenant_id,
        active_since=active_since, limit=limit, before=before,
    )  # fmt: skip
    return read_answer(ConversationListView, answer, data_plane)
