"""Orchestration port: run one tenant's data plane somewhere (local processes, Kubernetes).

Back ends: `botfleet.adapters.orchestration.local.LocalOrchestrator` (one process per tenant,
its own port and data folder) and `...kubernetes.KubernetesOrchestrator` (a Deployment, Service,
PersistentVolumeClaim and Secret per tenant). Both take the same `DataPlaneSpec`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

#: running: up (healthy or not); starting: asked to run, not up yet; stopped: not running;
#: failed: it should run but exited or cannot be scheduled; unknown: no such deployment.
RunState = Literal["running", "starting", "stopped", "failed", "unknown"]

#: The local orchestrator's own folders under its root, which no tenant's folder may be.
RESERVED_FOLDERS = ("run", "logs")


@dataclass(frozen=True, slots=True)
class DataPlaneSpec:
    """How to run one tenant's data plane.

    Either `control_plane_url` + `boot_token` (the data plane pulls its configuration) or
    `tenant_config_path` (a local YAML, development). Secrets (`boot_token`, `cache_key`,
    `internal_token`) are kept out of `repr`.
    """

    tenant_id: str
    control_plane_url: str | None = None
    boot_token: str | None = field(default=None, repr=False)
    tenant_config_path: str | None = None
    #: Fernet key(s) sealing the secrets of the cached boot config (``DP_CACHE_KEY``).
    cache_key: str | None = field(default=None, repr=False)
    #: The token the control plane presents to this data plane (``DP_INTERNAL_TOKEN``).
    internal_token: str | None = field(default=None, repr=False)
    #: Local: the port to listen on (None: a free one). Kubernetes: the container port.
    port: int | None = None
    #: Seconds between the data plane's config polls (``DP_CONFIG_POLL_S``).
    config_poll_s: float | None = None
    #: Extra, non-secret environment variables.
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tenant_config_path and not (self.control_plane_url and self.boot_token):
            raise ValueError(
                f"tenant {self.tenant_id!r}: give control_plane_url and boot_token, "
                "or tenant_config_path"
            )


@dataclass(frozen=True, slots=True)
class DataPlaneStatus:
    tenant_id: str
    state: RunState
    #: Where the data plane answers (local: http://127.0.0.1:<port>; Kubernetes: the Service).
    url: str | None = None
    #: Local: the process id. Kubernetes: None.
    pid: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DataPlaneHealth:
    tenant_id: str
    healthy: bool
    #: The data plane's ``GET /health`` answer when it gave one.
    body: Mapping[str, Any] | None = None
    detail: str = ""


class Orchestrator(Protocol):
    """Starts, stops and watches tenants' data planes."""

    async def start(self, spec: DataPlaneSpec) -> DataPlaneStatus:
        """Run the tenant's data plane (no-op when it already runs with this spec)."""
        ...

    async def stop(self, tenant_id: str) -> DataPlaneStatus:
        """Stop it; its data (state, jobs, cached config) stays."""
        ...

    async def restart(self, tenant_id: str) -> DataPlaneStatus:
        """Stop and start it again with the spec it was started with (applies new bindings)."""
        ...

    async def status(self, tenant_id: str) -> DataPlaneStatus:
        """Whether it runs (from the process table or the cluster, not from its answers)."""
        ...

    async def health(self, tenant_id: str) -> DataPlaneHealth:
        """Its ``GET /health`` answer; `healthy` is False when it does not answer 200."""
        ...

    async def delete(self, tenant_id: str, *, keep_data: bool = True) -> DataPlaneStatus | None:
        """Stop it and forget it (its launch record or cluster objects); its data stays unless
        `keep_data=False`. For a tenant deleted in the control plane."""
        ...
