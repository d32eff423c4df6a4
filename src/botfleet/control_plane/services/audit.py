"""The audit log: who changed what, and reading it back (tenants see only their own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botfleet.control_plane.db.tables import AuditEntry
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.principals import Principal, Role

MAX_AUDIT_PAGE = 500
#: Entries about what only the owner manages: a key below owner reads them without their
#: target and details (the credential scope and key names, key ids, roles and expiries).
OWNERS_ACTIONS = ("api_key.", "credentials.")


def record(
    uow: SqlAlchemyUnitOfWork,
    actor: Principal | str,
    action: str,
    *,
    tenant_id: str | None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Add an entry to the current transaction. `details` must never hold a secret value."""
    name = actor.actor if isinstance(actor, Principal) else actor
    uow.audit.add(
        AuditEntry(
            actor=name, tenant_id=tenant_id, action=action, target=target, details=details or {}
        )
    )


async def list_entries(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    *,
    tenant_id: str | None = None,
    action: str | None = None,
    actor: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEntry]:
    """Newest first. A tenant key is always limited to its own tenant. The admin's
    `tenant_id` also finds the tenant's deletions (``tenant.delete``, written with no tenant:
    see `delete_tenant`), so a deleted tenant's id still finds who deleted it and when.
    `actor` keeps one caller's entries (``admin``, ``apikey:<key id>``): what a key did.

    A key below owner (which may not list keys nor credentials) gets the entries of
    `OWNERS_ACTIONS` with an empty target and details: it sees that keys or credentials
    changed, by whom and when, not which ones. Hidden rather than left out, so that pages
    stay full and ``before_id`` pages on as for any key."""
    if not principal.is_admin:
        if tenant_id is not None:
            principal.require_tenant(tenant_id)
        tenant_id = principal.tenant_id
    entries = await uow.audit.list(
        tenant_id=tenant_id,
        action=action,
        actor=actor,
        before_id=before_id,
        limit=max(1, min(limit, MAX_AUDIT_PAGE)),
        with_deletions=principal.is_admin,
    )
    if principal.is_admin or principal.role.covers(Role.OWNER):
        return entries
    return [_hidden(entry) if entry.action.startswith(OWNERS_ACTIONS) else entry
            for entry in entries]  # fmt: skip


def _hidden(entry: AuditEntry) -> AuditEntry:
    """A copy of `entry` without its target and details, outside the session (the stored
    entry is left as it is)."""
    return AuditEntry(
        id=entry.id, at=entry.at, actor=entry.actor, tenant_id=entry.tenant_id,
        action=entry.action, target="", details={},
    )  # fmt: skip
