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
    CONNECTOR_SCOPE_PREFIX,
    CredentialTarget,
    check_credential_names,
    check_credential_settings,
    check_required_credentials,
    credential_target,
    stale_credential_names,
)
from botfleet.control_plane.db.tables import Credential, Tenant
from botfleet.control_plane.errors import Conflict

DATA_PLANE_SCOPE = "data_plane"
CONNECTOR_PREFIX = CONNECTOR_SCOPE_PREFIX

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
        name = scope.removeprefix(CONNECTOR_PREFIX)
        raise Conflict(
            f"tenant {tenant.id!r} binds no connector {name!r} (of a known type), so its "
            f"secrets could not be checked nor used: bind connectors.{name} first (PATCH "
            "the tenant), then store its credentials"
        )
    check_credential_names(target, names)
    check_required_credentials(target, names)


def check_put_settings(tenant: Tenant, scope: str, values: Mapping[str, Any]) -> None:
    """A setting the put holds instead of the binding (the webhook's `url`) must pass the rules
    it would pass in the binding, or the data plane refuses to boot with it (422 naming it,
    never its value). Call after `check_put_names`."""
    target = scope_target(scope, tenant.channel, tenant.connectors)
    if target is not None:
        check_credential_settings(target, values)


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
        name = scope.removeprefix(CONNECTOR_PREFIX)  # a named binding's scope is its own
        return bool((old.connectors or {}).get(name) != (new["connectors"] or {}).get(name))
    return False


def stale_scopes(
    rows: Sequence[Credential], tenant: Tenant, changes: Mapping[str, Any]
) -> list[StaleScope]:
    """The stored scopes whose binding `changes` replaces with one that does not take all of
    their names. A connector the changes unbind is left out: the boot payload merges a
    connector scope only into its binding, and binding that name again checks it then."""
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
    """409 naming, per scope, the stored names the new binding does not take (never values),
    and how to get past it: a setting the new binding now holds itself (the webhook's `url`,
    stored as a credential) is told apart, since it is moved, not replaced."""
    parts, replaced = [], []
    for scope in stale:
        target = scope.target
        moved = [name for name in scope.names if name in target.in_binding]
        others = [name for name in scope.names if name not in moved]
        if others:
            takes = ", ".join(sorted(set(target.fields.values()))) or "no secrets"
            parts.append(
                f"credentials {scope.row.scope!r} hold {', '.join(others)}, which "
                f"{target.what} does not take (it takes {takes})"
            )
            replaced.append(scope.row.scope)
        if moved:
            names = ", ".join(moved)
            kept = [name for name in scope.row.key_names if name not in scope.names]
            stay = f"; its other secrets ({', '.join(kept)}) stay" if kept else ""
            parts.append(
                f"credentials {scope.row.scope!r} hold {names}, which the new binding of "
                f"{target.what} sets itself: {names} is already stored as a credential, and it "
                f"is kept in one place. To move it into the binding, repeat the PATCH with "
                f"?drop_stale_credentials=true (it removes only {names} from the stored "
                f"credentials{stay}); to keep it as a credential, leave {names} out of the binding"
            )
    how = ""
    if replaced:
        how = (
            f". Delete them (DELETE /v1/tenants/{tenant_id}/credentials/{replaced[0]}) or repeat "
            "the PATCH with ?drop_stale_credentials=true (it removes only the names listed), "
            "then put the new binding's secrets"
        )
    return Conflict(
        f"the new bindings of tenant {tenant_id!r} do not fit its stored secrets: "
        f"{'; '.join(parts)}{how}"
    )
