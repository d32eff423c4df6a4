"""The retry loop the WhatsApp and Telegram senders share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.channels.api_retries import (
    MAX_BACKOFF_S,
    RetryLater,
    backoff_s,
    with_retries,
)


class Script:
    """Attempts that fail as scripted, then succeed; records waits and retry callbacks."""

    def __init__(self, failures: list[float | None]) -> None:
        self.failures = list(failures)
        self.calls = 0
        self.waits: list[float] = []
        self.retries = 0

    async def attempt(self) -> str:
        self.calls += 1
        if self.failures:
            raise RetryLater(f"failed {self.calls}", self.failures.pop(0))
        return "ok"

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def on_retry(self) -> None:
        self.retries += 1

    async def run(self, max_attempts: int, base_s: float = 0.5) -> str:
        return await with_retries(
            self.attempt,
            max_attempts=max_attempts,
            base_s=base_s,
            sleep=self.sleep,
            on_retry=self.on_retry,
        )


async def test_a_first_success_neither_waits_nor_counts_a_retry() -> None:
    script = Script([])
    assert await script.run(4) == "ok"
    assert (script.calls, script.waits, script.retries) == (1, [], 0)


async def test_the_provider_s_wait_is_honoured_between_attempts() -> None:
    script = Script([7.0, 2.5])
    assert await script.run(4) == "ok"
    assert script.calls == 3
    assert script.waits == [7.0, 2.5]
    assert script.retries == 2


async def test_the_last_failure_s_outcome_is_returned_after_max_attempts() -> None:
    script = Script([1.0, 1.0, 1.0, 1.0])
    assert await script.run(3) == "failed 3"
    assert script.calls == 3
    assert script.waits == [1.0, 1.0]  # no wait and no retry counted after the last attempt
    assert script.retries == 2


async def test_one_attempt_allowed_means_no_retry() -> None:
    script = Script([None])
    assert await script.run(1) == "failed 1"
    assert (script.calls, script.waits, script.retries) == (1, [], 0)


async def test_without_a_provider_wait_the_backoff_grows_with_jitter() -> None:
    script = Script([None, None, None])
    assert await script.run(4, base_s=0.5) == "ok"
    bounds = [0.5, 1.0, 2.0]
    assert len(script.waits) == 3
    assert all(0.0 <= wait <= bound for wait, bound in zip(script.waits, bounds, strict=True))


async def test_other_errors_are_not_retried() -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    async def sleep(_: float) -> None:
        raise AssertionError("no wait expected")

    with pytest.raises(KeyError):
        await with_retries(attempt, max_attempts=4, base_s=0.5, sleep=sleep, on_retry=lambda: None)
    assert calls == 1


@given(
    failed=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.001, max_value=30.0, allow_nan=False),
)
def test_backoff_stays_within_the_exponential_cap(failed: int, base: float) -> None:
    wait = backoff_s(failed, base)
    assert 0.0 <= wait <= min(MAX_BACKOFF_S, base * 2 ** (failed - 1))


def test_a_zero_base_never_waits() -> None:
    assert backoff_s(3, 0.0) == 0.0
