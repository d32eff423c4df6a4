"""Prometheus metrics of connector calls, registered on the runtime's registry."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from botfleet.data_plane.resilience.breaker import BreakerState

#: Gauge values of `botfleet_connector_breaker_state`.
BREAKER_STATE_VALUES = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}


class ConnectorMetrics:
    """Calls, latency, retries and breaker state per connector (category) and operation."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.calls = Counter(
            "botfleet_connector_calls",
            "Connector calls by final outcome (after retries)",
            ("connector", "operation", "outcome"),
            registry=registry,
        )
        self.latency = Histogram(
            "botfleet_connector_call_seconds",
            "Time of one connector call, retries and backoff included",
            ("connector", "operation", "outcome"),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.retries = Counter(
            "botfleet_connector_retries",
            "Attempts repeated after a retryable error",
            ("connector", "operation"),
            registry=registry,
        )
        self.breaker_state = Gauge(
            "botfleet_connector_breaker_state",
            "Circuit breaker state: 0 closed, 1 open, 2 half open",
            ("connector",),
            registry=registry,
        )
        self.breaker_transitions = Counter(
            "botfleet_connector_breaker_transitions",
            "Circuit breaker state changes, by the state entered",
            ("connector", "state"),
            registry=registry,
        )

        #: (connector, operation, outcome) -> its call counter and latency histogram children.
        #: `labels()` looks the labels up afresh each time (a lock and tuple work), and these
        #: children live as long as their metric: nothing removes labels from it.
        self._call_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def observe_call(self, connector: str, operation: str, outcome: str, seconds: float) -> None:
        key = (connector, operation, outcome)
        children = self._call_children.get(key)
        if children is None:
            children = self._call_children[key] = (
                self.calls.labels(*key),
                self.latency.labels(*key),
            )
        children[0].inc()
        children[1].observe(seconds)

    def set_breaker(self, connector: str, state: BreakerState, *, changed: bool) -> None:
        self.breaker_state.labels(connector).set(BREAKER_STATE_VALUES[state])
        if changed:
            self.breaker_transitions.labels(connector, state.value).inc()
