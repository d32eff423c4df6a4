"""Waiting for a started data plane to answer, whatever the back end."""

from __future__ import annotations

import asyncio
import time

from botfleet.adapters.orchestration.errors import OrchestrationError
from botfleet.ports.orchestration import DataPlaneHealth, Orchestrator


async def wait_until_healthy(
    orchestrator: Orchestrator, tenant_id: str, *, timeout_s: float = 30.0, interval_s: float = 0.2
) -> DataPlaneHealth:
    """Poll `health` until it is healthy.

    Raises:
        OrchestrationError: the data plane failed (exited) or did not answer within `timeout_s`;
            the message carries the back end's detail (the end of the log, locally).
    """
    deadline = time.monotonic() + timeout_s
    last = DataPlaneHealth(tenant_id, healthy=False, detail="not checked yet")
    while True:
        last = await orchestrator.health(tenant_id)
        if last.healthy:
            return last
        status = await orchestrator.status(tenant_id)
        if status.state in ("failed", "stopped", "unknown"):
            raise OrchestrationError(tenant_id, f"data plane {status.state}: {status.detail}")
        if time.monotonic() >= deadline:
            raise OrchestrationError(
                tenant_id, f"data plane not healthy after {timeout_s:g}s: {last.detail}"
            )
        await asyncio.sleep(interval_s)
