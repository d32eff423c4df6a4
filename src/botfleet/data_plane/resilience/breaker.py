"""Circuit breaker of one connector instance: CLOSED -> OPEN -> HALF_OPEN -> CLOSED.

* CLOSED: calls pass; `failure_threshold` consecutive failed attempts open the breaker.
* OPEN: calls fail at once with `CircuitOpen` (no load on a back end that is down) until
  `reset_after_s` has passed, then the breaker is HALF_OPEN.
* HALF_OPEN: up to `half_open_max_calls` probe calls pass; a success closes the breaker, a
  failure opens it again for another `reset_after_s`.

Only back-end health counts: a timeout, an unavailable back end or an adapter crash is a
failure; any answer, a refusal or a rate limit (HTTP 429) included, is a success. Time comes
from an injectable monotonic clock, so tests drive the transitions without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from botfleet.domain.errors import ConnectorUnavailable


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(ConnectorUnavailable):
    """The breaker refused the call without trying: retrying now would not help."""

    retryable = False
    kind = "circuit_open"

    def __init__(self, name: str, retry_in_s: float) -> None:
        self.name, self.retry_in_s = name, retry_in_s
        super().__init__(
            f"connector {name!r} is failing; calls are paused for {max(retry_in_s, 0):.0f}s "
            "(circuit breaker open)"
        )


StateListener = Callable[[str, BreakerState, BreakerState], None]


class CircuitBreaker:
    """Breaker state of one connector instance. Not thread-safe: use it from one event loop."""

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        half_open_max_calls: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ) -> None:
        if failure_threshold < 1 or half_open_max_calls < 1 or reset_after_s <= 0:
            raise ValueError("breaker thresholds must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.half_open_max_calls = half_open_max_calls
        self._monotonic = monotonic
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> BreakerState:
        """The current state (an OPEN breaker whose reset time passed reads HALF_OPEN)."""
        if self._state is BreakerState.OPEN and self._retry_in() <= 0:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def acquire(self) -> None:
        """Ask to make one attempt.

        Raises:
            CircuitOpen: the breaker is open, or half open with its probes all in flight.
        """
        state = self.state
        if state is BreakerState.OPEN:
            raise CircuitOpen(self.name, self._retry_in())
        if state is BreakerState.HALF_OPEN:
            if self._probes >= self.half_open_max_calls:
                raise CircuitOpen(self.name, self.reset_after_s)
            self._probes += 1

    def record_success(self) -> None:
        """The attempt got an answer from the back end."""
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._probes = 0
            self._move(BreakerState.CLOSED)

    def abandon(self) -> None:
        """The attempt ended with no verdict (the caller went away): free its probe slot."""
        if self._state is BreakerState.HALF_OPEN and self._probes > 0:
            self._probes -= 1

    def record_failure(self) -> None:
        """The attempt timed out, found the back end down, or crashed."""
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN or (
            self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold
        ):
            self._trip()

    def _trip(self) -> None:
        self._opened_at = self._monotonic()
        self._probes = 0
        self._move(BreakerState.OPEN)

    def _retry_in(self) -> float:
        return self._opened_at + self.reset_after_s - self._monotonic()

    def _move(self, to: BreakerState) -> None:
        before, self._state = self._state, to
        if before is not to and self._on_change is not None:
            self._on_change(self.name, before, to)
