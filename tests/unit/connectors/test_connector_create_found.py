"""A create whose attempts all timed out may have happened anyway (the back end finished an
insert its caller stopped waiting for): the resilience layer asks a connector that offers
`FindsCreated` once, and a create found is the call's answer, not a failure the flow would
report to the contact as "nothing was booked"."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from botfleet.data_plane.resilience import (
    BreakerState,
    ConnectorMetrics,
    ResiliencePolicy,
    ResilientConnector,
)
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)
from botfleet.ports.connectors import FindsCreated

BOOKED = {"success": True, "event_id": "ev1", "message": "Booked."}
NO_WAIT = {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0}


class LateBooking:
    """A calendar whose attempts fail with `errors` (the last one repeats); the booking exists
    afterwards when `lands` (the back end finished an insert its caller gave up on)."""

    category = "calendar"

    def __init__(self, *errors: ConnectorError, lands: bool = True) -> None:
        self.errors = list(errors) or [ConnectorTimeout("the attempt took longer than 1s")]
        self.lands = lands
        self.attempts = 0
        self.lookups: list[tuple[str, str]] = []
        self.lookup_error: BaseException | None = None
        self.lookup_hangs = False

    def operations(self) -> frozenset[str]:
        return frozenset({"book_appointment", "get_available_days"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.attempts += 1
        raise self.errors[min(self.attempts, len(self.errors)) - 1]

    async def find_created(
        self, operation: str, params: Mapping[str, Any], *, idempotency_key: str
    ) -> Any | None:
        self.lookups.append((operation, idempotency_key))
        if self.lookup_hangs:
            await asyncio.sleep(60)
        if self.lookup_error is not None:
            raise self.lookup_error
        return dict(BOOKED) if self.lands else None


def wrap(connector: Any, metrics: ConnectorMetrics | None = None, **policy: Any) -> Any:
    settings: dict[str, Any] = {"timeout_s": 1.0, "max_attempts": 2, **NO_WAIT, **policy}
    return ResilientConnector(connector, ResiliencePolicy(**settings), metrics=metrics)


async def book(resilient: ResilientConnector, key: str = "turn-1:0") -> Any:
    return await resilient.call("book_appointment", {"slot": "x"}, idempotency_key=key)


def test_a_connector_with_find_created_offers_the_lookup() -> None:
    assert isinstance(LateBooking(), FindsCreated)


async def test_a_booking_found_after_the_final_timeout_is_the_calls_answer() -> None:
    registry = CollectorRegistry()
    connector = LateBooking()
    resilient = wrap(connector, ConnectorMetrics(registry))

    with capture_logs() as logs:
        assert await book(resilient) == BOOKED

    assert connector.attempts == 2
    assert connector.lookups == [("book_appointment", "turn-1:0")]
    (found,) = [e for e in logs if e["event"] == "connector_create_found"]
    assert (found["log_level"], found["connector"], found["operation"], found["attempts"]) == (
        "info",
        "calendar",
        "book_appointment",
        2,
    )
    (line,) = [e for e in logs if e["event"] == "connector_call_finished"]
    assert (line["outcome"], line["attempts"], line["log_level"]) == ("ok", 2, "info")
    ok = {"connector": "calendar", "operation": "book_appointment", "outcome": "ok"}
    assert registry.get_sample_value("botfleet_connector_calls_total", ok) == 1
    failed = {**ok, "outcome": "timeout"}
    assert registry.get_sample_value("botfleet_connector_calls_total", failed) is None


async def test_a_booking_that_never_happened_fails_with_the_original_error() -> None:
    connector = LateBooking(lands=False)
    with capture_logs() as logs, pytest.raises(ConnectorTimeout, match="longer than 1s"):
        await book(wrap(connector))
    assert len(connector.lookups) == 1
    assert not [e for e in logs if e["event"] == "connector_create_found"]
    (line,) = [e for e in logs if e["event"] == "connector_call_finished"]
    assert line["outcome"] == "timeout"


async def test_an_unavailable_back_end_is_looked_up_too() -> None:
    connector = LateBooking(ConnectorUnavailable("connection reset"))
    assert await book(wrap(connector)) == BOOKED


async def test_no_lookup_while_the_breaker_is_open() -> None:
    connector = LateBooking()
    resilient = wrap(connector, failure_threshold=2)  # the two attempts open it
    with pytest.raises(ConnectorTimeout):
        await book(resilient)
    assert resilient.breaker.state is BreakerState.OPEN
    assert connector.lookups == []


async def test_the_lookup_is_not_counted_by_the_breaker() -> None:
    connector = LateBooking(lands=False)
    resilient = wrap(connector, failure_threshold=3)
    with pytest.raises(ConnectorTimeout):
        await book(resilient)
    assert resilient.breaker.consecutive_failures == 2  # its two attempts, not the lookup
    assert resilient.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    "error",
    [
        ConnectorUnavailable("the lookup failed too"),
        ConnectorRejected("refused"),
    ],
)
async def test_a_failed_lookup_leaves_the_original_error(error: ConnectorError) -> None:
    connector = LateBooking()
    connector.lookup_error = error
    with pytest.raises(ConnectorTimeout):
        await book(wrap(connector))


async def test_a_crashing_lookup_leaves_the_original_error_and_a_trace() -> None:
    connector = LateBooking()
    connector.lookup_error = KeyError("bug")
    with capture_logs() as logs, pytest.raises(ConnectorTimeout):
        await book(wrap(connector))
    (crashed,) = [e for e in logs if e["event"] == "connector_crashed"]
    assert crashed["operation"] == "book_appointment"


async def test_the_lookup_runs_under_the_attempt_timeout() -> None:
    connector = LateBooking()
    connector.lookup_hangs = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConnectorTimeout):
        await book(wrap(connector, timeout_s=0.05))
    assert loop.time() - started < 5


async def test_no_lookup_without_an_idempotency_key() -> None:
    connector = LateBooking()
    with pytest.raises(ConnectorTimeout):
        await book(wrap(connector), key="")
    assert (connector.attempts, connector.lookups) == (1, [])


async def test_no_lookup_for_an_operation_that_creates_nothing() -> None:
    connector = LateBooking()
    with pytest.raises(ConnectorTimeout):
        await wrap(connector).call("get_available_days", {}, idempotency_key="k")
    assert connector.lookups == []


async def test_no_lookup_after_a_refusal() -> None:
    # The last attempt was answered: whatever the first did, the back end said no.
    connector = LateBooking(ConnectorTimeout("slow"), ConnectorRejected("slot taken"))
    with pytest.raises(ConnectorRejected):
        await book(wrap(connector))
    assert connector.lookups == []


async def test_a_rate_limit_alone_is_no_reason_to_look() -> None:
    connector = LateBooking(ConnectorRateLimited("429", retry_after=None))
    with pytest.raises(ConnectorRateLimited):
        await book(wrap(connector))
    assert connector.attempts == 2
    assert connector.lookups == []


async def test_a_rate_limit_after_a_timeout_is_looked_up() -> None:
    # The first attempt may have booked; the second was refused before doing anything.
    connector = LateBooking(ConnectorTimeout("slow"), ConnectorRateLimited("429", retry_after=None))
    assert await book(wrap(connector)) == BOOKED


async def test_connectors_without_the_lookup_fail_as_before() -> None:
    class NoLookup:
        category = "calendar"

        def operations(self) -> frozenset[str]:
            return frozenset({"book_appointment"})

        async def call(self, operation: str, params: Any, *, idempotency_key: str) -> Any:
            raise ConnectorTimeout("slow")

    assert not isinstance(NoLookup(), FindsCreated)
    with pytest.raises(ConnectorTimeout):
        await book(wrap(NoLookup()))
