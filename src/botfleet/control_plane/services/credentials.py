"""Credentials: per-scope secrets sealed with Fernet; only key names ever leave this module.

Scopes: ``channel``, ``llm``, ``channel:<kind>`` (the more channel of that kind,
``channel:telegram``), ``connector:<name>`` (a category or a named binding of one,
``connector:notification.crm``: merged into the binding of that name in the boot payload), and
``data_plane`` (``{"internal_token": ...}``, which the control plane sends to the tenant's data
plane when it reads /usage and /tasks; the data plane has it as ``DP_INTERNAL_TOKEN``).
The names of a scope are checked against the secret fields of the binding it fills, and the
values with the rules the data plane applies to them at boot (see `credential_scopes`); a
connector scope needs its binding first, a ``channel:<kind>`` scope its more channel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from botfleet.control_plane.binding_schemas import (
    CHANNEL_SCOPE_PREFIX,
    CONNECTOR_SCOPE_PREFIX,
    binding_key_category,
    channel_kinds,
)
from botfleet.control_plane.crypto import SecretBox, UndecryptableSecret
from botfleet.control_plane.db.tables import Credential, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import InvalidInput, NotFound
from botfleet.control_plane.json_places import first_bad_place
from botfleet.control_plane.models import RotationResult
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.provenance import stored_by
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.credential_scopes import (
    DATA_PLANE_SCOPE,
    check_delete,
    check_put_names,
    check_put_values,
    stored_url_places,
)
from botfleet.control_plane.services.tenants import (
    get_tenant,
    get_tenant_for_change,
    peek_tenant_for_change,
)
from botfleet.control_plane.url_policy import TenantUrlGuard, UrlPlace, url_places

#: The scopes that are not a connector's.
FIXED_SCOPES = ("channel", "llm", DATA_PLANE_SCOPE)
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,99}$")
MAX_SECRET_BYTES = 64 * 1024
#: How a tenant keeps stored credentials holding a URL it could not set again.
_KEEP = "leave these credentials as they are to keep it"


def check_scope(scope: str) -> str:
    """`scope` when it names one (422 naming ``scope`` and what is wrong otherwise): a connector
    scope names a binding key as the tenant's `connectors` take it (`binding_key_category`), a
    more channel's scope a channel kind (``channel:telegram``)."""
    if scope in FIXED_SCOPES:
        return scope
    if scope.startswith(CHANNEL_SCOPE_PREFIX):
        kind, kinds = scope.removeprefix(CHANNEL_SCOPE_PREFIX), channel_kinds()
        if kind not in kinds:
            # `http_dev` is the web chat's other name: its one kind is `webchat`.
            listed = ", ".join(CHANNEL_SCOPE_PREFIX + k for k in kinds)
            raise InvalidInput("scope", f"a more channel's scope is one of {listed}")
        return scope
    if not scope.startswith(CONNECTOR_SCOPE_PREFIX):
        raise InvalidInput(
            "scope",
            "must be 'channel', 'llm', 'data_plane' or 'connector:<name>' (a category, "
            "connector:calendar, or a named binding of one, connector:notification.crm), or a "
            "more channel's 'channel:<kind>' (channel:telegram)",
        )
    binding_key_category(scope.removeprefix(CONNECTOR_SCOPE_PREFIX), "scope")
    return scope


def _non_finite_place(value: Any, where: str) -> str | None:
    """Where the first NaN or infinite number is (``body.api_key``, ``body.info[2]``), or None.
    Python's JSON parser reads ``NaN``, ``Infinity`` and ``1e999`` (as inf), none of which is
    JSON a data plane can read back."""
    return first_bad_place(value, _non_finite, where)


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _check_values(values: dict[str, Any]) -> list[str]:
    if not values:
        raise InvalidInput("body", 'give at least one secret, e.g. {"api_key": "..."}')
    for key in values:
        if not _KEY.match(key):
            raise InvalidInput(
                f"body.{key[:40]}", "secret names are identifiers (letters, digits, _)"
            )
        if key == "type":
            raise InvalidInput("body.type", "'type' belongs to the binding, not to the credentials")
    place = _non_finite_place(values, "body")
    if place is not None:
        raise InvalidInput(
            place, "not a finite number (NaN, Infinity and overflowing ones such as 1e999)"
        )
    return sorted(values)


