"""Which binding each credential scope fills at boot, and whether stored names still fit it.

Credential names are checked against the binding their scope is merged into: when they are put
(every name known, every required one given) and when a binding changes under them (a PATCH
from ``whatsapp`` to ``telegram`` would leave WhatsApp's names in Telegram's settings, which the
data plane refuses). Only the names are needed: they are stored in clear next to the sealed
values. The values are checked with the data plane's boot rules when they are put, and opened
again only when a binding of the same type changes under them (`misfit_conflict`: a rule
across the binding's settings and its secrets).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botfleet.control_plane.binding_schemas import (
    CHANNEL_SCOPE_PREFIX,
    CONNECTOR_SCOPE_PREFIX,
    CredentialTarget,
    check_credential_names,
    check_required_credentials,
    credential_target,
    more_channel_of,
    stale_credential_names,
)
from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.db.tables import Credential, Tenant
from botfleet.control_plane.errors import Conflict, InvalidInput
from botfleet.control_plane.provenance import StoredBy, stored_by_tenant
from botfleet.control_plane.services.credential_values import check_credential_values
from botfleet.control_plane.url_policy import UrlPlace, url_places
from botfleet.domain.channel_ids import channel_kind

DATA_PLANE_SCOPE = "data_plane"
CONNECTOR_PREFIX = CONNECTOR_SCOPE_PREFIX

#: What the `data_plane` scope holds (no binding: the control plane itself reads it).
_DATA_PLANE_TARGET = CredentialTarget(
    DATA_PLANE_SCOPE, {"internal_token": "internal_token"}, required=frozenset({"internal_token"})
)


def scope_target(
    scope: str, channel: object, connectors: object, more_channels: object = ()
) -> CredentialTarget | None:
    """The binding `scope` fills given these bindings; None for an unbound connector or a
    kind none of the more channels is."""
    if scope == DATA_PLANE_SCOPE:
        return _DATA_PLANE_TARGET
    return credential_target(scope, channel, connectors, more_channels)


def tenant_scope_target(tenant: Tenant, scope: str) -> CredentialTarget | None:
    """`scope_target` with the tenant's bindings as they are stored."""
    return scope_target(scope, tenant.channel, tenant.connectors, tenant.more_channels)


def check_put_names(tenant: Tenant, scope: str, names: list[str]) -> None:
    """The names of a put must be secret fields of the binding the scope is merged into at boot
    (any other name, ``acess_token``, would be merged too and stop the data plane's boot), and
    hold every secret it requires (the put replaces the scope's secrets as a whole)."""
    target = tenant_scope_target(tenant, scope)
    if target is None and scope == "channel":  # a type this version does not know
        raise Conflict(
            f"tenant {tenant.id!r} has a channel of no known type, so its secrets could not be "
            "checked nor used: set the channel's type first (PATCH the tenant), then store them"
        )
    if target is None and scope.startswith(CHANNEL_SCOPE_PREFIX):
        kind = scope.removeprefix(CHANNEL_SCOPE_PREFIX)
        primary = tenant.channel.get("type") if isinstance(tenant.channel, Mapping) else None
        hint = (
            f" (its channel is {kind!r}: its secrets are the scope 'channel')"
            if isinstance(primary, str) and channel_kind(primary) == kind
            else ""
        )
        raise Conflict(
            f"tenant {tenant.id!r} has no more channel of kind {kind!r}{hint}, so these "
            f"secrets could not be checked nor used: add it to more_channels first (PATCH the "
            "tenant), then store its credentials"
        )
    if target is None:
        name = scope.removeprefix(CONNECTOR_PREFIX)
        raise Conflict(
            f"tenant {tenant.id!r} binds no connector {name!r} (of a known type), so its "
            f"secrets could not be checked nor used: bind connectors.{name} first (PATCH "
            "the tenant), then store its credentials"
        )
    check_credential_names(target, names)
    check_required_credentials(target, names)


