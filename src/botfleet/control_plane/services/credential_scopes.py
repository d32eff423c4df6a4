"""Which binding each credential scope fills at boot, and whether stored names still fit it.

Credential names are checked against the binding their scope is merged into: when they are put
(every name known, every required one given) and when a binding changes under them (a PATCH
from ``whatsapp`` to ``telegram`` would leave WhatsApp's names in Telegram's settings, which the
data plane refuses). Only the names are needed: they are stored in clear next to the sealed
values, so nothing is decrypted here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botfleet.control_plane.binding_schemas import (
    CredentialTarget,
    check_credential_names,
    check_required_credentials,
    credential_target,
    stale_credential_names,
)
from botfleet.control_plane.db.tables import Credential, Tenant
from botfleet.control_plane.errors import Conflict

DATA_PLANE_SCOPE = "data_plane"
CONNECTOR_PREFIX = "connector:"

#: What the `data_plane` scope holds (no binding: the control plane itself reads it).
_DATA_PLANE_TARGET = CredentialTarget(
    DATA_PLANE_SCOPE, {"internal_token": "internal_token"}, required=frozenset({"internal_token"})
)


def scope_target(scope: str, channel: object, connectors: object) -> CredentialTarget | None:
    """The binding `scope` fills given these bindings; None for an unbound connector."""
    if scope == DATA_PLANE_SCOPE:
        return _DATA_PLANE_TARGET
    return credential_target(scope, channel, connectors)


def check_put_names(tenant: Tenant, scope: str, names: list[str]) -> None:
    """The names of a put must be secret fields of the binding the scope is merged into at boot
    (any other name, ``acess_token``, would be merged too and stop the data plane's boot), and
    hold every secret it requires (the put replaces the scope's secrets as a whole)."""
    target = scope_target(scope, tenant.channel, tenant.connectors)
    if target is None:
        category = scope.removeprefix(CONNECTOR_PREFIX)
        raise Conflict(
            f"tenant {tenant.id!r} binds no connector {category!r} (of a known type), so its "
            f"secrets could not be checked nor used: bind connectors.{category} first (PATCH "
            "the tenant), then store its credentials"
        )
    check_credential_names(target, names)
    check_required_credentials(target, names)


@dataclass(frozen=True, slots=True)
class StaleScope:
    """Stored credentials holding names the scope's new binding does not take."""

    row: Credential
    names: list[str]
    target: CredentialTarget


def _binding_changed(scope: str, old: Tenant, new: Mapping[str, Any]) -> bool:
    if scope == "channel":
        return "channel" in new
    if scope.startswith(CONNECTOR_PREFIX) and "connectors" in new:
        category = scope.removeprefix(CONNECTOR_PREFIX)
        return bool((old.connectors or {}).get(category) != (new["connectors"] or {}).get(category))
    return False


def stale_scopes(
    rows: Sequence[Credential], tenant: Tenant, changes: Mapping[str, Any]
) -> list[StaleScope]:
    """The stored scopes whose binding `changes` replaces with one that does not take all of
    their names. A connector the changes unbind is left out: the boot payload merges a
    connector scope only into its binding, and binding the category again checks it then."""
    channel = changes.get("channel", tenant.channel)
    connectors = changes.get("connectors", tenant.connectors)
    stale = []
    for row in rows:
        if not _binding_changed(row.scope, tenant, changes):
            continue
        target = scope_target(row.scope, channel, connectors)
        names = [] if target is None else stale_credential_names(target, row.key_names)
        if target is not None and names:
            stale.append(StaleScope(row, names, target))
    return stale


def stale_conflict(tenant_id: str, stale: Sequence[StaleScope]) -> Conflict:
    """409 naming, per scope, the stored names the new binding does not take (never values)."""
    parts = []
    for scope in stale:
        takes = sorted(set(scope.target.fields.values()))
        parts.append(
            f"credentials {scope.row.scope!r} hold {', '.join(scope.names)}, which "
            f"{scope.target.what} does not take (it takes "
            f"{', '.join(takes) if takes else 'no secrets'})"
        )
    first = stale[0].row.scope
    return Conflict(
        f"the new bindings of tenant {tenant_id!r} do not fit its stored secrets: "
        f"{'; '.join(parts)}. Delete them (DELETE /v1/tenants/{tenant_id}/credentials/{first}) "
        "or repeat the PATCH with ?drop_stale_credentials=true, then put the new binding's "
        "secrets"
    )
