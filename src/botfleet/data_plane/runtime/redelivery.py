"""Connector calls kept when their back end did not take them, and made again later.

A binding that says so (the webhook's `redeliver_for: 24h`) does not lose a notification its
receiver did not take, after the call's own retries: a timeout, an unavailable receiver, a
rate limit that did not fit, an open breaker. The step loop keeps the call (`keep`: the
tenant's state file, `ports.redelivery`) and the flow gets the connector's `queued_answer`
(`{delivered: false, queued: true, id}`) instead of a failure: its `on_error` does not run,
and the contact is told what a delivered notification would have told them. A refusal (a
4xx: wrong secret, deleted hook) is not kept: sending it again would be refused again; the
flow's `on_error` runs as before.

`redelivering` then makes the calls due again every `every_s` seconds, through the binding's
resilience policy (its retries, timeout and breaker), with the call's own idempotency key, so
the receiver gets the same `Idempotency-Key` as the first attempt and can drop a repeat. A
call delivered is forgotten (`connector_call_redelivered`); one still failing waits longer
each time (`FIRST_WAIT` doubling up to `LONGEST_WAIT`, or what a 429 or an open breaker asked),
until `redeliver_for` after it was kept: then it is given up (`connector_call_given_up`, level
`error`, with the notification's id and event), as is a call refused on a later attempt or
whose binding no longer redelivers. Kept calls survive restarts; a call in flight when the data
plane stops is made again at the next start. A contact's erasure deletes the calls of their
turns (their data would reach the business after they asked to be forgotten).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from botfleet.data_plane.resilience.breaker import CircuitOpen
from botfleet.data_plane.runtime.housekeeping import running_in_background
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorTimeout,
    ConnectorUnavailable,
)
from botfleet.ports.clock import Clock
from botfleet.ports.connectors import ConnectorCaller
from botfleet.ports.redelivery import QueuedCall, Redeliverable, RedeliveryQueue

log = structlog.get_logger("botfleet.connectors")

#: The wait before a kept call's first attempt, doubled after each failed one up to the longest.
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(minutes=30)
#: How often the calls due are looked for.
DEFAULT_EVERY_S = 15.0
#: Calls made in one pass at most (the rest wait for the next).
PASS_LIMIT = 50
#: Calls kept at most, all bindings together: past it a failed call is not kept (its flow's
#: failure path runs), so a receiver down under a flood of contacts cannot grow the state
#: file without bound.
MAX_KEPT = 10_000

#: Runs a job in a contact's turn order (`ConversationRuntime.after_turns`).
InContactOrder = Callable[[str, Callable[[], Awaitable[bool]]], Awaitable[bool]]


def worth_keeping(exc: BaseException) -> bool:
    """Whether a call that failed so may succeed later: the back end did not answer, or asked
    to wait (a 429, an open breaker); not a refusal."""
    return isinstance(exc, ConnectorUnavailable | ConnectorTimeout)


def _wait_after(attempts: int, exc: BaseException | None) -> timedelta:
    # The exponent is bounded: a week of attempts would overflow a timedelta.
    doublings = min(max(attempts - 1, 0), 16)
    wait: timedelta = min(FIRST_WAIT * (2**doublings), LONGEST_WAIT)
    asked: float | None = None
    if isinstance(exc, ConnectorRateLimited):
        asked = exc.retry_after
    elif isinstance(exc, CircuitOpen):
        asked = exc.retry_in_s
    if asked is not None and math.isfinite(asked) and asked > 0:
        # The receiver's `Retry-After` is its word, not ours: at most the longest wait (a
        # year, or 1e300, would outlive `redeliver_for` or overflow).
        wait = max(wait, timedelta(seconds=min(asked, LONGEST_WAIT.total_seconds())))
    return wait


def _what(answer: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """The call's id and event for log lines: what the receiver's logs show, never params."""
    fields: dict[str, Any] = {}
    if isinstance(answer, Mapping) and isinstance(answer.get("id"), str):
        fields["id"] = answer["id"]
    event = params.get("event")
    if isinstance(event, str):
        # Not `event`: the log line's own name.
        fields["notification_event"] = event[:64]
    return fields


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.kept = Gauge(
            "botfleet_connector_calls_kept",
            "Connector calls kept to be made again later (notifications not delivered yet)",
            ["connector"],
            registry=registry,
        )
        self.outcomes = Counter(
            "botfleet_connector_redeliveries",
            "Kept connector calls by what became of them: kept, redelivered, given_up, erased",
            ["connector", "outcome"],
            registry=registry,
        )


class Redelivery:
    """Keeps the failed calls of the bindings that redeliver, and makes them again.

    Args:
        queue: where kept calls are stored (the tenant's state file).
        connectors: the calls are made through it (the binding's resilience policy).
        bindings: binding -> its bare connector (`redeliverable_bindings`); those without a
            `redeliver_for` are left out.
        clock: the runtime's clock.
        metrics_registry: the runtime's registry; None: no metrics.
    """

    def __init__(
        self,
        queue: RedeliveryQueue,
        connectors: ConnectorCaller,
        *,
        bindings: Mapping[str, Redeliverable],
        clock: Clock,
        metrics_registry: CollectorRegistry | None = None,
    ) -> None:
        self.queue = queue
        self._connectors = connectors
        self._bindings = {name: b for name, b in bindings.items() if b.redeliver_for is not None}
        self._clock = clock
        self._metrics = None if metrics_registry is None else _Metrics(metrics_registry)
        #: binding -> calls waiting, as last counted (`/health`).
        self.waiting: dict[str, int] = {}
        #: Set by the composition root once the runtime exists: a contact's kept call is made
        #: again in the contact's turn order, so an erasure answered before it is never
        #: followed by its send (None: made at once, tests).
        self.in_contact_order: InContactOrder | None = None

    @property
    def bindings(self) -> frozenset[str]:
        """The bindings whose failed calls are kept."""
        return frozenset(self._bindings)

    def waiting_by_binding(self) -> dict[str, int]:
        """binding -> calls waiting, each binding that keeps them (0 for none), as counted by
        the last pass and kept since (`/health`: no read of the store per probe)."""
        return {name: self.waiting.get(name, 0) for name in sorted(self._bindings)}

    def keeps(self, connector: str, operation: str, exc: BaseException) -> bool:
        binding = self._bindings.get(connector)
        return (
            binding is not None
            and operation in binding.redeliverable_operations
            and worth_keeping(exc)
        )

    async def keep(
        self,
        connector: str,
        operation: str,
        params: Mapping[str, Any],
        *,
        key: str,
        contact_id: str | None,
        exc: ConnectorError,
        logger: Any = log,
    ) -> Any | None:
        """Keep the failed call for later and return the flow's answer for it; None when it
        cannot be kept (the store refused it: the failure stands, logged here)."""
        binding = self._bindings[connector]
        window = binding.redeliver_for
        assert window is not None  # a binding kept in `_bindings` has one
        now = self._clock.now()
        answer = binding.queued_answer(operation, params, key)
        if sum(self.waiting.values()) >= MAX_KEPT:
            logger.error(
                "connector_call_not_kept",
                connector=connector,
                operation=operation,
                detail=f"{MAX_KEPT} calls are kept already: the receiver has been down long",
                **_what(answer, params),
            )
            return None
        call = QueuedCall(
            key=key,
            connector=connector,
            operation=operation,
            params=params,
            contact_id=contact_id,
            queued_at=now,
            next_at=now + min(_wait_after(0, exc), window),
            last_error=f"{exc.kind}: {exc}",
        )
        try:
            added = await self.queue.add(call)
        except Exception as error:  # the store refused it: the flow's failure path runs
            logger.error(
                "connector_call_not_kept",
                connector=connector,
                operation=operation,
                detail=str(error),
                **_what(answer, params),
            )
            return None
        if added:
            self._count(connector, "kept")
            self.waiting[connector] = self.waiting.get(connector, 0) + 1
            if self._metrics is not None:
                self._metrics.kept.labels(connector).set(self.waiting[connector])
        logger.warning(
            "connector_call_kept",
            connector=connector,
            operation=operation,
            error=exc.kind,
            retry_at=call.next_at.isoformat(),
            give_up_at=(now + window).isoformat(),
            **_what(answer, params),
        )
        return answer

    async def run_due(self, *, limit: int = PASS_LIMIT) -> int:
        """Make the calls due again (at most `limit`); how many were delivered."""
        now = self._clock.now()
        delivered = 0
        for call in await self.queue.due(now, limit=limit):
            try:
                if await self._in_order(call):
                    delivered += 1
            except Exception as exc:  # one call's fault must not stop the others
                log.error(
                    "redelivery_failed",
                    connector=call.connector,
                    error=type(exc).__name__,
                    detail=str(exc),
                )
                with contextlib.suppress(Exception):
                    await self.queue.retry_later(
                        call.key,
                        next_at=self._clock.now() + LONGEST_WAIT,
                        attempts=call.attempts + 1,
                        last_error=f"error: {type(exc).__name__}",
                    )
        await self.recount()
        return delivered

    async def recount(self, *, gone_as: str | None = None) -> None:
        """Count the calls waiting again (`/health`, the gauge); with `gone_as`, the calls
        gone since the last count are counted under that outcome (`erased`: a contact's
        erasure deleted them)."""
        before, self.waiting = self.waiting, await self.queue.counts()
        if gone_as is not None:
            for connector, count in before.items():
                gone = count - self.waiting.get(connector, 0)
                if gone > 0:
                    self._count(connector, gone_as, gone)
        if self._metrics is not None:
            for connector in self._bindings.keys() | self.waiting.keys():
                self._metrics.kept.labels(connector).set(self.waiting.get(connector, 0))

    async def _in_order(self, call: QueuedCall) -> bool:
        """`_again`, in the contact's turn order when the call has one: an erasure answered
        meanwhile deleted it, and it is not sent."""
        contact, in_order = call.contact_id, self.in_contact_order
        if contact is None or in_order is None:
            return await self._again(call)

        async def if_still_kept() -> bool:
            kept = {c.key for c in await self.queue.of_contact(contact)}
            return call.key in kept and await self._again(call)

        return await in_order(contact, if_still_kept)

    async def _again(self, call: QueuedCall) -> bool:
        binding = self._bindings.get(call.connector)
        fields = {"connector": call.connector, "operation": call.operation}
        if binding is None or call.operation not in binding.redeliverable_operations:
            await self._give_up(call, None, "the binding no longer redelivers", fields)
            return False
        what = _what(binding.queued_answer(call.operation, call.params, call.key), call.params)
        assert binding.redeliver_for is not None
        if self._clock.now() - call.queued_at > binding.redeliver_for:
            # Stopped longer than the window (a data plane down for days): too late to send.
            await self._give_up(call, None, "redeliver_for ran out", {**fields, **what})
            return False
        attempts = call.attempts + 1
        try:
            await self._connectors.call(
                call.connector, call.operation, call.params, idempotency_key=call.key
            )
        except ConnectorError as exc:
            now = self._clock.now()
            error = f"{exc.kind}: {exc}"
            assert binding.redeliver_for is not None
            if not worth_keeping(exc):
                await self._give_up(call, exc, "refused", {**fields, **what})
            elif now - call.queued_at >= binding.redeliver_for:
                await self._give_up(call, exc, "redeliver_for ran out", {**fields, **what})
            else:
                # Never past the window's end: the last attempt is made as it closes.
                give_up_at = call.queued_at + binding.redeliver_for
                next_at = min(now + _wait_after(attempts, exc), give_up_at)
                await self.queue.retry_later(
                    call.key, next_at=next_at, attempts=attempts, last_error=error
                )
            return False
        await self.queue.remove(call.key)
        self._count(call.connector, "redelivered")
        log.info(
            "connector_call_redelivered",
            attempts=attempts,
            kept_for_s=round((self._clock.now() - call.queued_at).total_seconds()),
            **fields,
            **what,
        )
        return True

    async def _give_up(
        self,
        call: QueuedCall,
        exc: ConnectorError | None,
        reason: str,
        fields: dict[str, Any],
    ) -> None:
        await self.queue.remove(call.key)
        self._count(call.connector, "given_up")
        log.error(
            "connector_call_given_up",
            reason=reason,
            attempts=call.attempts + (exc is not None),
            kept_since=call.queued_at.isoformat(),
            detail=f"{exc.kind}: {exc}" if exc is not None else call.last_error,
            **fields,
        )

    def _count(self, connector: str, outcome: str, amount: int = 1) -> None:
        if self._metrics is not None:
            self._metrics.outcomes.labels(connector, outcome).inc(amount)


def redeliverable_bindings(connectors: Mapping[str, object]) -> dict[str, Redeliverable]:
    """The bindings whose connector may keep failed calls and whose binding asks to."""
    return {
        name: c
        for name, c in connectors.items()
        if isinstance(c, Redeliverable) and c.redeliver_for is not None
    }


@asynccontextmanager
async def redelivering(
    redelivery: Redelivery,
    *,
    every_s: float = DEFAULT_EVERY_S,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> AsyncIterator[asyncio.Task[None]]:
    """Make the kept calls due again every `every_s` seconds while the context is open (the
    first pass at once: calls kept before a restart may be due)."""
    if every_s <= 0:
        raise ValueError(f"redelivery interval must be > 0 seconds, got {every_s}")

    async def loop() -> None:
        while True:
            try:
                await redelivery.run_due()
            except Exception as exc:  # upkeep must not stop the bot; the next pass tries again
                log.error("redelivery_failed", error=type(exc).__name__, detail=str(exc))
            await sleep(every_s)

    async with running_in_background(loop(), "redelivery") as task:
        yield task
