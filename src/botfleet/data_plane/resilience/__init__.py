"""Resilience of connector calls: timeout, retries with backoff, circuit breaker, metrics."""

from __future__ import annotations

from botfleet.adapters.connectors.policy import (
    DEFAULT_CREATE_OPERATIONS,
    RESILIENCE_KEY,
    ResiliencePolicy,
    parse_policy,
)
from botfleet.data_plane.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpen
from botfleet.data_plane.resilience.connector import (
    ConnectorCrashed,
    ResilientConnector,
    call_budget_s,
)
from botfleet.data_plane.resilience.metrics import ConnectorMetrics

__all__ = [
    "DEFAULT_CREATE_OPERATIONS",
    "RESILIENCE_KEY",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpen",
    "ConnectorCrashed",
    "ConnectorMetrics",
    "ResiliencePolicy",
    "ResilientConnector",
    "call_budget_s",
    "parse_policy",
]
