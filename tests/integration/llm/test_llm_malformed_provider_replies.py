"""Replies of odd shapes from either provider: never an adapter crash, and told apart in the log.

* a 200 whose body is not JSON (a proxy's or a captive portal's page) is the provider being
  unavailable (retried, counted by the breaker), not an `error`-level adapter crash;
* a reply whose shape is off (no choices, a choice without a message, token counts that are
  not integers) is read as far as it goes: never an AttributeError/TypeError;
* a model reply that is not a structured answer is out of scope as a `MalformedAnswer` with a
  reason (and the provider's stop reason), which the fallback logs as `outcome=malformed_reply`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import respx
from prometheus_client import CollectorRegistry
from respx_httpx2 import mock_sdk
from structlog.testing import capture_logs

from botfleet.adapters.llm.anthropic import AnthropicLLM
from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM
from botfleet.adapters.llm.options import LLMOptions
from botfleet.adapters.llm.quota import InMemoryUsageStore
from botfleet.adapters.llm.replies import MalformedAnswer
from botfleet.data_plane.llm_fallback import build_llm_fallback
from botfleet.domain.errors import ConnectorUnavailable
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.ports.connectors import LLMReply, LLMUsage
from botfleet.testing.clock import FrozenClock
from botfleet.testing.llm import context

OPENAI = "http://fake-openai.llm.test/v1"
ANTHROPIC = "https://fake-anthropic.llm.test"
KEY = "sk-test-SECRET-malformed"
KNOWLEDGE = "- Hours: Monday to Friday 9:00-19:00.\n"
PAGE = b"<html><body>502 Bad Gateway</body></html>"


@pytest.fixture
def openai_api() -> Iterator[respx.MockRouter]:
    with mock_sdk(OPENAI) as router:
        yield router


@pytest.fixture
def anthropic_api() -> Iterator[respx.MockRouter]:
    with mock_sdk(ANTHROPIC) as router:
        yield router


@pytest.fixture
async def openai_llm() -> AsyncIterator[OpenAICompatibleLLM]:
    adapter = OpenAICompatibleLLM(
        LLMOptions(provider="openai_compatible", base_url=OPENAI, api_key=KEY)
    )
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def anthropic_llm() -> AsyncIterator[AnthropicLLM]:
    adapter = AnthropicLLM(LLMOptions(provider="anthropic", base_url=ANTHROPIC, api_key=KEY))
    yield adapter
    await adapter.aclose()


def choice_with(content: Any, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_796_524_455,
        "model": "fake-model",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": content},
            }
        ],
        "usage": {"prompt_tokens": 120, "completion_tokens": 20, "total_tokens": 140},
    }


def message_with(content: Any, stop_reason: str = "tool_use", **usage: Any) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 15, **usage},
    }


@pytest.mark.parametrize("content_type", ["application/json", "text/html"])
async def test_openai_a_body_that_is_not_json_is_unavailable(
    openai_api: respx.MockRouter, openai_llm: OpenAICompatibleLLM, content_type: str
) -> None:
    openai_api.post("/chat/completions").respond(
        200, content=PAGE, headers={"content-type": content_type}
    )
    with pytest.raises(ConnectorUnavailable) as caught:
        await openai_llm.answer("When do you open?", KNOWLEDGE, context())
    assert str(caught.value) == "openai_compatible: the API's answer is not JSON"


@pytest.mark.parametrize("content_type", ["application/json", "text/html"])
async def test_anthropic_a_body_that_is_not_json_is_unavailable(
    anthropic_api: respx.MockRouter, anthropic_llm: AnthropicLLM, content_type: str
) -> None:
    anthropic_api.post("/v1/messages").respond(
        200, content=PAGE, headers={"content-type": content_type}
    )
    with pytest.raises(ConnectorUnavailable) as caught:
        await anthropic_llm.answer("When do you open?", KNOWLEDGE, context())
    assert str(caught.value) == "anthropic: the API's answer is not JSON"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"choices": []}, "no choices in the reply"),
        ({"choices": "x"}, "no choices in the reply"),
        ({"choices": [{}]}, "no message content"),
        ({"choices": [{"message": None}]}, "no message content"),
        ({"choices": [{"message": {"content": 5}}]}, "no message content"),
        (
            choice_with('{"in_scope": true, "answer": "We open at 9', finish_reason="length"),
            "not a JSON object {in_scope: bool, answer: string} (stopped: length)",
        ),
        (
            choice_with("Sure! We open at 9."),
            "not a JSON object {in_scope: bool, answer: string} (stopped: stop)",
        ),
    ],
)
async def test_openai_odd_shapes_are_malformed_replies(
    openai_api: respx.MockRouter, openai_llm: OpenAICompatibleLLM, body: Any, reason: str
) -> None:
    openai_api.post("/chat/completions").respond(json=body)
    answer = await openai_llm.answer("When do you open?", KNOWLEDGE, context())
    assert isinstance(answer, MalformedAnswer)
    assert (answer.in_scope, answer.text, answer.reason) == (False, "", reason)


@pytest.mark.parametrize("usage", ["bad", {"prompt_tokens": "12", "completion_tokens": None}])
async def test_openai_token_counts_that_are_not_integers_count_zero(
    openai_api: respx.MockRouter, openai_llm: OpenAICompatibleLLM, usage: Any
) -> None:
    body = choice_with(json.dumps({"in_scope": True, "answer": "At 9."}))
    body["usage"] = usage
    openai_api.post("/chat/completions").respond(json=body)
    answer = await openai_llm.answer("When do you open?", KNOWLEDGE, context())
    assert (answer.in_scope, answer.text, answer.usage) == (True, "At 9.", LLMUsage())


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("x", "no call of the answer tool (stopped: tool_use)"),
        ([{}], "no call of the answer tool (stopped: tool_use)"),
        ([{"type": "tool_use"}], "no call of the answer tool (stopped: tool_use)"),
        (
            [{"type": "text", "text": "We open at 9."}],
            "no call of the answer tool (stopped: tool_use)",
        ),
        (
            [{"type": "tool_use", "id": "t", "name": "answer", "input": "x"}],
            "the answer tool's input is not {in_scope, answer} (stopped: tool_use)",
        ),
    ],
)
async def test_anthropic_odd_shapes_are_malformed_replies(
    anthropic_api: respx.MockRouter, anthropic_llm: AnthropicLLM, content: Any, reason: str
) -> None:
    anthropic_api.post("/v1/messages").respond(json=message_with(content))
    answer = await anthropic_llm.answer("When do you open?", KNOWLEDGE, context())
    assert isinstance(answer, MalformedAnswer)
    assert (answer.in_scope, answer.text, answer.reason) == (False, "", reason)
    assert answer.usage.output_tokens == 15


async def test_anthropic_a_cut_answer_names_max_tokens(
    anthropic_api: respx.MockRouter, anthropic_llm: AnthropicLLM
) -> None:
    cut = [{"type": "tool_use", "id": "t", "name": "answer", "input": {"in_scope": True}}]
    anthropic_api.post("/v1/messages").respond(json=message_with(cut, stop_reason="max_tokens"))
    answer = await anthropic_llm.answer("When do you open?", KNOWLEDGE, context())
    assert isinstance(answer, MalformedAnswer)
    assert answer.reason.endswith("(stopped: max_tokens)")


@pytest.mark.parametrize(
    "usage", [{"input_tokens": "12", "output_tokens": None}, {"cache_read_input_tokens": "lots"}]
)
async def test_anthropic_token_counts_that_are_not_integers_count_zero(
    anthropic_api: respx.MockRouter, anthropic_llm: AnthropicLLM, usage: dict[str, Any]
) -> None:
    content = [{"type": "tool_use", "id": "t", "name": "answer",
                "input": {"in_scope": True, "answer": "At 9."}}]  # fmt: skip
    body = message_with(content)
    body["usage"] = usage
    anthropic_api.post("/v1/messages").respond(json=body)
    answer = await anthropic_llm.answer("When do you open?", KNOWLEDGE, context())
    assert (answer.in_scope, answer.text) == (True, "At 9.")
    assert answer.usage == LLMUsage()


class _Live:
    knowledge = KNOWLEDGE
    knowledge_version = "v1"

    def swap_knowledge(self, text: str, version: str) -> None:
        self.knowledge, self.knowledge_version = text, version


def _fallback(base_url: str, provider: str, usage: InMemoryUsageStore) -> Any:
    fast = {"backoff_initial_s": 0, "backoff_max_s": 0, "backoff_jitter_s": 0}
    config = tenant_config_from_mapping(
        {
            "tenant_id": "dental",
            "timezone": "Europe/Madrid",
            "flow": {"id": "f", "initial_state": "A", "states": {"A": {}}},
            "llm": {"enabled": True, "provider": provider, "base_url": base_url,
                    "api_key": KEY, "fallback_text": "Call us.", "resilience": fast},
        },
        source="dental.yaml",
    )  # fmt: skip
    return build_llm_fallback(
        config,
        live=_Live(),
        usage=usage,
        clock=FrozenClock(datetime(2026, 12, 6, 12, tzinfo=UTC)),
        max_text=4096,
        registry=CollectorRegistry(),
    )


async def test_the_fallback_logs_a_malformed_reply_apart_and_counts_it_out_of_scope(
    openai_api: respx.MockRouter,
) -> None:
    openai_api.post("/chat/completions").respond(json=choice_with("Sure! We open at 9."))
    usage = InMemoryUsageStore()
    fb = _fallback(OPENAI, "openai_compatible", usage)
    try:
        with capture_logs() as logs:
            reply = await fb.reply("When do you open?", context(), "")
    finally:
        await fb.aclose()
    assert reply == LLMReply("Call us.", "malformed_reply")
    line = next(e for e in logs if e["event"] == "llm_question")
    assert line["outcome"] == "malformed_reply"
    assert line["log_level"] == "warning"
    assert line["reason"].startswith("not a JSON object")
    assert "We open at 9" not in json.dumps(logs, default=str)
    assert fb.metrics.questions.labels("malformed_reply")._value.get() == 1
    month = await usage.get("2026-12")
    assert (month.out_of_scope, month.errors, month.output_tokens) == (1, 0, 20)


async def test_the_fallback_treats_a_page_instead_of_json_as_the_provider_being_down(
    anthropic_api: respx.MockRouter,
) -> None:
    route = anthropic_api.post("/v1/messages").respond(
        200, content=PAGE, headers={"content-type": "application/json"}
    )
    usage = InMemoryUsageStore()
    fb = _fallback(ANTHROPIC, "anthropic", usage)
    try:
        with capture_logs() as logs:
            reply = await fb.reply("When do you open?", context(), "")
    finally:
        await fb.aclose()
    assert reply == LLMReply("Call us.", "unavailable")
    assert route.call_count == 2  # retried like any unavailable provider
    assert not [e for e in logs if e["event"] == "connector_crashed"]
    line = next(e for e in logs if e["event"] == "llm_question")
    assert (line["outcome"], line["detail"]) == (
        "unavailable",
        "anthropic: the API's answer is not JSON",
    )
    assert (await usage.get("2026-12")).errors == 1
