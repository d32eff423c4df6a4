"""Credential routes: put a scope's secrets, list scope and key names, delete a scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status

from botfleet.control_plane.api.bodies import json_object_request_body, read_json_object
from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.responses import (
    AUTH_ERRORS,
    BODY_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    RequestErrorBody,
)
from botfleet.control_plane.models import CredentialView, ErrorBody
from botfleet.control_plane.services import credentials

router = APIRouter(
    prefix="/v1/tenants/{tenant_id}/credentials", tags=["credentials"], responses=AUTH_ERRORS
)

# No pattern here: the service's check answers a malformed scope with what is wrong in it
# (`connector:llm.backup`, `connector:notification.CRM`) rather than a regular expression.
ScopePath = Annotated[
    str,
    Path(
        description="channel, llm, data_plane, connector:<name>, the name a category "
        "(connector:calendar) or a named binding of one (connector:notification.crm), or "
        "channel:<kind>, the kind of one of the tenant's more_channels (channel:telegram)",
        examples=["connector:notification.crm"],
    ),
]

PUT_ERRORS: dict[int | str, dict[str, Any]] = {
    **BODY_TOO_LARGE,
    **UNSUPPORTED_MEDIA_TYPE,
    409: {
        "model": ErrorBody,
        "description": "a connector:<name> scope whose connector the tenant does not bind, "
        "or a channel:<kind> scope of a kind none of its more_channels is",
    },
    422: {
        "model": RequestErrorBody,
        "description": "not a JSON object, a non-finite number, a name that is not a secret "
        "field of the scope's binding type (the answer lists the expected ones), a secret "
        "the binding type requires left out (the answer names it), a secret the data plane "
        "would refuse at boot (a Telegram bot_token not as BotFather gives it, a WhatsApp "
        "secret with spaces around it, a Google service-account key that does not load; a "
        "setting stored here instead of in the binding, a webhook's url, by the binding's "
        "rules): the answer names each such body.<name>, never its value, and nothing is "
        "stored; or, with a tenant key and CP_TENANT_URL_POLICY=public, a URL (a "
        "service account's token_uri, a webhook's url) whose host is not public, or stored "
        "secrets it replaces holding a URL the key could not set again",
    },
}


@router.put(
    "/{scope}",
    responses=PUT_ERRORS,
    openapi_extra=json_object_request_body(
        'the scope\'s secrets, e.g. {"access_token": "..."}; replaces the old ones',
        {"access_token": "EAA...", "app_secret": "..."},
    ),
)
async def put_credentials(
    tenant_id: TenantIdPath,
    scope: ScopePath,
    request: Request,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
) -> CredentialView:
    """Store a scope's secrets, encrypted. The answer names the keys, never the values.
    The body is a JSON object, also when sent without a JSON content type (``curl -d``).
    Its names must be secret fields of the binding the scope is merged into at boot, and
    include every one that binding requires (the put replaces the scope's secrets); its values
    must pass the rules the data plane applies to them at boot."""
    # Read here rather than bound by FastAPI: after authentication, and with no content type
    # or curl's form default taken as JSON (see `read_json_object`).
    values = await read_json_object(request)
    async with uow:
        row = await credentials.put_credentials(
            uow, principal, container.box, tenant_id, scope, values, url_guard=container.url_guard
        )
        return CredentialView.model_validate(row)


@router.get("")
async def list_credentials(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> list[CredentialView]:
    """Scopes and key names only."""
    async with uow:
        rows = await credentials.list_credentials(uow, principal, tenant_id)
        return [CredentialView.model_validate(row) for row in rows]


@router.delete(
    "/{scope}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        422: {
            "model": RequestErrorBody,
            "description": "a malformed scope; or, with a tenant key and "
            "CP_TENANT_URL_POLICY=public, secrets holding a URL the key could not set again "
            "(an operator's internal webhook url or token_uri): the admin key deletes them",
        },
        409: {
            "model": ErrorBody,
            "description": "the scope's binding requires some of these secrets (its data "
            "plane would not start again without them): ?force=true deletes them anyway",
        },
    },
)
async def delete_credentials(
    tenant_id: TenantIdPath,
    scope: ScopePath,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    force: bool = False,
) -> Response:
    """Delete a scope's secrets. Secrets the scope's binding requires (a Telegram channel's
    ``bot_token``) are kept with 409 unless ``?force=true``: without them the data plane
    refuses to start, at its next restart."""
    async with uow:
        await credentials.delete_credentials(
            uow,
            principal,
            tenant_id,
            scope,
            box=container.box,
            url_guard=container.url_guard,
            force=force,
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
