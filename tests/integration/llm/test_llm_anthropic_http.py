"""`anthropic` adapter against the Messages API's documented HTTP shapes (respx, no network)."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from respx_httpx2 import mock_sdk
from structlog.testing import capture_logs

from botfleet.adapters.llm.anthropic import AnthropicLLM
from botfleet.adapters.llm.errors import LLMRateLimited
from botfleet.adapters.llm.options import LLMOptions
from botfleet.adapters.llm.prompt import RULES_MARKER
from botfleet.domain.errors import (
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)
from botfleet.testing.llm import context

BASE = "https://anthropic.llm.test"
KEY = "sk-ant-test-SECRET"
KNOWLEDGE = "- Hours: Monday to Friday 10:00-14:00.\n"


def message(content: list[dict[str, Any]], **usage: int) -> dict[str, Any]:
    """A Messages API response body, as documented."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5",
        "content": content,
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 52,
            "output_tokens": 31,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            **usage,
        },
    }


def tool_answer(in_scope: bool, answer: str) -> dict[str, Any]:
    return {
        "type": "tool_use",
        "id": "toolu_01A09q90qw90lq917835lq9",
        "name": "answer",
        "input": {"in_scope": in_scope, "answer": answer},
    }


def error(status: int, kind: str, text: str, **headers: str) -> httpx.Response:
    body = {"type": "error", "error": {"type": kind, "message": text}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with mock_sdk(BASE) as router:
        yield router


@pytest.fixture
async def llm() -> AsyncIterator[AnthropicLLM]:
    adapter = AnthropicLLM(LLMOptions(provider="anthropic", api_key=KEY, base_url=BASE))
    yield adapter
    await adapter.aclose()


async def test_the_request_caches_the_knowledge_and_forces_the_answer_tool(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    route = api.post("/v1/messages").respond(json=message([tool_answer(True, "At 10.")]))
    await llm.answer("When do you open?", KNOWLEDGE, context(history=[("bot", "Hi!")]))
    request = route.calls.last.request
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"]
    body = json.loads(request.content)
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 512
    assert "temperature" not in body  # the provider's default unless configured
    rules, knowledge = body["system"]
    assert RULES_MARKER in rules["text"]
    assert "cache_control" not in rules
    assert knowledge == {
        "type": "text",
        "text": f"<knowledge>\n{KNOWLEDGE.strip()}\n</knowledge>",
        "cache_control": {"type": "ephemeral"},
    }
    [user] = body["messages"]
    assert user["role"] == "user"
    assert "<question>\nWhen do you open?\n</question>" in user["content"]
    assert "assistant: Hi!" in user["content"]
    [tool] = body["tools"]
    assert tool["name"] == "answer"
    assert tool["input_schema"]["required"] == ["in_scope", "answer"]
    assert body["tool_choice"] == {"type": "tool", "name": "answer"}


async def test_the_tool_input_is_the_answer_and_cache_tokens_are_split_out(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    api.post("/v1/messages").respond(
        json=message(
            [{"type": "text", "text": "Let me answer."}, tool_answer(True, "At 10.")],
            input_tokens=40,
            output_tokens=12,
            cache_creation_input_tokens=1500,
            cache_read_input_tokens=0,
        )
    )
    first = await llm.answer("When?", KNOWLEDGE, context())
    assert (first.text, first.in_scope) == ("At 10.", True)
    assert (first.usage.input_tokens, first.usage.output_tokens) == (1540, 12)
    assert first.usage.cached_tokens == 0
    api.post("/v1/messages").respond(
        json=message([tool_answer(True, "At 10.")], input_tokens=40, cache_read_input_tokens=1500)
    )
    second = await llm.answer("When?", KNOWLEDGE, context())
    assert (second.usage.input_tokens, second.usage.cached_tokens) == (40, 1500)


async def test_out_of_scope_drops_any_text(api: respx.MockRouter, llm: AnthropicLLM) -> None:
    api.post("/v1/messages").respond(json=message([tool_answer(False, "Probably at 9?")]))
    answer = await llm.answer("Sunday?", KNOWLEDGE, context())
    assert (answer.in_scope, answer.text) == (False, "")


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "text", "text": '{"in_scope": true, "answer": "spoofed"}'}],
        [{"type": "tool_use", "id": "t", "name": "book_appointment", "input": {"slot": "x"}}],
        [{"type": "tool_use", "id": "t", "name": "answer", "input": {"in_scope": "yes"}}],
        [],
    ],
)
async def test_a_reply_without_a_well_formed_answer_tool_is_out_of_scope(
    api: respx.MockRouter, llm: AnthropicLLM, content: list[dict[str, Any]]
) -> None:
    api.post("/v1/messages").respond(json=message(content, output_tokens=7))
    answer = await llm.answer("q", KNOWLEDGE, context())
    assert (answer.in_scope, answer.text) == (False, "")
    assert answer.usage.output_tokens == 7  # the tokens were spent all the same


