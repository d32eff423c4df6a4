"""Request dependencies as `Annotated` aliases: container, unit of work, caller, path params."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from botfleet.control_plane.api.access import authorize
from botfleet.control_plane.api.observe import note_actor
from botfleet.control_plane.bootstrap import Container
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import ApiKeyExpired, AuthenticationFailed
from botfleet.control_plane.models import TENANT_ID_PATTERN
from botfleet.control_plane.principals import KEY_ACTOR_PREFIX, Principal
from botfleet.control_plane.services import identity

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="The admin API key or a tenant API key: `Authorization: Bearer <key>`",
)
_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="ApiKeyHeader",
    description="The same key in an `X-API-Key` header",
)
_boot_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="BootToken",
    description="The tenant's boot token: `Authorization: Bearer <token>`",
)


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_uow(container: ContainerDep) -> SqlAlchemyUnitOfWork:
    return container.uow()


UoWDep = Annotated[SqlAlchemyUnitOfWork, Depends(get_uow)]


async def get_principal(
    request: Request,
    container: ContainerDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> Principal:
    """Authenticate the admin key or a tenant key (401 when missing or wrong), then check that
    it may call this route at all (`api/access.py`; 403 naming the role it needs) and, on a
    tenant's route, that it is that tenant's (404, `require_tenant`). All run before the body
    is validated against its model, so a refused key learns nothing from validation (a body
    that is no JSON at all is refused before, alike for any key, any tenant or none).

    The key, once authenticated, is named in the request's log line (`observe.note_actor`)
    before those checks, so their refusals say which key was refused; an expired key (its
    secret right) is named too, a wrong or unknown one is not."""
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        raise AuthenticationFailed(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
        )
    try:
        async with container.uow() as uow:
            principal = await identity.authenticate(uow, container.settings.admin_key, presented)
    except ApiKeyExpired as expired:
        note_actor(request.scope, f"{KEY_ACTOR_PREFIX}{expired.key_id}")
        raise
    note_actor(request.scope, principal.actor)
    # The template the router matched (`{tenant_id}`, not the tenant's id).
    template = getattr(request.scope.get("route"), "path_format", None)
    authorize(principal, request.method, template)
    # Another tenant's routes are 404 before their body is read too, as for an unknown tenant.
    tenant_id = request.path_params.get("tenant_id")
    if isinstance(tenant_id, str):
        principal.require_tenant(tenant_id)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_boot_token(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_boot_bearer)],
) -> str | None:
    """The presented boot token, or None: the boot route refuses that itself, so the refusal
    is counted in its metrics like any other."""
    if bearer is None or not bearer.credentials:
        return None
    return bearer.credentials


BootTokenDep = Annotated[str | None, Depends(get_boot_token)]

TenantIdPath = Annotated[
    str,
    Path(pattern=TENANT_ID_PATTERN, max_length=63, description="the tenant's id (slug)"),
]
VersionPath = Annotated[int, Path(ge=1, le=2_147_483_647, description="version number, from 1")]
