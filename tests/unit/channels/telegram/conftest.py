"""Fixtures of the Telegram sender tests: a sender on a mocked Bot API that records waits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram import TelegramBotSender, TelegramMetrics
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.outputs import Output

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
CHAT = "111111111"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class Sleeps:
    """Stands in for asyncio.sleep: records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def settings_raw() -> dict[str, Any]:
    return {"bot_token": TOKEN, "webhook_secret": "s", "api_base_url": "https://tg.test"}


@pytest.fixture
async def sender(
    sleeps: Sleeps, registry: CollectorRegistry, settings_raw: dict[str, Any]
) -> AsyncIterator[TelegramBotSender]:
    settings = telegram_settings(settings_raw)
    async with httpx.AsyncClient() as http:
        yield TelegramBotSender(
            settings, HttpxProvider(http), metrics=TelegramMetrics(registry), sleep=sleeps
        )


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The Bot API: routes "sendMessage" and "answerCallbackQuery" answer ok unless changed."""
    base = f"https://tg.test/bot{TOKEN}"
    with respx.mock(base_url=base, assert_all_mocked=True, assert_all_called=False) as router:
        router.post("/sendMessage", name="sendMessage").mock(
            return_value=httpx.Response(200, json=_load("api_send_ok"))
        )
        router.post("/answerCallbackQuery", name="answerCallbackQuery").mock(
            return_value=httpx.Response(200, json=_load("api_answer_ok"))
        )
        yield router


@pytest.fixture
def send(
    sender: TelegramBotSender, api: respx.MockRouter
) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    """`await send(*outputs)`: the sendMessage bodies the sender posted for them."""

    async def sent(*outputs: Output) -> list[dict[str, Any]]:
        route = api["sendMessage"]
        before = route.call_count
        await sender.send(CHAT, outputs)
        return [json.loads(c.request.content) for c in route.calls][before:]

    return sent
