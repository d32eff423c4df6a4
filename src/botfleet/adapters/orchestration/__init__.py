"""Orchestration back ends (`botfleet.ports.orchestration.Orchestrator`): local processes and
Kubernetes. The Kubernetes one imports the `kubernetes` client only when it is used."""

from __future__ import annotations

from botfleet.adapters.orchestration.errors import OrchestrationError
from botfleet.adapters.orchestration.local import LocalOrchestrator, data_plane_env
from botfleet.adapters.orchestration.waiting import wait_until_healthy

__all__ = ["LocalOrchestrator", "OrchestrationError", "data_plane_env", "wait_until_healthy"]
