"""`openai_compatible` adapter against Chat Completions' documented HTTP shapes (respx)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from respx_httpx2 import mock_sdk

from botfleet.adapters.llm.errors import LLMRateLimited, shown_detail
from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM
from botfleet.adapters.llm.options import LLMOptions
from botfleet.adapters.llm.prompt import RULES_MARKER
from botfleet.domain.errors import ConnectorRejected, ConnectorTimeout, ConnectorUnavailable
from botfleet.testing.llm import context

#: An Ollama-style local server: the path prefix comes from the base URL.
BASE = "http://ollama.llm.test:11434/v1"
KEY = "sk-openai-test-SECRET"
KNOWLEDGE = "- Parking: Calle Mayor 20.\n"


def completion(
    content: str | None, *, prompt: int = 1200, cached: int | None = None
) -> dict[str, Any]:
    """A Chat Completions response body, as documented."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": 20,
        "total_tokens": prompt + 20,
    }
    if cached is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": cached}
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1_717_000_000,
        "model": "llama3.1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": usage,
    }


def error(status: int, code: str, text: str, **headers: str) -> httpx.Response:
    body = {"error": {"message": text, "type": code, "param": None, "code": code}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with mock_sdk(BASE) as router:
        yield router


def build(**options: Any) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        LLMOptions(provider="openai_compatible", base_url=BASE, **{"api_key": KEY, **options})
    )


@pytest.fixture
async def llm() -> AsyncIterator[OpenAICompatibleLLM]:
    adapter = build(model="llama3.1")
    yield adapter
    await adapter.aclose()


