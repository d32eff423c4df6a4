"""The control plane's boot payload as the data plane's `TenantConfig` (pure conversion)."""

from __future__ import annotations

from typing import Any

from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.domain.tenants import BootPayload


def version_label(version: int) -> str:
    """How a published version shows in `/health` and logs: ``v3``."""
    return f"v{version}"


def boot_source(payload: BootPayload) -> str:
    """What errors about this configuration name as their origin."""
    flow = version_label(payload.flow.version)
    return f"control-plane boot config of {payload.tenant.id!r} (flow {flow})"


def cached_source(payload: BootPayload, *, secrets_restored: bool) -> str:
    """What errors about the cached copy of this configuration name as their origin: the
    copy, and whether its secrets could not be opened, the likelier cause of a "missing
    required key" than the stored credentials (docs/deployment.md, "DP_CACHE_KEY")."""
    origin = f"cached copy of {boot_source(payload)}"
    if secrets_restored or not payload.secret_paths:
        return origin
    return (
        f"{origin}, whose secrets did not open: DP_CACHE_KEY unset or not the key it was "
        "sealed with; start with that key, or once the control plane answers"
    )


def tenant_config_from_boot(payload: BootPayload, *, source: str | None = None) -> TenantConfig:
    """The tenant's configuration from its boot payload.

    The flow stays YAML text (`flow_yaml`), so an error found at boot names the line of the
    version that was uploaded. The published knowledge version becomes `llm.knowledge_version`.
    `source`: what errors name as the origin (default: `boot_source`).

    Raises:
        ConfigError: a binding this data plane cannot use (the message names the key).
    """
    llm: dict[str, Any] = dict(payload.llm)
    if payload.knowledge is not None:
        llm["knowledge_version"] = version_label(payload.knowledge.version)
    raw: dict[str, Any] = {
        "tenant_id": payload.tenant.id,
        "name": payload.tenant.name,
        "timezone": payload.tenant.timezone,
        "language": payload.tenant.language,
        "flow_yaml": payload.flow.yaml,
        "channel": dict(payload.channel),
        "more_channels": [dict(b) for b in payload.more_channels],
        "connectors": {category: dict(b) for category, b in payload.connectors.items()},
        "llm": llm,
        "knowledge": payload.knowledge.text if payload.knowledge is not None else None,
    }
    return tenant_config_from_mapping(raw, source=source or boot_source(payload))
