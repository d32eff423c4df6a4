"""Identity routes: a tenant's API keys and its boot token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.exceptions import RequestValidationError

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.responses import AUTH_ERRORS, BODY_TOO_LARGE
from botfleet.control_plane.db.tables import utcnow
from botfleet.control_plane.models import ApiKeyCreate, ApiKeyCreated, ApiKeyView, BootTokenIssued
from botfleet.control_plane.principals import KEY_ID_PATTERN, Principal
from botfleet.control_plane.services import identity

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["identity"], responses=AUTH_ERRORS)

KeyIdPath = Annotated[str, Path(pattern=rf"^{KEY_ID_PATTERN}$", description="the key's id")]


def _refused(field: str, message: str) -> RequestValidationError:
    """A refused expiry in FastAPI's 422 shape, as the model's own expiry errors."""
    error = {"type": "value_error", "loc": ("body", field), "msg": message, "input": None}
    return RequestValidationError([error])


def _expiry(
    body: ApiKeyCreate, now: datetime, max_days: int | None, maker: Principal
) -> datetime | None:
    """When the new key expires, within `CP_API_KEY_MAX_DAYS` (`max_days`) when set: a key
    asked for without an expiry gets one that far away, or its maker's expiry when sooner (the
    answer says when); one asked to
    live longer is refused in FastAPI's 422 shape, as the other expiry errors, naming the
    field it was given in. A tenant key with an expiry (`maker`) makes keys expiring by then:
    a later expiry, or none, is refused so too (`expires_at` when none was given)."""
    field = "expires_in_days" if body.expires_in_days is not None else "expires_at"
    expiry = body.expiry(now)
    if max_days is not None:
        if expiry is None:
            expiry = now.astimezone(UTC).replace(microsecond=0) + timedelta(days=max_days)
            # No later than the tenant key making it: a key made a day after its maker got a
            # default a day past the maker's, refused below (almost always, in real use).
            if not maker.is_admin and maker.expires_at is not None:
                expiry = min(expiry, maker.expires_at)
        elif expiry > now + timedelta(days=max_days):
            raise _refused(
                field,
                f"must be at most {max_days} days from now: this control plane limits tenant "
                f"keys to that (CP_API_KEY_MAX_DAYS={max_days}); rotate keys instead of "
                "making them live longer",
            )
    refusal = identity.outlives_its_maker(maker, expiry)
    if refusal is not None:
        raise _refused(field, refusal)
    return expiry


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, responses=BODY_TOO_LARGE)
async def create_api_key(
    tenant_id: TenantIdPath,
    body: ApiKeyCreate,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
) -> ApiKeyCreated:
    """A new tenant-scoped key. The key itself is in this answer only; store it now.

    With `expires_at` or `expires_in_days` it stops working then (401 naming the key and the
    date); without, it works until revoked, unless the control plane limits how long keys
    live (``CP_API_KEY_MAX_DAYS``): then it gets an expiry that many days away, and a later
    one is refused (422).

    `role` (default `owner`) says what it may do. A tenant key (an owner's) makes keys of at
    most its own role (403), and, when it expires, keys that expire by then (422 naming the
    field; one without an expiry too)."""
    expires_at = _expiry(body, utcnow(), container.settings.api_key_max_days, principal)
    async with uow:
        row, key = await identity.create_api_key(
            uow, principal, tenant_id, body.name, expires_at=expires_at, role=body.role
        )
        return ApiKeyCreated.model_validate(
            {**ApiKeyView.model_validate(row).model_dump(), "key": key}
        )


@router.get("/api-keys")
async def list_api_keys(
    tenant_id: TenantIdPath,
    principal: PrincipalDep,
    uow: UoWDep,
    include_expired: Annotated[
        bool, Query(description="also list keys past their expires_at (hidden by default)")
    ] = False,
) -> list[ApiKeyView]:
    """Key metadata (never the keys or their hashes): role, who made it (`admin` or
    `apikey:<id>`), expiry and when each was last used. Keys past their expiry are left out
    unless ``?include_expired=true`` (revoked ones are listed, with ``revoked_at``)."""
    async with uow:
        rows = await identity.list_api_keys(
            uow, principal, tenant_id, include_expired=include_expired
        )
        return [ApiKeyView.model_validate(row) for row in rows]


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    tenant_id: TenantIdPath, key_id: KeyIdPath, principal: PrincipalDep, uow: UoWDep
) -> Response:
    """Revoke a key; it stops working at once. The admin may revoke any key, and any key
    itself, whatever its role; a viewer or editor key no other (403), an owner key any of the
    tenant's but one the admin made (403)."""
    async with uow:
        await identity.revoke_api_key(uow, principal, tenant_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/boot-token/rotate")
async def rotate_boot_token(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> BootTokenIssued:
    """Issue a new boot token (shown once); the previous one stops working. The boot token
    never expires, so only the admin key or an owner key without an expiry may (403 for a key
    with one: the token would outlive it)."""
    async with uow:
        token = await identity.rotate_boot_token(uow, principal, tenant_id)
    return BootTokenIssued(tenant_id=tenant_id, boot_token=token)