async def test_the_request_puts_rules_and_knowledge_first_and_asks_for_json(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    answer = json.dumps({"in_scope": True, "answer": "On Calle Mayor 20."})
    route = api.post("/chat/completions").respond(json=completion(answer))
    await llm.answer("Where can I park?", KNOWLEDGE, context())
    request = route.calls.last.request
    assert request.url == f"{BASE}/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body["model"] == "llama3.1"
    assert body["max_tokens"] == 512
    assert "temperature" not in body
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system"
    assert RULES_MARKER in system["content"]
    assert system["content"].endswith(f"<knowledge>\n{KNOWLEDGE.strip()}\n</knowledge>")
    assert "JSON" in system["content"]  # json_object mode requires the word in the prompt
    assert user == {"role": "user", "content": "<question>\nWhere can I park?\n</question>"}


async def test_with_no_key_stored_no_authorization_header_is_sent(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local server needs no key: none is sent, not the SDK's stand-in (docs/llm.md)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-platform-wide")  # never read from a control plane
    route = api.post("/chat/completions").respond(
        json=completion('{"in_scope": true, "answer": "ok"}')
    )
    options = LLMOptions(provider="openai_compatible", base_url=BASE, model="llama3.1")
    adapter = OpenAICompatibleLLM(options.without_environment_keys())
    try:
        answer = await adapter.answer("q", KNOWLEDGE, context())
    finally:
        await adapter.aclose()
    assert answer.text == "ok"
    request = route.calls.last.request
    assert "authorization" not in request.headers
    assert request.url == f"{BASE}/chat/completions"
    assert json.loads(request.content)["model"] == "llama3.1"


async def test_json_mode_and_temperature_follow_the_options(api: respx.MockRouter) -> None:
    route = api.post("/chat/completions").respond(
        json=completion('{"in_scope": false, "answer": ""}')
    )
    adapter = build(json_mode=False, temperature=0.2)
    try:
        await adapter.answer("q", KNOWLEDGE, context())
    finally:
        await adapter.aclose()
    body = json.loads(route.calls.last.request.content)
    assert "response_format" not in body
    assert body["temperature"] == 0.2


async def test_the_json_answer_and_the_cached_tokens_are_read(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    answer = json.dumps({"in_scope": True, "answer": "On Calle Mayor 20."})
    api.post("/chat/completions").respond(json=completion(answer, prompt=1500, cached=1024))
    result = await llm.answer("parking?", KNOWLEDGE, context())
    assert (result.text, result.in_scope) == ("On Calle Mayor 20.", True)
    assert (result.usage.input_tokens, result.usage.cached_tokens) == (476, 1024)
    assert result.usage.output_tokens == 20


@pytest.mark.parametrize(
    "content",
    [
        "Sure, park anywhere!",  # not JSON: never trusted
        '{"in_scope": "true", "answer": "x"}',
        '{"answer": "x"}',
        '{"in_scope": false, "answer": "Probably on the street"}',
        None,
    ],
)
async def test_anything_but_a_well_typed_in_scope_json_is_out_of_scope(
    api: respx.MockRouter, llm: OpenAICompatibleLLM, content: str | None
) -> None:
    api.post("/chat/completions").respond(json=completion(content))
    result = await llm.answer("q", KNOWLEDGE, context())
    assert (result.in_scope, result.text) == (False, "")
    assert result.usage.input_tokens == 1200


async def test_a_local_server_without_usage_counts_zero(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    body = completion('{"in_scope": true, "answer": "ok"}')
    del body["usage"]
    api.post("/chat/completions").respond(json=body)
    result = await llm.answer("q", KNOWLEDGE, context())
    assert result.usage.total == 0


async def test_429_is_rate_limited_and_not_retried_by_the_sdk(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    route = api.post("/chat/completions").mock(
        return_value=error(429, "rate_limit_exceeded", "Rate limit reached", **{"retry-after": "3"})
    )
    with pytest.raises(LLMRateLimited) as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert caught.value.retry_after == 3.0
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_unavailable(
    api: respx.MockRouter, llm: OpenAICompatibleLLM, status: int
) -> None:
    api.post("/chat/completions").mock(return_value=error(status, "server_error", "boom"))
    with pytest.raises(ConnectorUnavailable):
        await llm.answer("q", KNOWLEDGE, context())


async def test_a_wrong_key_is_refused_without_echoing_it(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    api.post("/chat/completions").mock(
        return_value=error(401, "invalid_api_key", f"Incorrect API key provided: {KEY}")
    )
    with pytest.raises(ConnectorRejected, match="credentials refused") as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert KEY not in str(caught.value)


async def test_an_unknown_model_is_refused_with_the_server_message(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    api.post("/chat/completions").mock(
        return_value=error(404, "model_not_found", "model 'llama3.1' not found, try pulling it")
    )
    with pytest.raises(ConnectorRejected, match=r"model 'llama3\.1' not found") as caught:
        await llm.answer("q", KNOWLEDGE, context())
    # A bare "404 page not found" (Ollama's base_url without /v1) must point at the cause too.
    assert str(caught.value).endswith(
        "(check the model name, and that base_url is the API root up to /v1)"
    )


async def test_only_a_404_s_own_words_may_be_shown_outside_the_log(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    """A 400 may quote the request (the question, the document) back: /usage shows the status
    and where to read the rest; a 404 names the model or the address, and is shown whole."""
    api.post("/chat/completions").mock(
        side_effect=[
            error(404, "model_not_found", 'model "qwen2.5-7b" not found, try pulling it first'),
            error(400, "invalid_request_error", "cannot parse: 'Where can I park my bike?'"),
        ]
    )
    with pytest.raises(ConnectorRejected) as missing:
        await llm.answer("q", KNOWLEDGE, context())
    assert shown_detail(missing.value) == str(missing.value)
    assert 'model "qwen2.5-7b" not found' in shown_detail(missing.value)
    with pytest.raises(ConnectorRejected) as refused:
        await llm.answer("Where can I park my bike?", KNOWLEDGE, context())
    assert "park my bike" in str(refused.value)  # the log line's detail keeps them
    assert shown_detail(refused.value) == (
        "openai_compatible: request refused (HTTP 400); the provider's words are in the data "
        "plane's log"
    )


async def test_a_refusal_quoting_the_key_back_never_carries_it(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    api.post("/chat/completions").mock(
        return_value=error(400, "invalid_request", f"header value {KEY} is malformed")
    )
    with pytest.raises(ConnectorRejected, match=r"\(HTTP 400\): header value") as caught:
        await llm.answer("q", KNOWLEDGE, context())
    assert KEY not in str(caught.value)
    assert "[redacted] is malformed" in str(caught.value)


async def test_a_timeout_and_a_refused_connection_are_translated(
    api: respx.MockRouter, llm: OpenAICompatibleLLM
) -> None:
    api.post("/chat/completions").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(ConnectorTimeout):
        await llm.answer("q", KNOWLEDGE, context())
    api.post("/chat/completions").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ConnectorUnavailable, match="cannot reach"):
        await llm.answer("q", KNOWLEDGE, context())
