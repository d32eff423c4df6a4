"""Neither LLM SDK follows a redirect: a 307 would resend the POST, key included, elsewhere."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from respx_httpx2 import HTTPX2Mocker  # noqa: F401  (registers the "httpx2" mocker)

from botfleet.adapters.llm.anthropic import AnthropicLLM
from botfleet.adapters.llm.errors import status_error
from botfleet.adapters.llm.openai_compatible import OpenAICompatibleLLM
from botfleet.adapters.llm.options import LLMOptions
from botfleet.domain.errors import ConnectorError, ConnectorRejected
from botfleet.testing.llm import context

KEY = "sk-test-REDIRECTED-SECRET"
ELSEWHERE = "http://169.254.169.254/latest/meta-data"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx2", assert_all_called=False) as mock:
        yield mock


def redirect() -> httpx.Response:
    return httpx.Response(307, headers={"Location": ELSEWHERE})


async def test_anthropic_does_not_follow_a_307(router: respx.MockRouter) -> None:
    first = router.post("https://anthropic.llm.test/v1/messages").mock(return_value=redirect())
    other = router.route(host="169.254.169.254").mock(return_value=httpx.Response(200))
    llm = AnthropicLLM(
        LLMOptions(provider="anthropic", api_key=KEY, base_url="https://anthropic.llm.test")
    )
    try:
        with pytest.raises(ConnectorError, match="HTTP 307") as caught:
            await llm.answer("q", "- k\n", context())
    finally:
        await llm.aclose()
    assert first.called
    assert not other.called
    assert KEY not in str(caught.value)


async def test_openai_compatible_does_not_follow_a_307(router: respx.MockRouter) -> None:
    base = "https://openai.llm.test/v1"
    first = router.post(f"{base}/chat/completions").mock(return_value=redirect())
    other = router.route(host="169.254.169.254").mock(return_value=httpx.Response(200))
    llm = OpenAICompatibleLLM(
        LLMOptions(provider="openai_compatible", api_key=KEY, base_url=base, model="m")
    )
    try:
        with pytest.raises(ConnectorError, match="HTTP 307") as caught:
            await llm.answer("q", "- k\n", context())
    finally:
        await llm.aclose()
    assert first.called
    assert not other.called
    assert KEY not in str(caught.value)


async def test_a_redirect_says_where_it_pointed_and_is_not_retried(
    router: respx.MockRouter,
) -> None:
    base = "https://openai.llm.test/v1"
    moved = httpx.Response(
        308, headers={"Location": "https://user:pw@api.moved.test:8443/v1/chat?token=abc"}
    )
    first = router.post(f"{base}/chat/completions").mock(return_value=moved)
    llm = OpenAICompatibleLLM(
        LLMOptions(provider="openai_compatible", api_key=KEY, base_url=base, model="m")
    )
    try:
        with pytest.raises(ConnectorRejected) as caught:
            await llm.answer("q", "- k\n", context())
    finally:
        await llm.aclose()
    message = str(caught.value)
    assert "redirect (HTTP 308) to https://api.moved.test:8443," in message
    assert "base_url" in message
    assert "pw" not in message and "token" not in message
    assert first.call_count == 1  # a refusal: the SDK's own retries do not resend it


@pytest.mark.parametrize(
    ("location", "said"),
    [
        ("/v2/messages", "to another path on the same host"),
        ("//other.test:8443/v1?key=k", "(HTTP 307) to //other.test:8443, which"),
        ("http://[::1", "(HTTP 307), which"),
        ("", "(HTTP 307), which"),
    ],
)
def test_redirect_messages_for_odd_locations(location: str, said: str) -> None:
    error = status_error("openai", 307, None, httpx.Headers({"Location": location}))
    assert isinstance(error, ConnectorRejected)
    assert said in str(error)
