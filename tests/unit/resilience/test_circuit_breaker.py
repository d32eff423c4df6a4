"""Circuit breaker state changes: CLOSED -> OPEN -> HALF_OPEN -> CLOSED (or OPEN again)."""

from __future__ import annotations

import pytest

from botfleet.data_plane.resilience import BreakerState, CircuitBreaker, CircuitOpen


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(**kwargs: int | float) -> tuple[CircuitBreaker, FakeMonotonic, list[tuple[str, str]]]:
    clock = FakeMonotonic()
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(
        "calendar",
        failure_threshold=int(kwargs.get("failure_threshold", 3)),
        reset_after_s=float(kwargs.get("reset_after_s", 30)),
        half_open_max_calls=int(kwargs.get("half_open_max_calls", 1)),
        monotonic=clock,
        on_change=lambda name, before, after: changes.append((before.value, after.value)),
    )
    return breaker, clock, changes


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.acquire()
        breaker.record_failure()


def test_it_opens_after_the_threshold_of_consecutive_failures() -> None:
    breaker, _, changes = make(failure_threshold=3)
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    fail(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert changes == [("closed", "open")]


def test_a_success_resets_the_failure_count() -> None:
    breaker, _, _ = make(failure_threshold=3)
    fail(breaker, 2)
    breaker.acquire()
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 2


def test_an_open_breaker_refuses_calls_until_the_reset_time() -> None:
    breaker, clock, _ = make(failure_threshold=1, reset_after_s=30)
    fail(breaker, 1)
    clock.now += 10
    with pytest.raises(CircuitOpen, match="paused for 20s") as refused:
        breaker.acquire()
    assert refused.value.retryable is False
    assert refused.value.kind == "circuit_open"
    clock.now += 20
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.acquire()  # the probe is let through


def test_a_successful_probe_closes_it() -> None:
    breaker, clock, changes = make(failure_threshold=1, reset_after_s=5)
    fail(breaker, 1)
    clock.now += 5
    breaker.acquire()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert changes == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]


def test_a_failed_probe_opens_it_again_for_a_full_reset_period() -> None:
    breaker, clock, changes = make(failure_threshold=2, reset_after_s=5)
    fail(breaker, 2)
    clock.now += 5
    fail(breaker, 1)  # one failure is enough while half open
    assert breaker.state is BreakerState.OPEN
    clock.now += 4
    assert breaker.state is BreakerState.OPEN
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN
    assert changes[-2:] == [("half_open", "open"), ("open", "half_open")]


def test_half_open_lets_only_the_configured_probes_through() -> None:
    breaker, clock, _ = make(failure_threshold=1, reset_after_s=1, half_open_max_calls=2)
    fail(breaker, 1)
    clock.now += 1
    breaker.acquire()
    breaker.acquire()
    with pytest.raises(CircuitOpen):
        breaker.acquire()
    breaker.abandon()  # a probe whose caller went away frees its slot
    breaker.acquire()


def test_bad_thresholds_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        CircuitBreaker("x", failure_threshold=0)
