"""A contact's data, seen or erased through the control plane: the tenant's data plane does it
(`data_plane_contacts`), reached at its `data_plane_url` with its ``data_plane`` token
(`tenant_data_plane`), so a business owner answers a customer's request with their API key
alone.

The admin key, or the tenant's own keys (another tenant's get 404, as everywhere). A disabled
tenant's keys may erase too: disabling freezes the tenant's configuration, which an erasure
does not touch, and a person's right to have their data erased does not wait for an enable.

Each export and erasure is audited (`contact.export`, `contact.erase`) with the counts and the
contact's hash as the data plane's answer gives it (`contact_hash`, the keyed hash its log
lines use, so the audit entry and the data plane's `contact_erased` line can be matched), never
its id. The control plane cannot compute that hash itself: its key (`log-hash.key`) never
leaves the data plane, and an unkeyed hash (or one keyed with the tenant id) of a phone number
is undone by hashing every number of a country, in about a minute (`botfleet.contact_hash`).
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from botfleet.control_plane.contact_models import ContactErasureView, ContactExportView
from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.data_plane_contacts import DataPlaneContacts
from botfleet.control_plane.services.data_plane_relay import DataPlaneError
from botfleet.control_plane.services.tenant_data_plane import (
    TenantDataPlane,
    reach_data_plane,
    read_answer,
)

ViewT = TypeVar("ViewT", ContactExportView, ContactErasureView)


class _ContactCall(Protocol):
    """`DataPlaneContacts.export` or `.erase`."""

    async def __call__(
        self, base_url: str, token: str, *, tenant_id: str, contact_id: str
    ) -> Any: ...


def _counts(view: ContactExportView | ContactErasureView) -> dict[str, Any]:
    if isinstance(view, ContactErasureView):
        # The audit names the contact by its hash only: not the number, as asked or stored.
        return view.model_dump(exclude={"contact_id", "stored_as"})
    return {
        "contact_hash": view.contact_hash,
        "conversation": view.conversation is not None,
        "messages_received": len(view.messages_received),
        "messages_sent": len(view.messages_sent),
        "scheduled_tasks": len(view.scheduled_tasks),
        "truncated": view.truncated,
    }


def _about(view: ViewT, data_plane: TenantDataPlane, contact_id: str) -> ViewT:
    if view.contact_id != contact_id:
        # A proxy that rewrote the path: what was done, was done to someone else.
        raise DataPlaneError(
            502, f"{data_plane.where} answered about another contact than the one asked (a "
            "proxy rewriting the path?); check its data_plane_url",
        )  # fmt: skip
    return view


async def _relay(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    tenant_id: str,
    contact_id: str,
    call: _ContactCall,
    model: type[ViewT],
    action: str,
) -> ViewT:
    """`call` on the tenant's data plane, its answer checked as `model` and audited as
    `action` once the data plane has answered."""
    data_plane = await reach_data_plane(uow, principal, box, tenant_id)
    url, token = data_plane.url, data_plane.token
    answer = await call(url, token, tenant_id=tenant_id, contact_id=contact_id)
    view = _about(read_answer(model, answer, data_plane), data_plane, contact_id)
    audit.record(uow, principal, action, tenant_id=tenant_id, details=_counts(view))
    await uow.commit()
    return view


async def export_contact(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneContacts,
    tenant_id: str,
    contact_id: str,
) -> ContactExportView:
    """Everything the tenant's data plane holds about the contact."""
    return await _relay(
        uow, principal, box, tenant_id, contact_id,
        data_planes.export, ContactExportView, "contact.export",
    )  # fmt: skip


async def erase_contact(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneContacts,
    tenant_id: str,
    contact_id: str,
) -> ContactErasureView:
    """Erase the contact's data on the tenant's data plane; the counts of what went.

    Audited once the data plane answers: should the audit's write fail (503), the erasure is
    done all the same, and erasing again records it (with zero counts: nothing is left)."""
    return await _relay(
        uow, principal, box, tenant_id, contact_id,
        data_planes.erase, ContactErasureView, "contact.erase",
    )  # fmt: skip
