"""Identity: authenticating API keys and boot tokens; issuing, listing and revoking them."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from botfleet.control_plane.db.tables import ApiKey, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import AuthenticationFailed, NotFound
from botfleet.control_plane.principals import ADMIN, Principal
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


async def authenticate(uow: SqlAlchemyUnitOfWork, admin_key: str, presented: str) -> Principal:
    """The principal behind a presented key. Raises `AuthenticationFailed` (one message for all
    failures, so callers cannot probe which keys exist)."""
    if hmac.compare_digest(presented.encode(), admin_key.encode()):
        return ADMIN
    key_id = api_key_id(presented)
    if key_id is None:
        raise AuthenticationFailed(_BAD_KEY)
    row = await uow.api_keys.get(key_id)
    if row is None or row.revoked_at is not None or not digests_match(presented, row.key_hash):
        raise AuthenticationFailed(_BAD_KEY)
    return Principal(kind="tenant", tenant_id=row.tenant_id, key_id=row.id)


async def authenticate_boot(uow: SqlAlchemyUnitOfWork, tenant_id: str, presented: str) -> None:
    """Check a boot token against the tenant's current one (401 for any mismatch)."""
    row = await uow.boot_tokens.get(tenant_id)
    if row is None or not digests_match(presented, row.token_hash):
        raise AuthenticationFailed("invalid boot token for this tenant")


async def create_api_key(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, name: str
) -> tuple[ApiKey, str]:
    """A new key for the tenant; the secret is returned once and only its hash is stored."""
    await get_tenant_for_change(uow, principal, tenant_id)
    issued = new_api_key()
    row = ApiKey(
        id=issued.key_id,
        tenant_id=tenant_id,
        name=name,
        key_hash=issued.digest,
        created_by=principal.actor,
    )
    uow.api_keys.add(row)
    audit.record(
        uow, principal, "api_key.create", tenant_id=tenant_id, target=issued.key_id,
        details={"name": name},
    )  # fmt: skip
    await uow.commit()
    return row, issued.secret


async def list_api_keys(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str
) -> Sequence[ApiKey]:
    await get_tenant(uow, principal, tenant_id)
    return await uow.api_keys.list(tenant_id)


async def revoke_api_key(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, key_id: str
) -> None:
    """Revoke a key at once. Locked like every change, but also open to a disabled tenant's own
    keys: it only takes access away, and a leaked key should not wait for an admin."""
    await get_tenant(uow, principal, tenant_id, lock=True)
    row = await uow.api_keys.get(key_id)
    if row is None or row.tenant_id != tenant_id:
        raise NotFound("API key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(uow, principal, "api_key.revoke", tenant_id=tenant_id, target=key_id)
        await uow.commit()


async def rotate_boot_token(uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str) -> str:
    """Replace the tenant's boot token; the new one is returned once, the old one stops working."""
    await get_tenant_for_change(uow, principal, tenant_id)
    token = new_boot_token()
    await uow.boot_tokens.replace(tenant_id, hash_secret(token))
    audit.record(uow, principal, "boot_token.rotate", tenant_id=tenant_id, target=tenant_id)
    await uow.commit()
    return token
