"""The `mock` scripted connector: canned results, scripted failures, delays, recorded calls."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import ValidationError

from botfleet.adapters.connectors.scripted import RecordedCall, ScriptedConnector, build
from botfleet.domain.errors import (
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    UnknownOperation,
)
from botfleet.ports.connectors import Connector


async def test_build_from_tenant_settings_fails_then_answers() -> None:
    connector = build(
        {
            "type": "mock",
            "operations": {
                "ping": {"result": "pong", "fail_times": 2, "error": "timeout", "delay_ms": 10}
            },
        }
    )
    with pytest.raises(ConnectorTimeout, match=r"mock\.ping: scripted timeout \(attempt 1\)"):
        await connector.call("ping", {}, idempotency_key="a")
    with pytest.raises(ConnectorTimeout):
        await connector.call("ping", {}, idempotency_key="a")
    assert await connector.call("ping", {}, idempotency_key="a") == "pong"
    assert await connector.call("ping", {}, idempotency_key="b") == "pong"
    assert len(connector.calls) == 4


@pytest.mark.parametrize(
    ("kind", "error", "retryable"),
    [
        ("timeout", ConnectorTimeout, True),
        ("unavailable", ConnectorUnavailable, True),
        ("rejected", ConnectorRejected, False),
    ],
)
async def test_each_error_kind_raises_its_connector_error(
    kind: str, error: type[Exception], retryable: bool
) -> None:
    connector = ScriptedConnector(category="crm")
    connector.script("lookup", fail_always=True, error=kind, error_message="down for tests")
    for _ in range(3):
        with pytest.raises(error, match=r"crm\.lookup: down for tests") as caught:
            await connector.call("lookup", {}, idempotency_key="k")
        assert getattr(caught.value, "retryable", None) is retryable


async def test_results_are_served_in_turn_and_the_last_repeats() -> None:
    connector = build({"operations": {"next": {"results": [1, {"n": 2}], "fail_times": 1}}})
    with pytest.raises(ConnectorUnavailable):
        await connector.call("next", {}, idempotency_key="k")
    answers = [await connector.call("next", {}, idempotency_key="k") for _ in range(3)]
    assert answers == [1, {"n": 2}, {"n": 2}]


async def test_results_are_copies() -> None:
    connector = ScriptedConnector()
    connector.script("days", result=[{"id": "day_2024-01-08"}])
    first = await connector.call("days", {}, idempotency_key="k")
    first.append("mutated")
    assert await connector.call("days", {}, idempotency_key="k") == [{"id": "day_2024-01-08"}]


async def test_every_call_is_recorded_even_failures_and_unknown_operations() -> None:
    connector = ScriptedConnector(category="calendar")
    connector.script("book", fail_times=1)
    with pytest.raises(ConnectorUnavailable):
        await connector.call("book", {"slot": "x"}, idempotency_key="r1")
    await connector.call("book", {"slot": "x"}, idempotency_key="r1")
    with pytest.raises(UnknownOperation, match="'calendar' has no operation 'cancel'"):
        await connector.call("cancel", {}, idempotency_key="r2")
    assert connector.calls == [
        RecordedCall("book", {"slot": "x"}, "r1"),
        RecordedCall("book", {"slot": "x"}, "r1"),
        RecordedCall("cancel", {}, "r2"),
    ]
    assert len(connector.calls_to("book")) == 2


async def test_delay_makes_calls_slow_enough_for_timeouts() -> None:
    connector = ScriptedConnector()
    connector.script("slow", result="late", delay_ms=200)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(connector.call("slow", {}, idempotency_key="k"), timeout=0.02)
    connector.script("quick", result="ok", delay_ms=20)
    started = time.monotonic()
    assert await connector.call("quick", {}, idempotency_key="k") == "ok"
    assert time.monotonic() - started >= 0.015


async def test_rescripting_restarts_the_counters() -> None:
    connector = ScriptedConnector()
    connector.script("op", fail_times=1)
    with pytest.raises(ConnectorUnavailable):
        await connector.call("op", {}, idempotency_key="k")
    connector.script("op", fail_times=1, result="again")
    with pytest.raises(ConnectorUnavailable):
        await connector.call("op", {}, idempotency_key="k")
    assert await connector.call("op", {}, idempotency_key="k") == "again"


def test_it_satisfies_the_connector_port_and_names_its_category() -> None:
    connector: Connector = build({"operations": {"a": {}, "b": {"result": 1}}}, category="crm")
    assert connector.category == "crm"
    assert connector.operations() == {"a", "b"}
    assert build({"category": "calendar"}, category="crm").category == "calendar"
    assert build({}).category == "mock"


async def test_fixtures_are_shorthand_for_canned_results() -> None:
    connector = build({"fixtures": {"version": "1.0"}, "operations": {"ping": {"result": "pong"}}})
    assert connector.operations() == {"version", "ping"}
    assert await connector.call("version", {}, idempotency_key="k") == "1.0"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"operations": {"ping": {"error": "boom"}}}, "operations.ping.error"),
        ({"operations": {"ping": {"fail_times": -1}}}, "fail_times"),
        ({"operations": {"ping": {"reslt": 1}}}, "reslt"),
        ({"operations": {"ping": {"results": []}}}, "results"),
        ({"operations": {" ": {}}}, "operation name is empty"),
        ({"oprations": {}}, "oprations"),
        ({"operations": {"a": {}}, "fixtures": {"a": 1}}, "a: scripted in both"),
    ],
)
def test_bad_settings_are_rejected(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build(settings)
