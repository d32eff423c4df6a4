"""Retries of one provider API call (Graph API, Bot API): attempts, backoff, `Retry-After`.

An attempt returns its outcome, or raises `RetryLater` with the outcome to keep if no later
attempt succeeds and, when the provider said so, how long to wait. Between attempts the wait
is the provider's, else tenacity's `wait_random_exponential` rule (uniform in
[0, min(30, base * 2 ** (attempt - 1))] seconds).

A plain loop rather than a `tenacity.AsyncRetrying` per call: nearly every call succeeds at
once, and building and driving the retrying object cost ~40 us of a ~300 us WhatsApp call
(bench/provider_http.py, 2026-12-04), as it did in the connector wrapper
(data_plane/resilience/connector.py).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Outcome = TypeVar("Outcome")
Sleep = Callable[[float], Awaitable[None]]
#: Longest exponential backoff between two attempts, in seconds.
MAX_BACKOFF_S = 30.0


class RetryLater(Exception, Generic[Outcome]):
    """One failed attempt that may succeed later; carries its outcome and what to wait."""

    def __init__(self, outcome: Outcome, retry_after: float | None = None) -> None:
        super().__init__("retry")
        self.outcome, self.retry_after = outcome, retry_after


def backoff_s(failed_attempts: int, base_s: float) -> float:
    """Seconds to wait after `failed_attempts` failures when the provider named no wait."""
    if base_s <= 0:
        return 0.0
    return random.uniform(0.0, min(MAX_BACKOFF_S, base_s * 2 ** (failed_attempts - 1)))


async def with_retries(
    attempt: Callable[[], Awaitable[Outcome]],
    *,
    max_attempts: int,
    base_s: float,
    sleep: Sleep,
    on_retry: Callable[[], None],
) -> Outcome:
    """Run `attempt` until it returns or `max_attempts` have raised `RetryLater`.

    Returns the last outcome: a returned one, or the last `RetryLater`'s. `on_retry` runs
    before each wait (a metric), never after the last attempt.
    """
    failed = 0
    while True:
        try:
            return await attempt()
        except RetryLater as exc:
            failed += 1
            if failed >= max_attempts:
                outcome: Outcome = exc.outcome
                return outcome
            on_retry()
            wait = exc.retry_after if exc.retry_after is not None else backoff_s(failed, base_s)
            await sleep(wait)
