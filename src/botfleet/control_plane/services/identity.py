"""Identity: authenticating API keys and boot tokens; issuing, listing and revoking them."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from botfleet.control_plane.db.tables import ApiKey, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import (
    ApiKeyExpired,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.models import utc_instant
from botfleet.control_plane.principals import ADMIN, ADMIN_ACTOR, DEFAULT_ROLE, Principal, Role
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.tenants import get_tenant, get_tenant_for_change
from botfleet.control_plane.tokens import (
    api_key_id,
    digests_match,
    hash_secret,
    new_api_key,
    new_boot_token,
)

_BAD_KEY = "invalid API key"
#: `last_used_at` is written at most this often per key, so authenticating seldom writes: a
#: key used all day costs one small UPDATE an hour, not one per request.
LAST_USED_RESOLUTION = timedelta(hours=1)

_log = get_logger("identity")


async def authenticate(uow: SqlAlchemyUnitOfWork, admin_key: str, presented: str) -> Principal:
    """The principal behind a presented key. Raises `AuthenticationFailed` (one message for all
    failures, so callers cannot probe which keys exist), or `ApiKeyExpired` for a key whose
    secret is right but whose `expires_at` has passed (logged as ``api_key_expired``)."""
    if hmac.compare_digest(presented.encode(), admin_key.encode()):
        return ADMIN
    key_id = api_key_id(presented)
    if key_id is None:
        raise AuthenticationFailed(_BAD_KEY)
    row = await uow.api_keys.get(key_id)
    if row is None or row.revoked_at is not None or not digests_match(presented, row.key_hash):
        raise AuthenticationFailed(_BAD_KEY)
    now = utcnow()
    if row.expires_at is not None and now >= row.expires_at:
        expired_at = utc_instant(row.expires_at)
        _log.warning(
            "api_key_expired",
            key_id=row.id,
            tenant_id=row.tenant_id,
            key_name=row.name,
            expired_at=expired_at,
        )
        raise ApiKeyExpired(row.name, row.id, expired_at)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        await _record_use(uow, row, now)
    return Principal(
        kind="tenant",
        tenant_id=row.tenant_id,
        key_id=row.id,
        role=_role(row),
        expires_at=row.expires_at,
    )


def _role(row: ApiKey) -> Role:
    """The key's role; a value this version does not know gives the least one (a newer
    version's role must not turn into more than it was meant to be)."""
    try:
        return Role(row.role)
    except ValueError:
        return Role.VIEWER


async def _record_use(uow: SqlAlchemyUnitOfWork, row: ApiKey, now: datetime) -> None:
    """Set `last_used_at`, best effort: a failure (SQLite's write lock taken for longer than
    its busy timeout, say) is logged and the request goes on; it only delays the record."""
    try:
        await uow.api_keys.record_use(row.id, now, not_since=now - LAST_USED_RESOLUTION)
        await uow.commit()
    except SQLAlchemyError as exc:
        _log.warning("api_key_use_not_recorded", key_id=row.id, error=type(exc).__name__)


async def authenticate_boot(uow: SqlAlchemyUnitOfWork, tenant_id: str, presented: str) -> None:
    """Check a boot token against the tenant's current one (401 for any mismatch)."""
    row = await uow.boot_tokens.get(tenant_id)
    if row is None or not digests_match(presented, row.token_hash):
        raise AuthenticationFailed("invalid boot token for this tenant")


def outlives_its_maker(principal: Principal, expires_at: datetime | None) -> str | None:
    """Why a key made by `principal` may not expire at `expires_at` (None: never), or None
    when it may: a tenant key with an expiry makes keys that expire by then, so a key cannot
    extend its own life through another. The admin's keys are limited only by the settings."""
    if principal.is_admin or principal.expires_at is None:
        return None
    limit = utc_instant(principal.expires_at)
    if expires_at is None:
        return (
            f"the key making this one expires at {limit}, so the keys it makes must expire by "
            "then: give expires_at or expires_in_days"
        )
    if expires_at > principal.expires_at:
        return (
            f"must be at most {limit}, when the key making this one expires: a key cannot "
            "make one that outlives it"
        )
    return None


