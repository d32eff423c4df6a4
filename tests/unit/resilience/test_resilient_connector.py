"""Resilience applied to one connector: timeout, retries, idempotency gate, breaker, metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from botfleet.adapters.connectors.scripted import ScriptedConnector
from botfleet.data_plane.resilience import (
    BreakerState,
    CircuitOpen,
    ConnectorCrashed,
    ConnectorMetrics,
    ResiliencePolicy,
    ResilientConnector,
    call_budget_s,
)
from botfleet.domain.errors import (
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    UnknownOperation,
)


class FakeTime:
    """Monotonic time that only moves when told; `sleep` records the wait and advances time."""

    def __init__(self) -> None:
        self.now = 5000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def wrap(
    connector: Any,
    time: FakeTime,
    metrics: ConnectorMetrics | None = None,
    **policy: Any,
) -> ResilientConnector:
    settings: dict[str, Any] = {"backoff_jitter_s": 0, "timeout_s": 1.0, **policy}
    return ResilientConnector(
        connector,
        ResiliencePolicy(**settings),
        metrics=metrics,
        sleep=time.sleep,
        monotonic=time.monotonic,
    )


def scripted(**fields: Any) -> ScriptedConnector:
    connector = ScriptedConnector(category="crm")
    connector.script("ping", **{"result": "pong", **fields})
    return connector


# ---------------------------------------------------------------- retries


async def test_retryable_errors_are_retried_with_exponential_backoff() -> None:
    time = FakeTime()
    connector = scripted(fail_times=2, error="timeout")
    resilient = wrap(connector, time, backoff_initial_s=0.2, backoff_max_s=5)
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    assert len(connector.calls_to("ping")) == 3
    assert time.sleeps == [0.2, 0.4]  # no jitter configured: exactly 0.2 * 2**n


async def test_backoff_has_bounded_jitter_and_a_ceiling() -> None:
    time = FakeTime()
    connector = scripted(fail_times=5, error="unavailable")
    resilient = wrap(
        connector,
        time,
        max_attempts=6,
        failure_threshold=10,
        backoff_initial_s=0.5,
        backoff_max_s=2.0,
        backoff_jitter_s=0.3,
    )
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    first, second, *rest = time.sleeps
    assert 0.5 <= first <= 0.8
    assert 1.0 <= second <= 1.3
    assert all(wait == 2.0 for wait in rest)  # capped


async def test_it_gives_up_after_max_attempts_with_the_last_error() -> None:
    time = FakeTime()
    connector = scripted(fail_always=True, error="unavailable")
    resilient = wrap(connector, time, max_attempts=3)
    with pytest.raises(ConnectorUnavailable, match="attempt 3"):
        await resilient.call("ping", {}, idempotency_key="k")
    assert len(connector.calls) == 3


@pytest.mark.parametrize("error", ["rejected"])
async def test_errors_that_are_not_retryable_are_not_retried(error: str) -> None:
    time = FakeTime()
    connector = scripted(fail_always=True, error=error)
    with pytest.raises(ConnectorRejected):
        await wrap(connector, time).call("ping", {}, idempotency_key="k")
    assert len(connector.calls) == 1
    assert time.sleeps == []


async def test_an_adapter_crash_is_not_retried_and_hides_the_trace() -> None:
    class Broken:
        category = "crm"

        def operations(self) -> frozenset[str]:
            return frozenset({"ping"})

        async def call(self, operation: str, params: Any, *, idempotency_key: str) -> Any:
            self.calls = getattr(self, "calls", 0) + 1
            raise KeyError("secret-internal-detail")

    broken = Broken()
    with capture_logs() as logs, pytest.raises(ConnectorCrashed) as crashed:
        await wrap(broken, FakeTime()).call("ping", {}, idempotency_key="k")
    assert broken.calls == 1
    assert "secret-internal-detail" not in str(crashed.value)
    assert "KeyError" in str(crashed.value)
    assert any(entry["event"] == "connector_crashed" for entry in logs)


async def test_unknown_operations_fail_before_any_attempt() -> None:
    connector = scripted()
    resilient = wrap(connector, FakeTime(), failure_threshold=1)
    with pytest.raises(UnknownOperation, match="'pnig'"):
        await resilient.call("pnig", {}, idempotency_key="k")
    assert connector.calls == []
    assert resilient.breaker.state is BreakerState.CLOSED


# ---------------------------------------------------------------- timeout


async def test_each_attempt_has_a_timeout() -> None:
    time = FakeTime()
    connector = scripted(delay_ms=500)
    resilient = wrap(connector, time, timeout_s=0.02, max_attempts=2)
    with pytest.raises(ConnectorTimeout, match=r"took longer than 0\.02s"):
        await resilient.call("ping", {}, idempotency_key="k")
    assert len(connector.calls) == 2  # timeouts are retryable


# ---------------------------------------------------------------- rate limits (HTTP 429)


class RateLimiting:
    """`ping` answers 429 (with `retry_after`, if given) `times` times, then "pong"."""

    category = "crm"

    def __init__(self, times: int, retry_after: float | None, time: FakeTime) -> None:
        self.left, self.retry_after, self.time = times, retry_after, time
        self.called_at: list[float] = []

    def operations(self) -> frozenset[str]:
        return frozenset({"ping"})

    async def call(self, operation: str, params: Any, *, idempotency_key: str) -> Any:
        self.called_at.append(self.time.now)
        if self.left > 0:
            self.left -= 1
            raise ConnectorRateLimited("crm: rate limited (HTTP 429)", retry_after=self.retry_after)
        return "pong"


def test_a_calls_time_budget_is_the_longest_its_policy_allows() -> None:
    policy = ResiliencePolicy(timeout_s=2, max_attempts=3, backoff_max_s=1.5)
    assert call_budget_s(policy) == 3 * 2 + 2 * 1.5
    assert call_budget_s(policy, 1) == 2


async def test_a_rate_limit_is_retried_after_the_wait_the_back_end_asked_for() -> None:
    time = FakeTime()
    connector = RateLimiting(times=1, retry_after=3.5, time=time)
    resilient = wrap(connector, time, timeout_s=5, max_attempts=2, backoff_initial_s=0.2)
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    assert time.sleeps == [3.5]  # the back end's retry-after, not our 0.2 s backoff
    assert connector.called_at == [5000.0, 5003.5]


async def test_a_rate_limit_without_a_retry_after_waits_the_usual_backoff() -> None:
    time = FakeTime()
    connector = RateLimiting(times=1, retry_after=None, time=time)
    resilient = wrap(connector, time, backoff_initial_s=0.2)
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    assert time.sleeps == [0.2]


async def test_a_retry_after_past_the_time_budget_fails_at_once_as_rate_limited() -> None:
    time = FakeTime()
    connector = RateLimiting(times=5, retry_after=60, time=time)
    resilient = wrap(connector, time, timeout_s=5, max_attempts=3)  # budget: 15 s + backoffs
    with capture_logs() as logs, pytest.raises(ConnectorRateLimited) as raised:
        await resilient.call("ping", {}, idempotency_key="k")
    assert raised.value.kind == "rate_limited"
    assert len(connector.called_at) == 1  # not retried early, and never waited for
    assert time.sleeps == []
    (skipped,) = [e for e in logs if e["event"] == "connector_rate_limited"]
    assert skipped["retry_after_s"] == 60
    (line,) = [e for e in logs if e["event"] == "connector_call_finished"]
    assert (line["outcome"], line["attempts"]) == ("rate_limited", 1)


async def test_a_retry_after_must_leave_room_for_one_more_attempt() -> None:
    time = FakeTime()
    connector = RateLimiting(times=5, retry_after=4, time=time)
    # budget 2 * 3 + 1 * 0 = 6 s: 4 s of waiting leaves 2 s, less than the 3 s attempt
    resilient = wrap(
        connector, time, timeout_s=3, max_attempts=2, backoff_initial_s=0, backoff_max_s=0
    )
    with pytest.raises(ConnectorRateLimited):
        await resilient.call("ping", {}, idempotency_key="k")
    assert len(connector.called_at) == 1
    time.now += 100
    connector.retry_after = 3  # 3 s + a 3 s attempt fit in 6 s
    with pytest.raises(ConnectorRateLimited):
        await resilient.call("ping", {}, idempotency_key="k")
    assert time.sleeps == [3]
    assert len(connector.called_at) == 3  # one, then one more after the wait (max_attempts 2)


async def test_rate_limits_never_open_the_breaker() -> None:
    time = FakeTime()
    connector = RateLimiting(times=10, retry_after=0.1, time=time)
    resilient = wrap(connector, time, max_attempts=2, failure_threshold=1)
    for _ in range(3):
        with pytest.raises(ConnectorRateLimited):
            await resilient.call("ping", {}, idempotency_key="k")
    assert resilient.breaker.state is BreakerState.CLOSED
    assert resilient.breaker.consecutive_failures == 0
    assert len(connector.called_at) == 6  # every call reached the back end


async def test_a_rate_limited_probe_closes_the_breaker_the_back_end_is_up() -> None:
    time = FakeTime()
    connector = scripted(fail_times=1, error="unavailable")
    resilient = wrap(connector, time, max_attempts=1, failure_threshold=1, reset_after_s=10)
    with pytest.raises(ConnectorUnavailable):
        await resilient.call("ping", {}, idempotency_key="k")
    assert resilient.breaker.state is BreakerState.OPEN
    time.now += 10
    limited = RateLimiting(times=1, retry_after=1, time=time)
    resilient.inner = limited
    with pytest.raises(ConnectorRateLimited):
        await resilient.call("ping", {}, idempotency_key="k")
    assert resilient.breaker.state is BreakerState.CLOSED


# ---------------------------------------------------------------- creates need a key


async def test_a_create_without_idempotency_key_is_tried_once() -> None:
    time = FakeTime()
    connector = ScriptedConnector(category="calendar")
    connector.script("book_appointment", result={"success": True}, fail_times=1, error="timeout")
    resilient = wrap(connector, time)
    with pytest.raises(ConnectorTimeout):
        await resilient.call("book_appointment", {}, idempotency_key="")
    assert len(connector.calls) == 1
    assert await resilient.call("book_appointment", {}, idempotency_key="req-1") == {
        "success": True
    }


async def test_connectors_can_declare_more_creating_operations() -> None:
    connector = scripted(fail_times=1, error="unavailable")
    connector.creating_operations = frozenset({"ping"})  # type: ignore[attr-defined]
    resilient = wrap(connector, FakeTime())
    assert resilient.creates("ping")
    with pytest.raises(ConnectorUnavailable):
        await resilient.call("ping", {}, idempotency_key="")
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"


# ---------------------------------------------------------------- breaker


async def test_the_breaker_opens_and_then_spares_the_back_end() -> None:
    time = FakeTime()
    connector = scripted(fail_always=True, error="unavailable")
    resilient = wrap(connector, time, max_attempts=2, failure_threshold=4, reset_after_s=30)
    for _ in range(2):
        with pytest.raises(ConnectorUnavailable):
            await resilient.call("ping", {}, idempotency_key="k")
    assert resilient.breaker.state is BreakerState.OPEN
    tried = len(connector.calls)
    with pytest.raises(CircuitOpen):
        await resilient.call("ping", {}, idempotency_key="k")
    assert len(connector.calls) == tried  # refused without calling


async def test_the_breaker_opening_mid_call_stops_the_retries() -> None:
    time = FakeTime()
    connector = scripted(fail_always=True, error="timeout")
    resilient = wrap(connector, time, max_attempts=5, failure_threshold=2)
    with pytest.raises(CircuitOpen) as raised:
        await resilient.call("ping", {}, idempotency_key="k")
    assert len(connector.calls) == 2
    # What the call's attempts met, which opened the breaker, is chained as the refusal's cause.
    assert isinstance(raised.value.__cause__, ConnectorTimeout)


async def test_a_breaker_already_open_before_the_call_has_no_cause() -> None:
    time = FakeTime()
    connector = scripted(fail_always=True, error="timeout")
    resilient = wrap(connector, time, max_attempts=1, failure_threshold=1)
    with pytest.raises(ConnectorTimeout):
        await resilient.call("ping", {}, idempotency_key="k")
    with pytest.raises(CircuitOpen) as raised:
        await resilient.call("ping", {}, idempotency_key="k")
    assert raised.value.__cause__ is None


async def test_after_the_reset_time_a_probe_closes_the_breaker() -> None:
    time = FakeTime()
    connector = scripted(fail_times=2, error="unavailable")
    resilient = wrap(connector, time, max_attempts=1, failure_threshold=2, reset_after_s=10)
    for _ in range(2):
        with pytest.raises(ConnectorUnavailable):
            await resilient.call("ping", {}, idempotency_key="k")
    time.now += 10
    assert resilient.breaker.state is BreakerState.HALF_OPEN
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    assert resilient.breaker.state is BreakerState.CLOSED


async def test_refusals_do_not_count_against_the_back_end() -> None:
    connector = scripted(fail_always=True, error="rejected")
    resilient = wrap(connector, FakeTime(), failure_threshold=1)
    with pytest.raises(ConnectorRejected):
        await resilient.call("ping", {}, idempotency_key="k")
    assert resilient.breaker.state is BreakerState.CLOSED


async def test_a_cancelled_probe_frees_its_slot() -> None:
    time = FakeTime()
    connector = scripted(fail_times=1, error="unavailable")
    resilient = wrap(connector, time, max_attempts=1, failure_threshold=1, reset_after_s=1)
    with pytest.raises(ConnectorUnavailable):
        await resilient.call("ping", {}, idempotency_key="k")
    time.now += 1
    connector.script("ping", result="pong", delay_ms=1000)
    task = asyncio.create_task(resilient.call("ping", {}, idempotency_key="k"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    connector.script("ping", result="pong")
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"


# ---------------------------------------------------------------- log line and metrics


async def test_each_call_leaves_one_log_line_and_metrics() -> None:
    time = FakeTime()
    registry = CollectorRegistry()
    metrics = ConnectorMetrics(registry)
    connector = scripted(fail_times=1, error="timeout")
    resilient = wrap(connector, time, metrics=metrics, failure_threshold=3)
    with capture_logs() as logs:
        await resilient.call("ping", {"contact_id": "+34600111222"}, idempotency_key="k")
    (line,) = [entry for entry in logs if entry["event"] == "connector_call_finished"]
    assert line["connector"] == "crm"
    assert line["operation"] == "ping"
    assert line["outcome"] == "ok"
    assert line["attempts"] == 2
    assert line["breaker"] == "closed"
    assert "latency_ms" in line
    assert "+34600111222" not in repr(logs)  # params never reach the log
    labels = {"connector": "crm", "operation": "ping", "outcome": "ok"}
    assert registry.get_sample_value("botfleet_connector_calls_total", labels) == 1
    assert registry.get_sample_value("botfleet_connector_call_seconds_count", labels) == 1
    retries = registry.get_sample_value(
        "botfleet_connector_retries_total", {"connector": "crm", "operation": "ping"}
    )
    assert retries == 1
    assert registry.get_sample_value("botfleet_connector_breaker_state", {"connector": "crm"}) == 0


async def test_the_breaker_state_is_a_gauge_and_its_changes_are_counted() -> None:
    time = FakeTime()
    registry = CollectorRegistry()
    connector = scripted(fail_always=True, error="unavailable")
    resilient = wrap(
        connector,
        time,
        metrics=ConnectorMetrics(registry),
        max_attempts=1,
        failure_threshold=1,
    )
    with capture_logs() as logs, pytest.raises(ConnectorUnavailable):
        await resilient.call("ping", {}, idempotency_key="k")
    assert registry.get_sample_value("botfleet_connector_breaker_state", {"connector": "crm"}) == 1
    opened = registry.get_sample_value(
        "botfleet_connector_breaker_transitions_total", {"connector": "crm", "state": "open"}
    )
    assert opened == 1
    change = next(e for e in logs if e["event"] == "circuit_breaker_state")
    assert (change["before"], change["after"]) == ("closed", "open")
    failed = {"connector": "crm", "operation": "ping", "outcome": "unavailable"}
    assert registry.get_sample_value("botfleet_connector_calls_total", failed) == 1


# ---------------------------------------------------------------- how an attempt is timed


class Stepping:
    """A connector whose `ping` runs `body` (an async function of the call's params)."""

    category = "crm"

    def __init__(self, body: Any) -> None:
        self.body = body
        self.finished: list[str] = []

    def operations(self) -> frozenset[str]:
        return frozenset({"ping"})

    async def call(self, operation: str, params: Any, *, idempotency_key: str) -> Any:
        try:
            return await self.body()
        finally:
            self.finished.append(operation)


async def test_an_answer_given_without_suspending_needs_no_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def at_once() -> str:
        return "pong"

    def no_timer(when: float | None) -> Any:
        raise AssertionError("a timer was armed")

    monkeypatch.setattr(asyncio, "timeout", no_timer)
    monkeypatch.setattr(asyncio, "timeout_at", no_timer)
    resilient = wrap(Stepping(at_once), FakeTime())
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"


async def test_an_answer_after_suspending_several_times_comes_through() -> None:
    async def in_steps() -> str:
        for _ in range(3):
            await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return "pong"

    connector = Stepping(in_steps)
    resilient = wrap(connector, FakeTime(), timeout_s=1.0)
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    assert connector.finished == ["ping"]
    assert resilient.breaker.consecutive_failures == 0


async def test_a_call_that_suspends_and_then_hangs_times_out() -> None:
    async def hangs() -> str:
        await asyncio.sleep(0)
        await asyncio.Event().wait()
        return "never"

    connector = Stepping(hangs)
    resilient = wrap(connector, FakeTime(), timeout_s=0.02, max_attempts=2)
    with pytest.raises(ConnectorTimeout):
        await resilient.call("ping", {}, idempotency_key="k")
    assert connector.finished == ["ping", "ping"]  # the cancellation reached it both times
    assert resilient.breaker.consecutive_failures == 2


def _block_the_loop(seconds: float) -> None:
    """Work that holds the event loop (what a slow synchronous adapter does)."""
    time.sleep(seconds)


async def test_the_deadline_counts_from_the_start_of_the_attempt() -> None:
    """Time spent before the first suspension counts against the timeout, as it did when the
    timer was armed before calling the connector."""

    async def slow_start() -> str:
        _block_the_loop(0.06)  # no timer can fire meanwhile
        await asyncio.sleep(0.03)
        return "late"

    resilient = wrap(Stepping(slow_start), FakeTime(), timeout_s=0.05, max_attempts=1)
    with pytest.raises(ConnectorTimeout):
        await resilient.call("ping", {}, idempotency_key="k")


async def test_work_that_never_yields_is_not_cut_short() -> None:
    """A timeout cancels at a suspension; a call that never suspends returns its answer even
    when it took longer (as under `asyncio.timeout`, which cannot interrupt it either)."""

    async def busy() -> str:
        _block_the_loop(0.03)
        return "done"

    resilient = wrap(Stepping(busy), FakeTime(), timeout_s=0.01, max_attempts=1)
    assert await resilient.call("ping", {}, idempotency_key="k") == "done"


async def test_cancelling_the_caller_reaches_the_waiting_connector() -> None:
    started = asyncio.Event()

    async def waits() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    connector = Stepping(waits)
    resilient = wrap(connector, FakeTime(), timeout_s=10)
    task = asyncio.create_task(resilient.call("ping", {}, idempotency_key="k"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert connector.finished == ["ping"]
    assert resilient.breaker.consecutive_failures == 0  # no verdict on the back end


async def test_a_connector_may_return_another_awaitable() -> None:
    class FutureConnector:
        category = "crm"

        def __init__(self, answer: bool) -> None:
            self.answer = answer

        def operations(self) -> frozenset[str]:
            return frozenset({"ping"})

        def call(self, operation: str, params: Any, *, idempotency_key: str) -> Any:
            future = asyncio.get_running_loop().create_future()
            if self.answer:
                future.set_result("pong")
            return future

    resilient = wrap(FutureConnector(True), FakeTime())
    assert await resilient.call("ping", {}, idempotency_key="k") == "pong"
    silent = wrap(FutureConnector(False), FakeTime(), timeout_s=0.01, max_attempts=1)
    with pytest.raises(ConnectorTimeout):
        await silent.call("ping", {}, idempotency_key="k")


async def test_every_call_is_counted_with_its_outcome() -> None:
    registry = CollectorRegistry()
    connector = scripted()
    resilient = wrap(connector, FakeTime(), metrics=ConnectorMetrics(registry))
    for _ in range(3):
        await resilient.call("ping", {}, idempotency_key="k")
    connector.script("ping", fail_always=True, error="rejected")
    with pytest.raises(ConnectorRejected):
        await resilient.call("ping", {}, idempotency_key="k")
    labels = {"connector": "crm", "operation": "ping"}
    ok = registry.get_sample_value("botfleet_connector_calls_total", {**labels, "outcome": "ok"})
    refused = {**labels, "outcome": "rejected"}
    assert ok == 3
    assert registry.get_sample_value("botfleet_connector_calls_total", refused) == 1
    assert registry.get_sample_value("botfleet_connector_call_seconds_count", refused) == 1
