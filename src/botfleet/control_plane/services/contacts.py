"""A contact's data, seen or erased through the control plane: the tenant's data plane does it
(`data_plane_contacts`), reached at its `data_plane_url` with its ``data_plane`` token, so a
business owner answers a customer's request with their API key alone.

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

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import ValidationError

from botfleet.control_plane.contact_models import ContactErasureView, ContactExportView
from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.credentials import data_plane_token
from botfleet.control_plane.services.data_plane_contacts import (
    DataPlaneContacts,
    DataPlaneError,
    origin,
)
from botfleet.control_plane.services.tenants import get_tenant

ViewT = TypeVar("ViewT", ContactExportView, ContactErasureView)


@dataclass(frozen=True, slots=True)
class _DataPlane:
    url: str
    token: str = field(repr=False)


async def _data_plane(
    uow: SqlAlchemyUnitOfWork, principal: Principal, box: SecretBox, tenant_id: str
) -> _DataPlane:
    tenant = await get_tenant(uow, principal, tenant_id)
    if not tenant.data_plane_url:
        raise Conflict(
            f"tenant {tenant_id!r} has no data_plane_url, so its data plane cannot be reached: "
            f'set it (PATCH /v1/tenants/{tenant_id} {{"data_plane_url": "http://..."}}, or '
            "botfleet cp tenants update --data-plane-url)"
        )
    token = await data_plane_token(uow, box, tenant_id)
    if token is None:
        raise Conflict(
            f"tenant {tenant_id!r} has no data_plane credentials: store its data plane's "
            "DP_INTERNAL_TOKEN as internal_token (PUT /v1/tenants/"
            f'{tenant_id}/credentials/data_plane {{"internal_token": "..."}}, or botfleet cp '
            f"credentials set {tenant_id} data_plane internal_token=...)"
        )
    return _DataPlane(tenant.data_plane_url, token)


def _view(model: type[ViewT], answer: Any, data_plane: _DataPlane, contact_id: str) -> ViewT:
    where = f"the data plane at {origin(data_plane.url)}"
    try:
        view = model.model_validate(answer)
    except ValidationError as exc:
        raise DataPlaneError(
            502, f"{where} answered, but not as a data plane does ({exc.error_count()} problem(s))"
        ) from None
    if view.contact_id != contact_id:
        # A proxy that rewrote the path: what was done, was done to someone else.
        raise DataPlaneError(
            502, f"{where} answered about another contact than the one asked (a proxy "
            "rewriting the path?); check its data_plane_url",
        )  # fmt: skip
    return view


def _counts(view: ContactExportView | ContactErasureView) -> dict[str, Any]:
    if isinstance(view, ContactErasureView):
        return view.model_dump(exclude={"contact_id"})
    return {
        "contact_hash": view.contact_hash,
        "conversation": view.conversation is not None,
        "messages_received": len(view.messages_received),
        "messages_sent": len(view.messages_sent),
        "scheduled_tasks": len(view.scheduled_tasks),
        "truncated": view.truncated,
    }


def _audit(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    action: str,
    tenant_id: str,
    view: ContactExportView | ContactErasureView,
) -> None:
    audit.record(uow, principal, action, tenant_id=tenant_id, details=_counts(view))


async def export_contact(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    data_planes: DataPlaneContacts,
    tenant_id: str,
    contact_id: str,
) -> ContactExportView:
    """Everything the tenant's data plane holds about the contact."""
    data_plane = await _data_plane(uow, principal, box, tenant_id)
    await uow.release()  # no DB connection held while the data plane works
    answer = await data_planes.export(
        data_plane.url, data_plane.token, tenant_id=tenant_id, contact_id=contact_id
    )
    view = _view(ContactExportView, answer, data_plane, contact_id)
    _audit(uow, principal, "contact.export", tenant_id, view)
    await uow.commit()
    return view


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
    data_plane = await _data_plane(uow, principal, box, tenant_id)
    await uow.release()
    answer = await data_planes.erase(
        data_plane.url, data_plane.token, tenant_id=tenant_id, contact_id=contact_id
    )
    view = _view(ContactErasureView, answer, data_plane, contact_id)
    _audit(uow, principal, "contact.erase", tenant_id, view)
    await uow.commit()
    return view
