"""A connector wrapped in the resilience policy: timeout, retries, breaker, log line, metrics.

Applied centrally by the connector registry, never inside an adapter. Per call:

1. The breaker is asked first; an open breaker fails the call at once (`CircuitOpen`). It
   counts timeouts, unavailable back ends and crashes, never a refusal or a rate limit (the
   back end answered: it is up, and asks us to slow down).
2. Each attempt runs under `timeout_s` (`ConnectorTimeout` when it expires).
3. Retryable errors (`ConnectorError.retryable`: timeouts, unavailable back ends) are retried
   with exponential backoff and jitter (tenacity's `wait_exponential_jitter` rule), up to
   `max_attempts`. Refusals, unknown operations and adapter crashes are not retried.
   A rate limit (`ConnectorRateLimited`, HTTP 429) is retried after the back end's own
   `retry_after` (the backoff when it gave none), but only when that wait and one more attempt
   fit in what is left of the call's time budget (`call_budget_s`: the longest the call could
   take under its policy); otherwise the call fails at once with the rate-limit error.
4. An operation that creates something (`book_appointment`, or one the connector lists in
   `creating_operations`) is retried only when the call carries an idempotency key: the adapter
   uses the key to find the first attempt's result, so a retry never books twice.
   When such a call is about to fail with a timeout or an unavailable back end and some attempt
   ended that way (it may have created the thing anyway: the back end can finish an insert its
   caller stopped waiting for), a connector that offers `FindsCreated` is asked once, under
   `timeout_s`, whether it exists; if so the call succeeds with that answer
   (`connector_create_found`). Skipped while the breaker is not closed: it spares the back end.
5. One structured log line and the metrics record the outcome, attempts and breaker state.
   Params are never logged (they carry personal data). Within a turn, the lines name its
   `tenant` and hashed `contact` (`botfleet.data_plane.observability`).

Cost: most calls succeed at the first attempt, and an in-memory connector (the demo's
calendar) often answers without ever suspending. So the retry loop is a plain loop (tenacity's
machinery cost more than the demo calendar's reads themselves), and an attempt first runs the
connector's coroutine up to its first suspension (`adapters.connectors.stepping`), in the
caller's task as before: if it finishes there, no timer is armed (a timeout cannot interrupt
code that never yields to the event loop anyway); if it suspends, the rest runs under
`asyncio.timeout_at` with the deadline taken before the attempt started, as if the timer had
been there from the start. (Only the order in which the timer and scopes the connector entered
before its first suspension were entered differs; each still cancels the task when it expires.)
"""

from __future__ import annotations

import asyncio
import random
import time
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.adapters.connectors.refusals import MisconfiguredBinding
from botfleet.adapters.connectors.stepping import resumed, run_until_suspended
from botfleet.data_plane.observability import turn_fields
from botfleet.data_plane.resilience.breaker import BreakerState, CircuitBreaker, CircuitOpen
from botfleet.data_plane.resilience.metrics import ConnectorMetrics
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
    UnknownOperation,
)
from botfleet.ports.connectors import Connector, FindsCreated

log = structlog.get_logger("botfleet.connectors")

Sleep = Callable[[float], Awaitable[None]]


class ConnectorCrashed(ConnectorError):
    """The adapter raised something that is not a `ConnectorError` (a bug): not retried."""

    kind = "error"


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ConnectorError) and exc.retryable


def _counts_as_failure(exc: BaseException) -> bool:
    """Whether an error says the back end is unhealthy (the breaker counts it). A rate limit
    does not: the back end answered."""
    if isinstance(exc, ConnectorCrashed):
        return True
    if isinstance(exc, ConnectorRateLimited):
        return False
    return isinstance(exc, ConnectorError) and exc.retryable


def _outcome_unknown(exc: BaseException) -> bool:
    """Whether an attempt that raised `exc` may still have done its work: it timed out or lost
    the back end mid-request. A rate limit or an open breaker says the attempt never ran."""
    if isinstance(exc, ConnectorRateLimited | CircuitOpen):
        return False
    return isinstance(exc, ConnectorTimeout | ConnectorUnavailable)


def _chain_cause(error: BaseException, met: ConnectorError | None) -> None:
    """Chain `met`, what an earlier attempt of the call met at the back end, as the cause of
    the breaker's refusal `error` of a later one: those attempts may have opened it."""
    if isinstance(error, CircuitOpen) and met is not None:
        error.__cause__ = met  # as `raise error from met` would, for the bare `raise` after