async def put_credentials(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    tenant_id: str,
    scope: str,
    values: dict[str, Any],
    *,
    url_guard: TenantUrlGuard | None = None,
) -> Credential:
    """Replace the secrets of one scope. The audit entry lists key names, never values.
    The row records who stored them (`provenance.stored_by`): the admin key's are the
    operator's, a tenant key's the tenant's, whoever stored the ones they replace.

    The names are checked against the secret fields of the binding the scope fills (422
    naming an unknown or a missing required one); a connector scope needs its binding first
    (409). The values, merged into the binding as the boot payload merges them, are checked
    with the rules the data plane's adapter applies at boot (422 naming each refused
    ``body.<name>``, never its value, for the admin key too: the data plane would not boot
    with them): a Telegram token as BotFather gives it, a setting stored here instead of in
    the binding (the webhook's `url`) by the binding's rules... The tenant is locked, so a
    concurrent binding change does not slip in between check and store. With `url_guard`
    (`CP_TENANT_URL_POLICY=public`) a tenant key's secrets may hold no URL to a host that is
    not public (a service account's ``token_uri``, or a webhook `url`, which the data plane
    posts to): 422 naming the place, never the value; and the stored secrets it replaces may
    hold none it could not set again (`TenantUrlGuard.check_removable`: 422 naming
    ``credentials.<scope>.<name>``). The values' form is checked before their URLs, whose
    hosts may take seconds to look up.
    """
    principal.require_tenant(tenant_id)
    check_scope(scope)
    names = _check_values(values)
    guard = url_guard if url_guard is not None and url_guard.applies_to(principal) else None
    removed: frozenset[UrlPlace] = frozenset()
    if guard is not None:
        # Looked up before the tenant is locked (see `peek_tenant_for_change`).
        current = await peek_tenant_for_change(uow, principal, tenant_id)
        check_put_names(current, scope, names)
        # The values' form first: a key with its private key's line breaks typed as `\n`
        # is reported as that, not as a DNS problem of its token_uri's host.
        check_put_values(current, scope, values)
        await guard.check(url_places("body", values, json_strings=True))
        removed = await _check_replaced(uow, guard, box, tenant_id, scope, values)
        await uow.release()
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    check_put_names(tenant, scope, names)
    check_put_values(tenant, scope, values)
    if guard is not None:  # a put committed meanwhile may have stored other URLs
        await _check_replaced(uow, guard, box, tenant_id, scope, values, passed=removed)
    sealed = box.seal(values)
    if len(sealed) > MAX_SECRET_BYTES:
        raise InvalidInput("body", f"secrets are larger than {MAX_SECRET_BYTES} bytes once sealed")
    row = await uow.credentials.get(tenant_id, scope)
    # The put replaces every secret of the scope, so whoever puts them now owns them all.
    by = stored_by(principal)
    if row is None:
        row = Credential(
            tenant_id=tenant_id, scope=scope, ciphertext=sealed, key_names=names, stored_by=by
        )
        uow.credentials.add(row)
    else:
        row.ciphertext, row.key_names, row.stored_by = sealed, names, by
        row.updated_at = utcnow()
    audit.record(
        uow, principal, "credentials.put", tenant_id=tenant_id, target=scope,
        details={"keys": names},
    )  # fmt: skip
    await uow.commit()
    return row


async def _check_replaced(
    uow: SqlAlchemyUnitOfWork,
    guard: TenantUrlGuard,
    box: SecretBox,
    tenant_id: str,
    scope: str,
    values: dict[str, Any] | None,
    *,
    passed: frozenset[UrlPlace] = frozenset(),
) -> frozenset[UrlPlace]:
    """Refuse replacing (with `values`) or deleting (None) the scope's stored secrets when one
    of their URLs the new ones do not hold at the same place is one this key could not set
    again: the tenant cannot read it, nor store it back (`check_removable`)."""
    row = await uow.credentials.get(tenant_id, scope)
    if row is None:
        return passed
    where = f"credentials.{scope}"
    kept = set(url_places(where, values or {}, json_strings=True))
    stored = stored_url_places(box, tenant_id, row)
    gone = [place for place in stored if place.too_deep or place not in kept]
    return await guard.check_removable(gone, passed=passed, keep=_KEEP)