def check_delete(tenant: Tenant, scope: str) -> None:
    """A scope whose binding requires some of its secrets is not deleted unless asked with
    ``?force=true`` (409): the data plane would refuse to start without them, at its next
    restart, long after the delete answered. A scope no binding takes goes freely."""
    target = _requiring(tenant, scope)
    if target is None:
        return
    needed = ", ".join(sorted(target.required))
    raise Conflict(
        f"tenant {tenant.id!r}: {target.what} requires {needed} from credentials {scope!r}, "
        "and its data plane would not start again without them: to replace them, put the new "
        "ones (a put replaces them all); to remove the binding, change the tenant first; to "
        "delete them anyway, repeat the DELETE with ?force=true"
    )


def check_put_values(tenant: Tenant, scope: str, values: Mapping[str, Any]) -> None:
    """The put's secrets, merged into the binding as the boot payload merges them, must pass the
    rules the data plane's adapter applies at boot (a Telegram token as BotFather gives it, a
    webhook `url` the binding would take...), or the data plane refuses to start with them: 422
    naming each refused ``body.<name>``, never a value (`check_credential_values`). Call after
    `check_put_names`."""
    target = tenant_scope_target(tenant, scope)
    if target is not None:
        check_credential_values(target, values)


def stored_url_places(
    box: SecretBox, tenant_id: str, row: Credential, names: Collection[str] | None = None
) -> list[UrlPlace]:
    """The URLs `row` holds (under `names` only, when given), placed as
    ``credentials.<scope>.<name>``: what deleting or replacing them takes away, for
    `TenantUrlGuard.check_removable`. Secrets no configured key opens hold none that can be
    told (nor used: the data plane could not boot with them), so they give none."""
    try:
        values = box.open(row.ciphertext, where=f"{tenant_id}/{row.scope}")
    except UndecryptableSecret:
        return []
    if names is not None:
        values = {name: value for name, value in values.items() if name in names}
    return url_places(f"credentials.{row.scope}", values, json_strings=True)


@dataclass(frozen=True, slots=True)
class StaleScope:
    """Stored credentials holding names the scope's new binding does not take."""

    row: Credential
    names: list[str]
    target: CredentialTarget


def _binding_changed(scope: str, old: Tenant, new: Mapping[str, Any]) -> bool:
    if scope == "channel":
        return "channel" in new
    if scope.startswith(CHANNEL_SCOPE_PREFIX) and "more_channels" in new:
        kind = scope.removeprefix(CHANNEL_SCOPE_PREFIX)
        before = more_channel_of(old.more_channels, kind)
        after = more_channel_of(new["more_channels"], kind)
        return (before and before[1]) != (after and after[1])
    if scope.startswith(CONNECTOR_PREFIX) and "connectors" in new:
        name = scope.removeprefix(CONNECTOR_PREFIX)  # a named binding's scope is its own
        return bool((old.connectors or {}).get(name) != (new["connectors"] or {}).get(name))
    return False


def _changed_bindings(tenant: Tenant, changes: Mapping[str, Any]) -> tuple[object, ...]:
    """(channel, connectors, more_channels) as `changes` leave them."""
    return (
        changes.get("channel", tenant.channel),
        changes.get("connectors", tenant.connectors),
        changes.get("more_channels", tenant.more_channels),
    )


def stale_scopes(
    rows: Sequence[Credential], tenant: Tenant, changes: Mapping[str, Any]
) -> list[StaleScope]:
    """The stored scopes whose binding `changes` replaces with one that does not take all of
    their names. A connector the changes unbind (or a more channel they remove) is left out:
    the boot payload merges a connector scope only into its binding, and binding that name
    again checks it then."""
    bindings = _changed_bindings(tenant, changes)
    stale = []
    for row in rows:
        if not _binding_changed(row.scope, tenant, changes):
            continue
        target = scope_target(row.scope, *bindings)
        names = [] if target is None else stale_credential_names(target, row.key_names)
        if target is not None and names:
            stale.append(StaleScope(row, names, target))
    return stale


def delete_path(tenant: Tenant, scope: str) -> str:
    """The DELETE that removes the scope's secrets as the tenant's bindings stand: with
    ``?force=true`` when one requires them (`check_delete`)."""
    force = "?force=true" if _requiring(tenant, scope) is not None else ""
    return f"/v1/tenants/{tenant.id}/credentials/{scope}{force}"


