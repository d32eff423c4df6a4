"""The runtime's connector registry: categories, per-category policies, metrics, breakers."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.adapters.connectors.scripted import ScriptedConnector
from botfleet.data_plane.resilience import BreakerState
from botfleet.data_plane.runtime.connectors import ConnectorRegistry
from botfleet.domain.errors import ConnectorRejected, ConnectorUnavailable
from botfleet.ports.connectors import ConnectorCaller


async def no_sleep(_seconds: float) -> None:
    return None


def scripted(category: str, **fields: object) -> ScriptedConnector:
    connector = ScriptedConnector(category=category)
    connector.script("ping", **{"result": category, **fields})
    return connector


async def test_calls_reach_the_category_with_its_own_policy() -> None:
    crm = scripted("crm", fail_times=1, error="unavailable")
    calendar = scripted("calendar", fail_always=True, error="unavailable")
    registry = ConnectorRegistry(
        {"crm": crm, "calendar": calendar},
        timeout_s=4.0,
        policies={"calendar": ResiliencePolicy(max_attempts=1, failure_threshold=1)},
        sleep=no_sleep,
    )
    caller: ConnectorCaller = registry
    assert await caller.call("crm", "ping", {}, idempotency_key="k") == "crm"
    assert len(crm.calls) == 2  # default policy: retried
    with pytest.raises(ConnectorUnavailable):
        await registry.call("calendar", "ping", {}, idempotency_key="k")
    assert len(calendar.calls) == 1
    assert registry.breaker_states() == {"crm": BreakerState.CLOSED, "calendar": BreakerState.OPEN}
    resilient = registry.resilient("crm")
    assert resilient is not None and resilient.policy.timeout_s == 4.0
    assert registry.get("crm") is crm


async def test_an_unconfigured_category_is_refused_naming_the_configured_ones() -> None:
    registry = ConnectorRegistry({"crm": scripted("crm")})
    with pytest.raises(ConnectorRejected, match=r"'calendar'.*configured: crm"):
        await registry.call("calendar", "ping", {}, idempotency_key="k")


async def test_metrics_go_to_the_given_registry() -> None:
    metrics = CollectorRegistry()
    registry = ConnectorRegistry({"crm": scripted("crm")}, metrics_registry=metrics)
    await registry.call("crm", "ping", {}, idempotency_key="k")
    labels = {"connector": "crm", "operation": "ping", "outcome": "ok"}
    assert metrics.get_sample_value("botfleet_connector_calls_total", labels) == 1
    assert registry.metrics is not None
