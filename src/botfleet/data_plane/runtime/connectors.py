"""Connector registry: category -> the tenant's connector instance, behind its resilience policy.

This is the shell's `ConnectorCaller`. Every call goes through `ResilientConnector` (timeout,
retries for retryable errors, idempotency-gated retries of creates, circuit breaker per
instance, log line and metrics), so adapters stay plain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry

from botfleet.data_plane.resilience import (
    BreakerState,
    ConnectorMetrics,
    ResiliencePolicy,
    ResilientConnector,
)
from botfleet.data_plane.resilience.connector import Sleep
from botfleet.domain.errors import ConnectorRejected
from botfleet.ports.connectors import Connector

DEFAULT_TIMEOUT_S = 10.0


class ConnectorRegistry:
    """Resolves a flow's `connector: <category>` to the instance the tenant config chose.

    Args:
        connectors: category -> connector instance (built by `adapters.registry`).
        timeout_s: the timeout of a category without its own policy.
        policies: category -> policy (`connectors.<category>.resilience`); others get defaults.
        metrics_registry: where the connector metrics are registered (the runtime's registry,
            `ConversationRuntime.metrics.registry`); None: no metrics.
        sleep, monotonic: test seams for backoff waits and breaker time.
    """

    def __init__(
        self,
        connectors: Mapping[str, Connector],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        policies: Mapping[str, ResiliencePolicy] | None = None,
        metrics_registry: CollectorRegistry | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout_s = timeout_s
        self.metrics = None if metrics_registry is None else ConnectorMetrics(metrics_registry)
        chosen = dict(policies or {})
        self._connectors = dict(connectors)
        self._resilient = {
            category: ResilientConnector(
                connector,
                chosen.get(category) or ResiliencePolicy(timeout_s=timeout_s),
                name=category,
                metrics=self.metrics,
                sleep=sleep,
                monotonic=monotonic,
            )
            for category, connector in self._connectors.items()
        }

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(self._connectors)

    def operations(self) -> dict[str, frozenset[str]]:
        return {cat: c.operations() for cat, c in self._connectors.items()}

    def get(self, category: str) -> Connector | None:
        """The bare connector of a category (inspection in tests and demos)."""
        return self._connectors.get(category)

    def resilient(self, category: str) -> ResilientConnector | None:
        """The category's connector with its policy and breaker."""
        return self._resilient.get(category)

    def breaker_states(self) -> dict[str, BreakerState]:
        """category -> breaker state (for health checks)."""
        return {cat: c.breaker.state for cat, c in self._resilient.items()}

    async def call(
        self, category: str, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any:
        connector = self._resilient.get(category)
        if connector is None:
            raise ConnectorRejected(
                f"no connector configured for category {category!r} "
                f"(configured: {', '.join(sorted(self._connectors)) or 'none'})"
            )
        return await connector.call(operation, params, idempotency_key=idempotency_key)
