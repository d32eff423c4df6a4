"""The fallback keeps the provider's last failure for `GET /usage` (`llm_last_error`): what it
was, when, the log's operator hint; marked past, not forgotten, once the provider answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from botfleet.adapters.llm.errors import status_error
from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.data_plane.llm_fallback import (
    KnowledgeLLMFallback,
    ProviderFailure,
    build_llm_fallback,
)
from botfleet.domain.errors import ConnectorTimeout, ConnectorUnavailable
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.ports.connectors import LLMReply
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import ScriptedLLM, context, in_scope, out_of_scope

T0 = datetime(2026, 12, 7, 10, 2, tzinfo=UTC)
NO_RETRY = {"max_attempts": 1, "failure_threshold": 2, "reset_after_s": 600}


class Live:
    knowledge = "- Repairs: 48 h.\n"
    knowledge_version = "v1"

    def swap_knowledge(self, text: str, version: str) -> None:  # pragma: no cover - unused
        self.knowledge, self.knowledge_version = text, version


def fallback(
    llm: ScriptedLLM, clock: FrozenClock, resilience: dict[str, Any] | None = None
) -> KnowledgeLLMFallback:
    config = tenant_config_from_mapping(
        {
            "tenant_id": "bikes",
            "flow": {"id": "f", "initial_state": "A", "states": {"A": {}}},
            "llm": {
                "enabled": True,
                "fallback_text": "Sorry.",
                "resilience": resilience or NO_RETRY,
            },
        },
        source="bikes.yaml",
    )
    return build_llm_fallback(
        config,
        live=Live(),
        usage=InMemoryUsageStore(),
        clock=clock,
        max_text=4096,
        registry=CollectorRegistry(),
        connector=llm,
    )


def model_not_found() -> Exception:
    body = {"error": {"message": 'model "qwen2.5-7b" not found, try pulling it first'}}
    return status_error("openai_compatible", 404, body)


async def test_a_refusal_is_kept_with_its_hint_and_marked_past_when_the_provider_answers() -> None:
    clock = FrozenClock(T0)
    llm = ScriptedLLM([model_not_found(), model_not_found(), out_of_scope()])
    fb = fallback(llm, clock)
    assert fb.last_failure is None
    assert await fb.reply("Do you fix e-bikes?", context(), "") == LLMReply("Sorry.", "rejected")
    clock.advance(seconds=30)
    await fb.reply("Do you fix e-bikes?", context(), "")
    failure = fb.last_failure
    assert failure == ProviderFailure(
        "rejected",
        T0.replace(second=30),
        'openai_compatible: request refused (HTTP 404): model "qwen2.5-7b" not found, try '
        "pulling it first (check the model name, and that base_url is the API root up to /v1)",
    )
    clock.advance(minutes=5)
    await fb.reply("Opening hours?", context(), "")  # any reply: the provider took it
    assert fb.last_failure == ProviderFailure(
        failure.outcome, failure.at, failure.detail, resolved_at=clock.now()
    )
    assert fb.last_failure.as_json()["resolved_at"] == "2026-12-07T10:07:30+00:00"


async def test_a_refusal_that_may_quote_the_question_is_kept_without_the_providers_words() -> None:
    body = {"error": {"message": "invalid content: 'my card is 4111 1111'"}}
    fb = fallback(ScriptedLLM([status_error("openai_compatible", 400, body)]), FrozenClock(T0))
    await fb.reply("my card is 4111 1111", context(), "")
    assert fb.last_failure is not None
    assert "4111" not in fb.last_failure.detail
    assert fb.last_failure.detail.startswith("openai_compatible: request refused (HTTP 400)")


async def test_the_open_breaker_does_not_hide_the_failure_that_opened_it() -> None:
    clock = FrozenClock(T0)
    down = "openai_compatible: server error (HTTP 503)"
    llm = ScriptedLLM([ConnectorUnavailable(down), ConnectorUnavailable(down), in_scope("ok")])
    fb = fallback(llm, clock)
    for _ in range(3):  # two failures open the breaker; the third is refused without a call
        await fb.reply("Do you fix e-bikes?", context(), "")
        clock.advance(seconds=1)
    assert fb.metrics.questions.labels("circuit_open")._value.get() == 1
    assert fb.last_failure == ProviderFailure("unavailable", T0.replace(second=1), down)


async def test_a_new_failure_after_a_recovery_replaces_it() -> None:
    clock = FrozenClock(T0)
    llm = ScriptedLLM([model_not_found(), in_scope("ok"), ConnectorTimeout("no answer in time")])
    fb = fallback(llm, clock)
    for _ in range(3):
        await fb.reply("Do you fix e-bikes?", context(), "")
        clock.advance(minutes=1)
    assert fb.last_failure == ProviderFailure(
        "timeout", T0.replace(minute=4), "no answer in time", resolved_at=None
    )


async def test_a_breaker_the_questions_own_attempts_opened_shows_what_they_met() -> None:
    # The first question times out twice; the server then goes down: the next question's first
    # attempt is refused a connection, which opens the breaker, and its retry is the breaker's
    # refusal. The operator must learn that the server is down, not the earlier timeout.
    clock = FrozenClock(T0)
    timeout, down = ConnectorTimeout("took too long"), "openai_compatible: cannot reach the API"
    llm = ScriptedLLM([timeout, timeout, ConnectorUnavailable(down), in_scope("never asked")])
    policy = {"max_attempts": 2, "failure_threshold": 3, "reset_after_s": 600}
    fb = fallback(llm, clock, {**policy, "backoff_initial_s": 0, "backoff_jitter_s": 0})
    await fb.reply("Do you fix e-bikes?", context(), "")
    clock.advance(seconds=30)
    with capture_logs() as logs:
        assert await fb.reply("Open on Sunday?", context(), "") == LLMReply(
            "Sorry.", "circuit_open"
        )
    assert fb.metrics.questions.labels("circuit_open")._value.get() == 1
    assert fb.last_failure == ProviderFailure("unavailable", T0.replace(second=30), down)
    [line] = [entry for entry in logs if entry["event"] == "llm_question"]
    assert line["outcome"] == "circuit_open"
    assert line["cause"] == f"unavailable: {down}"
