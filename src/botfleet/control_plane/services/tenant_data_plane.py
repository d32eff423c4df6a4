"""The tenant's data plane as the relays reach it (`contacts`, `conversations`, `tasks`): its
`data_plane_url` and its ``data_plane`` token, or a 409 saying which to set; and its answers
read as the control plane's models, or a 502 saying they are not a data plane's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict, PermissionDenied
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services.credentials import data_plane_token
from botfleet.control_plane.services.data_plane_relay import DataPlaneError, origin
from botfleet.control_plane.services.tenants import DISABLED, get_tenant

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class TenantDataPlane:
    url: str
    token: str = field(repr=False)

    @property
    def where(self) -> str:
        """The data plane by its origin only, for error messages."""
        return f"the data plane at {origin(self.url)}"


async def reach_data_plane(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    box: SecretBox,
    tenant_id: str,
    *,
    acting: str | None = None,
) -> TenantDataPlane:
    """The tenant's data plane, if `principal` may see the tenant (404 otherwise) and the
    control plane knows where it is and holds its token (409 otherwise). The database
    connection is released on return: none is held while the data plane works.

    `acting` names what the call does to the tenant's contacts (``run its tasks``): a disabled
    tenant's own keys may not (403), as they may not change it; the admin may."""
    tenant = await get_tenant(uow, principal, tenant_id)
    if acting is not None and tenant.status == DISABLED and not principal.is_admin:
        raise PermissionDenied(
            f"tenant {tenant_id!r} is disabled: its API keys cannot {acting}; an admin can "
            f"enable it (POST /v1/tenants/{tenant_id}/enable)"
        )
    if not tenant.data_plane_url:
        raise Conflict(
            f"tenant {tenant_id!r} has no data_plane_url, so its data plane cannot be reached: "
            f'set it (PATCH /v1/tenants/{tenant_id} {{"data_plane_url": "http://..."}}, or '
            "botfleet cp tenants update --data-plane-url)"
        )
    token = await data_plane_token(uow, box, tenant_id)
    if token is None:
        raise Conflict(
            f"tenant {tenant_id!r} has no data_plane credentials: store its data plane's "
            "DP_INTERNAL_TOKEN as internal_token (PUT /v1/tenants/"
            f'{tenant_id}/credentials/data_plane {{"internal_token": "..."}}, or botfleet cp '
            f"credentials set {tenant_id} data_plane --file dp.json, the file holding "
            '{"internal_token": "..."}: a token on the command line stays in the shell\'s '
            "history)"
        )
    await uow.release()
    return TenantDataPlane(tenant.data_plane_url, token)


def read_answer(model: type[ModelT], answer: Any, data_plane: TenantDataPlane) -> ModelT:
    """`answer` (the data plane's JSON) as `model`; a 502 when it is not shaped so."""
    try:
        return model.model_validate(answer)
    except ValidationError as exc:
        raise DataPlaneError(
            502,
            f"{data_plane.where} answered, but not as a data plane does "
            f"({exc.error_count()} problem(s))",
        ) from None