def _requiring(tenant: Tenant, scope: str) -> CredentialTarget | None:
    """The binding that requires some of the scope's secrets, or None. The data plane's own
    token is no binding's: it starts without it (`DP_INTERNAL_TOKEN` serves)."""
    if scope == DATA_PLANE_SCOPE:
        return None
    target = tenant_scope_target(tenant, scope)
    return target if target is not None and target.required else None


def stale_conflict(tenant: Tenant, stale: Sequence[StaleScope]) -> Conflict:
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
            f". Delete them (DELETE {delete_path(tenant, replaced[0])}) or repeat "
            "the PATCH with ?drop_stale_credentials=true (it removes only the names listed), "
            "then put the new binding's secrets"
        )
    return Conflict(
        f"the new bindings of tenant {tenant.id!r} do not fit its stored secrets: "
        f"{'; '.join(parts)}{how}"
    )


def misfit_conflict(
    rows: Sequence[Credential], tenant: Tenant, changes: Mapping[str, Any], box: SecretBox
) -> Conflict | None:
    """409 when `changes` give stored secrets whose names still fit a binding the data plane
    would refuse them with at boot: a rule across a binding's settings and its secrets (a
    webhook whose `token_header` is also in its `headers` while a `token` is stored, a Google
    calendar given a `credentials_path` while `service_account_info` is stored). Each secret's
    own rules depend only on the type, and a change of type leaves names that do not fit
    (`stale_scopes`). Secrets the old binding refused already are left out (putting good ones
    is the fix either way), and so are those no configured key opens. Never shows a value."""
    bindings = _changed_bindings(tenant, changes)
    parts, scopes = [], []
    for row in rows:
        if not _binding_changed(row.scope, tenant, changes):
            continue
        target = scope_target(row.scope, *bindings)
        if target is None or stale_credential_names(target, row.key_names):
            continue  # unbound, or names `stale_scopes` deals with
        try:
            values = box.open(row.ciphertext, where=f"{tenant.id}/{row.scope}")
        except UndecryptableSecret:
            continue
        problem = _values_problem(target, row.scope, values)
        if problem is None or _refused_before(row, tenant, values):
            continue
        parts.append(f"{target.what} would refuse them at boot: {problem}")
        scopes.append(row.scope)
    if not parts:
        return None
    return Conflict(
        f"the new bindings of tenant {tenant.id!r} do not fit its stored secrets: "
        f"{'; '.join(parts)}. Leave the binding as it is, or delete them (DELETE "
        f"{delete_path(tenant, scopes[0])}), change it, then put secrets that fit"
    )


def _refused_before(row: Credential, tenant: Tenant, values: Mapping[str, Any]) -> bool:
    """Whether the tenant's bindings as they are already stop its boot with `values`."""
    old = tenant_scope_target(tenant, row.scope)
    if old is None or stale_credential_names(old, row.key_names):
        return True
    return _values_problem(old, row.scope, values) is not None


def _values_problem(target: CredentialTarget, scope: str, values: Mapping[str, Any]) -> str | None:
    """What the data plane would refuse in stored `values`, placed as ``credentials.<scope>``."""
    try:
        check_credential_values(target, values, where=f"credentials.{scope}")
    except InvalidInput as problem:
        return str(problem)
    return None


# ---------------------------------------------------------------- where stored secrets go

#: The scopes whose secrets the LLM adapter sends: `llm` (merged into the `llm` section) and
#: `connector:llm` (into `connectors.llm`); the data plane merges both sections, `llm` winning.
_LLM_SCOPES = ("llm", f"{CONNECTOR_PREFIX}llm")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str:
    """`scheme://host:port` of `url` (lower case, default port spelled out); the text itself
    when it does not parse, so that any change of it counts as a change of host."""
    text = url.strip()
    try:
        parts = urlsplit(text if "://" in text or not text.startswith("//") else f"https:{text}")
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:
        return text
    if not parts.hostname:
        return text
    return f"{parts.scheme.lower()}://{parts.hostname.lower().rstrip('.')}:{port}"


