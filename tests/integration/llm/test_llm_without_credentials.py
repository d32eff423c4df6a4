"""An enabled LLM whose API key is missing (a boot from the cached config, which never holds
secrets, or a credential never stored) through the composition root: the bot runs, one warning
names the missing credential, and questions get the safe text as when the provider is down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from llm_runtime_kit import MENU, SAFE, fingerprint, running_bot, tenant, texts
from respx_httpx2 import mock_sdk
from structlog.testing import capture_logs

from botfleet.testing.runtime import bootstrap_test_runtime

BASE = "https://anthropic.llm.test"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """No key anywhere; any request to the provider would be recorded."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with mock_sdk(BASE) as router:
        yield router


async def test_the_bot_boots_and_warns_once_naming_the_missing_credential(
    api: respx.MockRouter,
) -> None:
    config = tenant({"provider": "anthropic", "base_url": BASE})
    with capture_logs() as logs:
        async with bootstrap_test_runtime(config) as runtime:
            assert runtime.llm is not None
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warnings] == ["llm_disabled"]
    (warning,) = warnings
    assert warning["missing"] == "llm.api_key"
    assert warning["provider"] == "anthropic"
    assert "ANTHROPIC_API_KEY" in warning["detail"]


async def test_questions_get_the_safe_text_and_buttons_still_work(
    api: respx.MockRouter,
) -> None:
    route = api.post("/v1/messages")
    async with running_bot(tenant({"provider": "anthropic", "base_url": BASE})) as bot:
        before = fingerprint(await bot.state())
        with capture_logs() as logs:
            assert texts(await bot.say("Is there parking nearby?")) == [SAFE]
        assert fingerprint(await bot.state()) == before
        assert not route.called  # no provider call without a key
        (question,) = [e for e in logs if e["event"] == "llm_question"]
        assert question["outcome"] == "unavailable"
        assert texts(await bot.press("menu_book")) == ["Booked.", MENU]


async def test_an_openai_compatible_provider_without_a_key_degrades_the_same_way(
    api: respx.MockRouter,
) -> None:
    async with running_bot(tenant({"provider": "openai_compatible"})) as bot:
        assert texts(await bot.say("Is there parking nearby?")) == [SAFE]