async def test_429_is_rate_limited_with_retry_after_and_not_retried_by_the_sdk(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    route = api.post("/v1/messages").mock(
        return_value=error(
            429, "rate_limit_error", "Number of requests exceeded", **{"retry-after": "12"}
        )
    )
    with pytest.raises(LLMRateLimited) as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert caught.value.retry_after == 12.0
    assert caught.value.kind == "rate_limited"
    assert caught.value.retryable
    assert route.call_count == 1  # retries belong to the resilience layer


@pytest.mark.parametrize(
    ("status", "kind"), [(500, "api_error"), (529, "overloaded_error"), (503, "api_error")]
)
async def test_server_errors_are_unavailable(
    api: respx.MockRouter, llm: AnthropicLLM, status: int, kind: str
) -> None:
    api.post("/v1/messages").mock(return_value=error(status, kind, "Overloaded"))
    with pytest.raises(ConnectorUnavailable, match=f"HTTP {status}"):
        await llm.answer("q", KNOWLEDGE, context())


async def test_bad_credentials_are_refused_without_echoing_the_key(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    api.post("/v1/messages").mock(
        return_value=error(401, "authentication_error", f"invalid x-api-key {KEY}")
    )
    with pytest.raises(ConnectorRejected, match="credentials refused") as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert KEY not in str(caught.value)
    assert not caught.value.retryable


async def test_a_bad_request_is_refused_with_the_provider_message(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    api.post("/v1/messages").mock(
        return_value=error(400, "invalid_request_error", "prompt is too long: 210000 tokens")
    )
    with pytest.raises(ConnectorRejected, match=r"\(HTTP 400\): prompt is too long"):
        await llm.answer("q", KNOWLEDGE, context())


async def test_a_base_url_ending_in_v1_is_a_404_that_says_to_check_base_url(
    api: respx.MockRouter,
) -> None:
    # The SDK adds /v1 itself: a base_url copied from an OpenAI-compatible set-up posts to
    # /v1/v1/messages, where the API's bare "Not Found" alone says nothing about the cause.
    api.post("/v1/v1/messages").mock(return_value=error(404, "not_found_error", "Not Found"))
    adapter = AnthropicLLM(LLMOptions(provider="anthropic", api_key=KEY, base_url=f"{BASE}/v1"))
    try:
        with pytest.raises(ConnectorRejected) as caught:
            await adapter.answer("q", KNOWLEDGE, context())
    finally:
        await adapter.aclose()
    assert str(caught.value) == (
        "anthropic: request refused (HTTP 404): Not Found (check the model name, and that "
        "base_url is the API root without /v1)"
    )


async def test_a_refusal_quoting_the_key_back_never_carries_it(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    api.post("/v1/messages").mock(
        return_value=error(400, "invalid_request_error", f"header value {KEY} is malformed")
    )
    with pytest.raises(ConnectorRejected, match=r"\(HTTP 400\): header value") as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert KEY not in str(caught.value)
    assert "[redacted] is malformed" in str(caught.value)


async def test_a_timeout_and_a_connection_failure_are_translated(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    api.post("/v1/messages").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ConnectorTimeout):
        await llm.answer("q", KNOWLEDGE, context())
    api.post("/v1/messages").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectorUnavailable, match="cannot reach"):
        await llm.answer("q", KNOWLEDGE, context())


async def test_the_model_and_max_tokens_come_from_the_options_and_temperature_is_left_out(
    api: respx.MockRouter,
) -> None:
    route = api.post("/v1/messages").respond(json=message([tool_answer(True, "ok")]))
    options = LLMOptions(
        provider="anthropic",
        api_key=KEY,
        base_url=BASE,
        model="claude-3-5-haiku-latest",
        temperature=0.4,
        max_tokens=200,
    )
    with capture_logs() as logs:
        adapter = AnthropicLLM(options)
    try:
        await adapter.answer("q", KNOWLEDGE, context())
    finally:
        await adapter.aclose()
    body = json.loads(route.calls.last.request.content)
    assert (body["model"], body["max_tokens"]) == ("claude-3-5-haiku-latest", 200)
    # The Messages API (and the SDK's `messages.create`) take no temperature: sending one would
    # get every question refused. It is left out, with one warning at build time.
    assert "temperature" not in body
    (ignored,) = [e for e in logs if e["event"] == "llm_option_ignored"]
    assert (ignored["option"], ignored["log_level"]) == ("temperature", "warning")


#: Top-level fields of a Messages API request (`POST /v1/messages`), as documented.
MESSAGES_API_FIELDS = {
    "model", "max_tokens", "messages", "system", "tools", "tool_choice", "metadata",
    "stop_sequences", "stream", "thinking", "service_tier", "container", "output_config",
    "cache_control", "inference_geo", "speed", "diagnostics",
}  # fmt: skip


async def test_the_request_has_the_documented_messages_api_shape(
    api: respx.MockRouter, llm: AnthropicLLM
) -> None:
    route = api.post("/v1/messages").respond(json=message([tool_answer(True, "At 10.")]))
    await llm.answer("When do you open?", KNOWLEDGE, context())
    request = route.calls.last.request
    assert str(request.url) == f"{BASE}/v1/messages"  # the adapter's base_url is used
    # API keys authenticate with `x-api-key`; `Authorization: Bearer` is for OAuth tokens.
    assert request.headers["x-api-key"] == KEY
    assert "authorization" not in request.headers
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", request.headers["anthropic-version"])
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert set(body) <= MESSAGES_API_FIELDS
    assert {"model", "max_tokens", "messages"} <= set(body)


async def test_a_key_from_the_environment_is_sent_as_x_api_key_too(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    route = api.post("/v1/messages").respond(json=message([tool_answer(True, "ok")]))
    adapter = AnthropicLLM(LLMOptions(provider="anthropic", base_url=BASE))
    try:
        await adapter.answer("q", KNOWLEDGE, context())
    finally:
        await adapter.aclose()
    request = route.calls.last.request
    assert request.headers["x-api-key"] == KEY
    assert "authorization" not in request.headers


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
async def test_429_reads_retry_after_ms_before_retry_after(
    api: respx.MockRouter, llm: AnthropicLLM, headers: dict[str, str], seconds: float | None
) -> None:
    api.post("/v1/messages").mock(
        return_value=error(429, "rate_limit_error", "Slow down", **headers)
    )
    with pytest.raises(ConnectorRateLimited) as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert caught.value.retry_after == seconds