def call_budget_s(policy: ResiliencePolicy, attempts: int | None = None) -> float:
    """The time budget of one call: the longest it can take under `policy` with `attempts`
    attempts (default `max_attempts`), every attempt timing out and every backoff at its most."""
    attempts = policy.max_attempts if attempts is None else attempts
    return attempts * policy.timeout_s + (attempts - 1) * policy.backoff_max_s


class ResilientConnector:
    """Wraps one connector instance. Satisfies `botfleet.ports.connectors.Connector`."""

    def __init__(
        self,
        connector: Connector,
        policy: ResiliencePolicy,
        *,
        name: str | None = None,
        metrics: ConnectorMetrics | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = connector
        self.policy = policy
        self.name = name or connector.category
        self.category = connector.category
        self._metrics = metrics
        self._sleep = sleep
        self._monotonic = monotonic
        self.breaker = CircuitBreaker(
            self.name,
            failure_threshold=policy.failure_threshold,
            reset_after_s=policy.reset_after_s,
            half_open_max_calls=policy.half_open_max_calls,
            monotonic=monotonic,
            on_change=self._breaker_changed,
        )
        if metrics is not None:
            metrics.set_breaker(self.name, BreakerState.CLOSED, changed=False)

    def operations(self) -> frozenset[str]:
        return self.inner.operations()

    def creates(self, operation: str) -> bool:
        """Whether `operation` creates something (retried only with an idempotency key)."""
        declared: frozenset[str] = getattr(self.inner, "creating_operations", frozenset())
        return operation in self.policy.create_operations or operation in declared

    def attempts_for(self, operation: str, idempotency_key: str) -> int:
        if self.creates(operation) and not idempotency_key:
            return 1
        return self.policy.max_attempts

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        """Call the wrapped connector under the policy; raises `ConnectorError` on failure."""
        if operation not in self.inner.operations():
            raise UnknownOperation(self.category, operation, self.inner.operations())
        started = self._monotonic()
        attempts = 0
        outcome = "ok"
        unsure = False  # whether an attempt may have done its work, unbeknownst to us
        # The last error an attempt of this call met at the back end: should a later attempt
        # find the breaker open (this call's failures may have opened it), that is the cause.
        met: ConnectorError | None = None
        try:
            limit = self.attempts_for(operation, idempotency_key)
            budget = call_budget_s(self.policy, limit)
            while True:
                attempts += 1
                try:
                    return await self._attempt(operation, params, idempotency_key)
                except BaseException as exc:
                    unsure = unsure or _outcome_unknown(exc)
                    if not _retryable(exc) or attempts >= limit:
                        if unsure and self._may_have_created(operation, idempotency_key, exc):
                            found = await self._created_after_all(
                                operation, params, idempotency_key, attempts
                            )
                            if found is not None:
                                return found
                        _chain_cause(exc, met)
                        raise
                    if isinstance(exc, ConnectorError):
                        met = exc
                    wait = self._backoff(attempts)
                    if isinstance(exc, ConnectorRateLimited):
                        left = budget - (self._monotonic() - started)
                        wait = wait if exc.retry_after is None else exc.retry_after
                        if wait + self.policy.timeout_s > left:
                            self._rate_limit_too_long(operation, attempts, exc, left)
                            raise
                    self._before_retry(operation, attempts, exc, wait)
                await self._sleep(wait)
        except ConnectorError as exc:
            outcome = exc.kind
            raise
        except BaseException:
            outcome = "cancelled"
            raise
        finally:
            self._record(operation, outcome, attempts, self._monotonic() - started)

    def _may_have_created(self, operation: str, key: str, error: BaseException) -> bool:
        """Whether a call failing with `error` is a create worth looking up: only with a key
        (what finds it) and only when the back end did not answer (a refusal is an answer)."""
        return (
            bool(key)
            and isinstance(error, ConnectorTimeout | ConnectorUnavailable)
            and self.creates(operation)
        )

    async def _created_after_all(
        self, operation: str, params: Mapping[str, Any], key: str, attempts: int
    ) -> Any | None:
        """The connector's answer for the create its attempts may have made after all, found by
        `key`, else None. One bounded lookup, not counted by the breaker (a call's failed
        attempts open it as the policy says, lookup or not), and none while the breaker is not
        closed: that would be one more request to a back end the breaker is sparing."""
        finder = self.inner
        if not isinstance(finder, FindsCreated) or self.breaker.state is not BreakerState.CLOSED:
            return None
        try:
            async with asyncio.timeout(self.policy.timeout_s):
                found = await finder.find_created(operation, params, idempotency_key=key)
        except (TimeoutError, ConnectorError):
            return None  # the back end cannot tell either: the call's own error stands
        except Exception:
            log.exception(
                "connector_crashed", connector=self.name, operation=operation, **turn_fields()
            )
            return None
        if found is not None:
            log.info(
                "connector_create_found",
                connector=self.name,
                operation=operation,
                attempts=attempts,
                **turn_fields(),
            )
        return found

    def _backoff(self, failed_attempt: int) -> float:
        """Seconds to wait after attempt number `failed_attempt` failed: tenacity's
        `wait_exponential_jitter(multiplier=initial, max=max, jitter=jitter)`."""
        policy = self.policy
        jitter = random.uniform(0, policy.backoff_jitter_s)
        growth: int = 2 ** (failed_attempt - 1)
        try:
            wait = policy.backoff_initial_s * growth + jitter
        except OverflowError:
            wait = policy.backoff_max_s
        return max(0.0, min(wait, policy.backoff_max_s))

    async def _attempt(self, operation: str, params: Mapping[str, Any], key: str) -> Any:
        self.breaker.acquire()
        verdict: bool | None = None
        try:
            deadline = asyncio.get_running_loop().time() + self.policy.timeout_s
            pending = self.inner.call(operation, params, idempotency_key=key)
            if isinstance(pending, types.CoroutineType):
                finished, result = run_until_suspended(pending)
                if not finished:  # it waits for something: the rest runs under the timeout
                    async with asyncio.timeout_at(deadline):
                        result = await resumed(pending, result)
            else:  # some other awaitable
                async with asyncio.timeout_at(deadline):
                    result = await pending
            verdict = True
            return result
        except TimeoutError:
            verdict = False
            # The message does not name the call: what reports it does (`connector_failed`:
            # `calendar.book_appointment: timeout the attempt took longer than 8s`).
            raise ConnectorTimeout(
                f"the attempt took longer than {self.policy.timeout_s:g}s"
            ) from None
        except UnknownOperation:
            verdict = True  # the back end is fine; the flow asked for something it lacks
            raise
        except ConnectorError as exc:
            verdict = not _counts_as_failure(exc)
            if isinstance(exc, MisconfiguredBinding):
                self._misconfigured(operation, exc)
            raise
        except Exception as exc:
            verdict = False
            log.exception(
                "connector_crashed", connector=self.name, operation=operation, **turn_fields()
            )
            raise ConnectorCrashed(
                f"the connector failed unexpectedly ({type(exc).__name__})"
            ) from exc
        finally:
            if verdict is True:
                self.breaker.record_success()
            elif verdict is False:
                self.breaker.record_failure()
            else:  # cancelled: no verdict on the back end
                self.breaker.abandon()

    def _misconfigured(self, operation: str, error: MisconfiguredBinding) -> None:
        """The operator's line for a refusal the binding's settings caused (`calendar_not_found`),
        written here because the adapter knows neither its binding's name nor the turn."""
        if error.log_fields is None:
            return
        log.error(
            error.log_event,
            **{
                **error.log_fields,
                "connector": self.name,
                "operation": operation,
                **turn_fields(),
            },
        )

    def _before_retry(
        self, operation: str, attempt: int, error: BaseException, wait: float
    ) -> None:
        log.info(
            "connector_retry",
            connector=self.name,
            operation=operation,
            attempt=attempt,
            error_kind=getattr(error, "kind", "error"),
            wait_s=round(wait, 3),
            **turn_fields(),
        )
        if self._metrics is not None:
            self._metrics.retries.labels(self.name, operation).inc()

    def _rate_limit_too_long(
        self, operation: str, attempt: int, error: ConnectorRateLimited, left: float
    ) -> None:
        log.info(
            "connector_rate_limited",
            connector=self.name,
            operation=operation,
            attempt=attempt,
            retry_after_s=error.retry_after,
            budget_left_s=round(max(left, 0.0), 3),
            detail="the wait asked for does not fit in the call's time budget: not retried",
            **turn_fields(),
        )

    def _record(self, operation: str, outcome: str, attempts: int, seconds: float) -> None:
        fields = {
            **turn_fields(),
            "connector": self.name,
            "operation": operation,
            "outcome": outcome,
            "attempts": attempts,
            "latency_ms": round(seconds * 1000, 1),
            "breaker": self.breaker.state.value,
        }
        if outcome == "ok":
            log.info("connector_call_finished", **fields)
        else:
            log.warning("connector_call_finished", **fields)
        if self._metrics is not None:
            self._metrics.observe_call(self.name, operation, outcome, seconds)

    def _breaker_changed(self, name: str, before: BreakerState, after: BreakerState) -> None:
        log.warning(
            "circuit_breaker_state",
            connector=name,
            before=before.value,
            after=after.value,
            **turn_fields(),
        )
        if self._metrics is not None:
            self._metrics.set_breaker(name, after, changed=True)