async def create_api_key(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    name: str,
    *,
    expires_at: datetime | None = None,
    role: Role = DEFAULT_ROLE,
) -> tuple[ApiKey, str]:
    """A new key for the tenant; the secret is returned once and only its hash is stored.
    `expires_at` (aware; checked by `ApiKeyCreate`): when it stops working; None: never.
    A tenant key makes keys of at most its own role (403), expiring no later than itself
    (422, `outlives_its_maker`)."""
    await get_tenant_for_change(uow, principal, tenant_id)
    if not principal.is_admin and not principal.role.covers(role):
        raise PermissionDenied(
            f"a key with the {principal.role} role cannot make one with the {role} role: a "
            "key makes keys of at most its own role (ask the tenant's owner or the admin)"
        )
    refusal = outlives_its_maker(principal, expires_at)
    if refusal is not None:
        raise InvalidInput("expires_at", refusal)
    issued = new_api_key()
    row = ApiKey(
        id=issued.key_id,
        tenant_id=tenant_id,
        name=name,
        key_hash=issued.digest,
        role=role.value,
        created_by=principal.actor,
        expires_at=expires_at,
    )
    uow.api_keys.add(row)
    expiry = None if expires_at is None else expires_at.isoformat()
    audit.record(
        uow, principal, "api_key.create", tenant_id=tenant_id, target=issued.key_id,
        details={"name": name, "role": role.value, "expires_at": expiry},
    )  # fmt: skip
    await uow.commit()
    return row, issued.secret


async def list_api_keys(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    *,
    include_expired: bool = False,
) -> Sequence[ApiKey]:
    """The tenant's keys, oldest first; those past their `expires_at` only with
    `include_expired` (an expired key only answers 401: listed by default, old ones would
    crowd out the keys in use)."""
    await get_tenant(uow, principal, tenant_id)
    rows = await uow.api_keys.list(tenant_id)
    if include_expired:
        return rows
    now = utcnow()
    return [row for row in rows if row.expires_at is None or now < row.expires_at]


async def revoke_api_key(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, key_id: str
) -> None:
    """Revoke a key at once. Locked like every change, but also open to a disabled tenant's own
    keys: it only takes access away, and a leaked key should not wait for an admin.

    The admin revokes any key, and any key may revoke itself (the route is open to viewers for
    that); a key below owner may revoke no other (403). An owner key revokes the tenant's keys
    but those the admin made (the operator's or agency's own access to the tenant; 403)."""
    await get_tenant(uow, principal, tenant_id, lock=True)
    # Before the lookup: a key that may revoke only itself learns nothing of other ids.
    _check_revokes_only_itself(principal, key_id)
    row = await uow.api_keys.get(key_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("API key", key_id)
    _check_may_revoke(principal, row)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            uow, principal, "api_key.revoke", tenant_id=tenant_id, target=key_id,
            details={"name": row.name, "role": _role(row).value},
        )  # fmt: skip
        await uow.commit()


def _check_revokes_only_itself(principal: Principal, key_id: str) -> None:
    if principal.is_admin or key_id == principal.key_id or principal.role.covers(Role.OWNER):
        return
    raise PermissionDenied(
        f"a key with the {principal.role} role may revoke only itself, not API key {key_id}: "
        "revoking another key needs the owner role (ask the tenant's owner or the admin)"
    )


def _check_may_revoke(principal: Principal, row: ApiKey) -> None:
    if principal.is_admin or row.id == principal.key_id:
        return
    if row.created_by == ADMIN_ACTOR:
        raise PermissionDenied(
            f"API key {row.id} ({row.name!r}) was made with the admin key: only the admin may "
            "revoke it"
        )


async def rotate_boot_token(uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str) -> str:
    """Replace the tenant's boot token; the new one is returned once, the old one stops working.

    The boot token never expires and unlocks the tenant's decrypted credentials, so a key that
    expires may not mint one (403): the token would outlive the key, and keep working after
    the key expired or was revoked. The admin and owner keys without an expiry may."""
    await get_tenant_for_change(uow, principal, tenant_id)
    if not principal.is_admin and principal.expires_at is not None:
        raise PermissionDenied(
            f"rotating the boot token needs the admin key or an owner key without an expiry: "
            f"this key ({principal.key_id}) expires at {utc_instant(principal.expires_at)}, "
            "and the boot token never expires (it reads the tenant's credentials), so one it "
            "made would outlive it"
        )
    token = new_boot_token()
    await uow.boot_tokens.replace(tenant_id, hash_secret(token))
    audit.record(uow, principal, "boot_token.rotate", tenant_id=tenant_id, target=tenant_id)
    await uow.commit()
    return token
