"""Boot configuration: everything a tenant's data plane needs, with credentials merged in."""

from __future__ import annotations

from typing import Any

from botfleet.control_plane.binding_schemas import CHANNEL_SCOPE_PREFIX
from botfleet.control_plane.crypto import SecretBox
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict, NotFound, TenantDisabled
from botfleet.control_plane.services import credentials, identity
from botfleet.control_plane.services.tenants import DISABLED
from botfleet.domain.channel_ids import channel_kind
from botfleet.domain.tenants import BootPayload, PublishedFlow, PublishedKnowledge, TenantInfo


def _merge(
    where: str, settings: dict[str, Any], secrets: dict[str, Any] | None, paths: list[str]
) -> dict[str, Any]:
    if not secrets:
        return dict(settings)
    paths.extend(f"{where}.{key}" for key in sorted(secrets))
    return {**settings, **secrets}


async def build_boot_payload(
    uow: SqlAlchemyUnitOfWork, box: SecretBox, tenant_id: str, boot_token: str
) -> BootPayload:
    """The tenant's boot payload, after checking its boot token.

    Raises:
        AuthenticationFailed: unknown tenant or wrong token (the same answer for both).
        TenantDisabled: the tenant is disabled.
        Conflict: no flow has been published yet.
    """
    await identity.authenticate_boot(uow, tenant_id, boot_token)
    tenant = await uow.tenants.get(tenant_id)
    if tenant is None:  # the token row exists only while the tenant does
        raise NotFound("tenant", tenant_id)
    if tenant.status == DISABLED:
        raise TenantDisabled(tenant_id)
    if tenant.published_flow_version is None:
        raise Conflict(f"tenant {tenant_id!r} has no published flow; publish one first")
    flow = await uow.flows.get(tenant_id, tenant.published_flow_version)
    if flow is None:
        raise NotFound("flow version", tenant.published_flow_version)
    knowledge = None
    if tenant.published_knowledge_version is not None:
        knowledge = await uow.knowledge.get(tenant_id, tenant.published_knowledge_version)
    secrets = await credentials.open_all(uow, box, tenant_id)
    paths: list[str] = []
    # A named binding (`notification.crm`) gets its own scope's secrets, never its category's.
    connectors = {
        name: _merge(f"connectors.{name}", binding, secrets.get(f"connector:{name}"), paths)
        for name, binding in sorted(tenant.connectors.items())
    }
    channel = _merge("channel", tenant.channel, secrets.get("channel"), paths)
    # Each more channel gets the secrets of its kind's scope (`channel:telegram`).
    more = [
        _merge(
            f"more_channels[{index}]",
            binding,
            secrets.get(CHANNEL_SCOPE_PREFIX + channel_kind(str(binding.get("type")))),
            paths,
        )
        for index, binding in enumerate(tenant.more_channels or [])
    ]
    return BootPayload(
        tenant=TenantInfo(
            id=tenant.id, name=tenant.name, timezone=tenant.timezone, language=tenant.language
        ),
        flow=PublishedFlow(
            version=flow.version, flow_id=flow.flow_id, yaml=flow.content, sha256=flow.sha256
        ),
        channel=channel,
        more_channels=more,
        connectors=connectors,
        knowledge=None
        if knowledge is None
        else PublishedKnowledge(
            version=knowledge.version, text=knowledge.content, sha256=knowledge.sha256
        ),
        llm=_merge("llm", tenant.llm, secrets.get("llm"), paths),
        secret_paths=tuple(paths),
    )
