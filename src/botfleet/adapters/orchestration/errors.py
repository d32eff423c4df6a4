"""Errors of the orchestration back ends."""

from __future__ import annotations

from botfleet.domain.errors import BotPlatformError


class OrchestrationError(BotPlatformError):
    """A data plane could not be started, stopped or inspected; the message says why."""

    def __init__(self, tenant_id: str, detail: str) -> None:
        self.tenant_id, self.detail = tenant_id, detail
        super().__init__(f"tenant {tenant_id!r}: {detail}")