async def list_credentials(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str
) -> Sequence[Credential]:
    await get_tenant(uow, principal, tenant_id)
    return await uow.credentials.list(tenant_id)


async def delete_credentials(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    scope: str,
    *,
    box: SecretBox | None = None,
    url_guard: TenantUrlGuard | None = None,
    force: bool = False,
) -> None:
    """Delete a scope's secrets. With `url_guard` (`CP_TENANT_URL_POLICY=public`) and `box`, a
    tenant key may not delete a URL among them it could not set again (422 naming
    ``credentials.<scope>.<name>``: a webhook `url` or a ``token_uri`` the operator stored,
    which the tenant could never store back); looked up before the tenant is locked. Secrets
    the scope's binding requires are kept (409, `check_delete`)."""
    guard = url_guard if url_guard is not None and url_guard.applies_to(principal) else None
    removed: frozenset[UrlPlace] = frozenset()
    if guard is not None and box is not None:
        await peek_tenant_for_change(uow, principal, tenant_id)
        removed = await _check_replaced(uow, guard, box, tenant_id, check_scope(scope), None)
        await uow.release()
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    row = await uow.credentials.get(tenant_id, check_scope(scope))
    if row is None:
        raise NotFound("credentials scope", scope)
    if not force:
        check_delete(tenant, scope)
    if guard is not None and box is not None:
        await _check_replaced(uow, guard, box, tenant_id, scope, None, passed=removed)
    await uow.credentials.delete(row)
    audit.record(uow, principal, "credentials.delete", tenant_id=tenant_id, target=scope)
    await uow.commit()


async def open_all(
    uow: SqlAlchemyUnitOfWork, box: SecretBox, tenant_id: str
) -> dict[str, dict[str, Any]]:
    """Decrypted secrets by scope, for the boot payload only."""
    rows = await uow.credentials.list(tenant_id)
    return {row.scope: box.open(row.ciphertext, where=f"{tenant_id}/{row.scope}") for row in rows}


async def data_plane_token(uow: SqlAlchemyUnitOfWork, box: SecretBox, tenant_id: str) -> str | None:
    """The token the control plane presents to the tenant's data plane, if one is stored."""
    row = await uow.credentials.get(tenant_id, DATA_PLANE_SCOPE)
    if row is None:
        return None
    token = box.open(row.ciphertext, where=f"{tenant_id}/{DATA_PLANE_SCOPE}").get("internal_token")
    return token if isinstance(token, str) and token else None


async def rotate_encryption(
    uow: SqlAlchemyUnitOfWork, principal: Principal, box: SecretBox
) -> RotationResult:
    """Re-encrypt every stored secret with the primary key.

    Run after putting a new key first in ``CP_FERNET_KEYS``; then the old keys can be removed.
    A row no configured key can decrypt (its key was dropped before rotating) cannot be
    re-encrypted: it is left as it is and named in ``skipped`` (``tenant/scope``), and every
    other row is rotated, so one lost secret does not hold back the rest. Such a row stays
    unreadable until its secrets are put again (or the old key is restored and this rerun).

    Each tenant's rows are read and rewritten under the tenant's lock (as every write of a
    tenant's rows is): a concurrent `PUT` of a secret is not overwritten with the older one
    re-encrypted, and a tenant deleted meanwhile is left out (its secrets went with it).
    """
    principal.require_admin("rotating the encryption keys")
    tenant_ids = sorted({row.tenant_id for row in await uow.credentials.list()})
    # The listing's read ends before the first lock: on SQLite a read transaction that
    # another writer overtook cannot become a write one.
    await uow.release()
    rotated, skipped = 0, []
    # In id order, as no other write takes more than one tenant's lock: no deadlock.
    for tenant_id in tenant_ids:
        if await uow.tenants.get_for_update(tenant_id) is None:
            continue
        for row in await uow.credentials.list(tenant_id):
            where = f"{row.tenant_id}/{row.scope}"
            try:
                row.ciphertext = box.rotate(row.ciphertext, where=where)
            except UndecryptableSecret:
                skipped.append(where)
                continue
            rotated += 1
    details: dict[str, Any] = {"rows": rotated}
    if skipped:
        details["skipped"] = skipped
    audit.record(uow, principal, "credentials.rotate_keys", tenant_id=None, details=details)
    await uow.commit()
    return RotationResult(rotated=rotated, skipped=skipped)