def _sent_with(
    scope: str, channel: object, connectors: object, llm: object, more_channels: object
) -> tuple[str, Mapping[str, Any]] | None:
    """The settings (and their place) the data plane sends `scope`'s secrets with."""
    bindings = connectors if isinstance(connectors, Mapping) else {}
    if scope in _LLM_SCOPES:
        section = bindings.get("llm")
        merged = {
            **(section if isinstance(section, Mapping) else {}),
            **(llm if isinstance(llm, Mapping) else {}),
        }
        return "llm", merged
    if scope == "channel":
        return ("channel", channel) if isinstance(channel, Mapping) else None
    if scope.startswith(CHANNEL_SCOPE_PREFIX):
        found = more_channel_of(more_channels, scope.removeprefix(CHANNEL_SCOPE_PREFIX))
        return None if found is None else (f"more_channels[{found[0]}]", found[1])
    if scope.startswith(CONNECTOR_PREFIX):
        name = scope.removeprefix(CONNECTOR_PREFIX)
        binding = bindings.get(name)
        return (f"connectors.{name}", binding) if isinstance(binding, Mapping) else None
    return None  # `data_plane`: its URL is the admin's to set


def _destinations(
    scope: str, bindings: tuple[object, ...], stored: frozenset[str]
) -> dict[str, tuple[str, str]]:
    """(place, origin) of each URL setting the scope's secrets are sent with, by its path in
    the binding (a more channel moved in the list keeps its URLs). A setting the credentials
    hold themselves (a webhook `url` stored as a secret) is theirs: left out."""
    found = _sent_with(scope, *bindings)
    if found is None:
        return {}
    where, settings = found
    kept = {key: value for key, value in settings.items() if key not in stored}
    return {
        place.path.removeprefix(where): (place.path, _origin(place.url))
        for place in url_places(where, kept)
    }


def host_move_conflict(
    rows: Sequence[Credential], tenant: Tenant, changes: Mapping[str, Any]
) -> Conflict | None:
    """409 when `changes`, made with a tenant key, move a URL that secrets the operator stored
    are sent with (the LLM's `base_url`, a webhook's or CalDAV's `url`, a Google or Telegram API
    root...) to another host (scheme, host or port). The tenant cannot read the operator's
    secrets (put with the admin key); pointed at a host of its own, its data plane would hand
    them over. Secrets the tenant stored itself (`stored_by` ``tenant``) go wherever it likes;
    rows stored before that was recorded (``unknown``) count as the operator's. The tenant
    stores its own over them (or deletes them) first, or an operator changes the URL with the
    admin key. A URL removed (the type's default host then) or kept on the same host, its path
    changed, passes. Never shows a URL."""
    if not {"channel", "connectors", "llm", "more_channels"} & set(changes):
        return None
    new = (
        changes.get("channel", tenant.channel),
        changes.get("connectors", tenant.connectors),
        changes.get("llm", tenant.llm),
        changes.get("more_channels", tenant.more_channels),
    )
    old = (tenant.channel, tenant.connectors, tenant.llm, tenant.more_channels)
    for row in rows:
        if stored_by_tenant(row.stored_by):
            continue
        stored = frozenset(row.key_names)
        before = _destinations(row.scope, old, stored)
        after = _destinations(row.scope, new, stored)
        for key, (place, origin) in sorted(after.items()):
            if key in before and before[key][1] == origin:
                continue
            return _host_move_refused(tenant.id, place, row)
    return None


def _host_move_refused(tenant_id: str, place: str, row: Credential) -> Conflict:
    whose = (
        "were stored by an operator (admin API key)"
        if row.stored_by == StoredBy.OPERATOR
        else "were stored before the control plane recorded who stores credentials, so they "
        "count as an operator's"
    )
    return Conflict(
        f"{place}: credentials {row.scope!r} {whose}, and changing the host (scheme, host or "
        "port) they are sent to needs the admin API key: this key cannot read them. Keep the "
        f"host; or store the tenant's own credentials over them (PUT /v1/tenants/{tenant_id}/"
        f"credentials/{row.scope}: they replace the operator's) or delete them (DELETE "
        f"/v1/tenants/{tenant_id}/credentials/{row.scope}), then change the URL; or ask an "
        "operator to make the change with the admin key"
    )
