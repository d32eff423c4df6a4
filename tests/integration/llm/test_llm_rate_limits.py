"""A provider's 429 through the whole pipeline: the SDK's `RateLimitError` -> `LLMRateLimited`
-> the resilience layer (retry-after within the time budget, breaker untouched) -> the reply.

The provider is the Messages API played by respx at the adapter's `base_url` (no network)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from llm_runtime_kit import SAFE, running_bot, tenant, texts
from respx_httpx2 import mock_sdk
from structlog.testing import capture_logs

from botfleet.data_plane.llm_fallback import KnowledgeLLMFallback
from botfleet.data_plane.resilience import BreakerState

BASE = "https://anthropic.llm.test"
KEY = "sk-ant-rate-SECRET"
ANSWER = "Parking: public car park on Calle Mayor 20."


def anthropic(**resilience: Any) -> dict[str, Any]:
    """The kit's tenant on the anthropic provider; 2 attempts of at most 5 s: a 10 s budget."""
    policy = {"timeout_s": 5, "max_attempts": 2, "backoff_max_s": 0, **resilience}
    return {
        "provider": "anthropic",
        "api_key": KEY,
        "base_url": BASE,
        "resilience": {"backoff_initial_s": 0, "backoff_jitter_s": 0, **policy},
    }


def rate_limited(**headers: str) -> httpx.Response:
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}}
    return httpx.Response(429, json=body, headers=headers)


def answered() -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "answer",
                    "input": {"in_scope": True, "answer": ANSWER},
                }
            ],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 50, "output_tokens": 12},
        },
    )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with mock_sdk(BASE) as router:
        yield router


def fallback_of(bot: Any) -> KnowledgeLLMFallback:
    llm = bot.runtime.llm
    assert isinstance(llm, KnowledgeLLMFallback)
    assert llm.connector is not None
    return llm


async def test_a_429_is_retried_after_the_providers_retry_after_ms(
    api: respx.MockRouter,
) -> None:
    route = api.post("/v1/messages").mock(
        side_effect=[rate_limited(**{"retry-after-ms": "300", "retry-after": "1"}), answered()]
    )
    async with running_bot(tenant(anthropic())) as bot:
        with capture_logs() as logs:
            started = time.monotonic()
            assert texts(await bot.say("Is there parking nearby?")) == [ANSWER]
            waited = time.monotonic() - started
        assert route.call_count == 2
        assert 0.3 <= waited < 1  # the provider's 300 ms, not our backoff (0) nor 1 s
        (retry,) = [e for e in logs if e["event"] == "connector_retry"]
        assert (retry["error_kind"], retry["wait_s"]) == ("rate_limited", 0.3)
        assert fallback_of(bot).connector.breaker.consecutive_failures == 0  # type: ignore[union-attr]


async def test_a_retry_after_past_the_time_budget_gets_the_safe_text_at_once(
    api: respx.MockRouter,
) -> None:
    route = api.post("/v1/messages").mock(return_value=rate_limited(**{"retry-after": "120"}))
    async with running_bot(tenant(anthropic())) as bot:
        with capture_logs() as logs:
            started = time.monotonic()
            assert texts(await bot.say("Is there parking nearby?")) == [SAFE]
            assert time.monotonic() - started < 1
        assert route.call_count == 1  # neither retried early nor waited for
        (question,) = [e for e in logs if e["event"] == "llm_question"]
        assert question["outcome"] == "rate_limited"
        assert KEY not in repr(logs)


async def test_rate_limits_do_not_open_the_llm_breaker(api: respx.MockRouter) -> None:
    route = api.post("/v1/messages").mock(return_value=rate_limited(**{"retry-after": "60"}))
    config = tenant(anthropic(failure_threshold=2, max_attempts=1))
    async with running_bot(config) as bot:
        for _ in range(4):
            assert texts(await bot.say("Is there parking nearby?")) == [SAFE]
        assert route.call_count == 4  # every question still reached the provider
        breaker = fallback_of(bot).connector.breaker  # type: ignore[union-attr]
        assert breaker.state is BreakerState.CLOSED
        route.mock(side_effect=None, return_value=answered())
        assert texts(await bot.say("Is there parking nearby?")) == [ANSWER]
