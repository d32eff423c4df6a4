"""Contact routes: a contact's data on the tenant's data plane, exported or erased (a person's
request to see, or to have erased, what a business keeps about them), and the list of
conversations (who talked to the bot and when), all relayed to the data plane."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.relayed import DATA_PLANE_ERRORS, NO_STORE, relayed
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.contact_models import (
    DEFAULT_CONVERSATIONS,
    MAX_CONTACT_ID,
    MAX_CONVERSATIONS,
    ContactErasureView,
    ContactExportView,
    ConversationListView,
)
from botfleet.control_plane.services import contacts, conversations
from botfleet.control_plane.services.conversations import MAX_SEALED_CURSOR

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["contacts"], responses=AUTH_ERRORS)

# `:path`, as on the data plane: a web chat's contact id may hold a slash (sent as %2F).
ContactIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=MAX_CONTACT_ID,
        description="As the channel names the contact: the WhatsApp number as Meta sends it "
        "(digits, no +), the Telegram chat id, the web chat's id; percent-encoded",
        examples=["34600111222"],
    ),
]

ActiveSinceQuery = Annotated[
    datetime | None,
    Query(
        description="Only conversations with a turn at or after this ISO time, with its UTC "
        "offset (a time without one is refused with 422)",
        examples=["2024-05-06T09:00:00+02:00"],
    ),
]
ConversationLimitQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_CONVERSATIONS,
        description=f"At most this many (1 to {MAX_CONVERSATIONS}, default "
        f"{DEFAULT_CONVERSATIONS}); `truncated` says when more match",
    ),
]
BeforeQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_SEALED_CURSOR,
        description="The next page: the previous page's `next`, as it is (with the same "
        "`active_since`); anything else is refused with 422 naming `before`",
    ),
]


@router.get(
    "/conversations",
    response_model=ConversationListView,
    responses=DATA_PLANE_ERRORS,
)
async def list_conversations(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    active_since: ActiveSinceQuery = None,
    limit: ConversationLimitQuery = DEFAULT_CONVERSATIONS,
    before: BeforeQuery = None,
) -> JSONResponse:
    """Who talked to the bot and when, the most recent first, as the tenant's data plane lists
    them: the contact, the state they are in, when the conversation started, its last turn and
    the contact's last message; never what was said. When more match (`truncated`), `next`
    is the cursor of the older ones (sealed: it names no contact): pass it as `before`. A
    web chat visitor's id is their credential: keys below owner get null in its place. An
    `active_since` without a UTC offset is refused (422 naming it). Not audited: it hands
    out no content."""
    async with uow:
        with relayed():
            view = await conversations.list_conversations(
                uow, principal, container.box, container.contacts, tenant_id,
                active_since=active_since, limit=limit, before=before,
            )  # fmt: skip
    return JSONResponse(view.model_dump(mode="json"), headers=NO_STORE)


@router.get(
    "/contacts/{contact_id:path}",
    response_model=ContactExportView,
    responses=DATA_PLANE_ERRORS,
)
async def export_contact(
    tenant_id: TenantIdPath,
    contact_id: ContactIdPath,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
) -> JSONResponse:
    """Everything the tenant's data plane holds about the contact: conversation state,
    messages both ways (8 days), scheduled tasks. Relayed up to 16 MiB (a larger one answers
    502: read it from the data plane itself); audited as ``contact.export`` with the counts,
    never the contact."""
    async with uow:
        with relayed():
            view = await contacts.export_contact(
                uow, principal, container.box, container.contacts, tenant_id, contact_id
            )
    # As the data plane answered: a field it did not send (`stored_as`, from an older data
    # plane) is not added.
    return JSONResponse(view.model_dump(mode="json", exclude_unset=True), headers=NO_STORE)


@router.delete(
    "/contacts/{contact_id:path}",
    responses=DATA_PLANE_ERRORS,
    # As the data plane answered (`stored_as` only from one that says).
    response_model_exclude_unset=True,
)
async def erase_contact(
    tenant_id: TenantIdPath,
    contact_id: ContactIdPath,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
) -> ContactErasureView:
    """Erase the contact's data on the tenant's data plane (conversation, messages both ways,
    scheduled tasks); the answer counts what went (zeros: nothing was held). Audited as
    ``contact.erase`` with the counts, never the contact."""
    response.headers.update(NO_STORE)
    async with uow:
        with relayed():
            return await contacts.erase_contact(
                uow, principal, container.box, container.contacts, tenant_id, contact_id
            )
