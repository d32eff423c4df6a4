"""Inbound Telegram cases from an audit: a callback under a keyboard of an unexpected shape, and
settings that would refuse every update (a secret or token with a line break at its end)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.telegram.parse import parse_update
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.errors import ConfigError
from botfleet.domain.messages import MessageType
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "tg-webhook-secret_1"
RECEIVED = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)


def callback(keyboard: object, *, data: str = "menu_book", query_id: str = "q1") -> Any:
    return {
        "update_id": 872000003,
        "callback_query": {
            "id": query_id,
            "from": {"id": 111111111, "is_bot": False, "first_name": "Ana"},
            "message": {
                "message_id": 1366,
                "chat": {"id": 111111111, "type": "private"},
                "date": 1714986001,
                "text": "What would you like to do?",
                "reply_markup": {"inline_keyboard": keyboard},
            },
            "chat_instance": "-5483826358837391829",
            "data": data,
        },
    }


@pytest.mark.parametrize("keyboard", [5, True, 1.5, "rows", {"a": 1}, None, [5], [[5]]])
def test_a_callback_under_a_keyboard_of_any_shape_is_still_a_pressed_button(
    keyboard: object,
) -> None:
    update = parse_update(callback(keyboard), received_at=RECEIVED)
    assert update.message is not None
    assert (update.message.type, update.message.payload) == (MessageType.BUTTON_REPLY, "menu_book")
    assert update.message.text == ""  # the label is not in that keyboard
    assert update.callback_query_id == "q1"


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"webhook_secret": SECRET + "\n"}, "channel.webhook_secret"),
        ({"bot_token": TOKEN + "\n"}, "channel.bot_token"),
    ],
)
def test_a_secret_or_token_ending_in_a_line_break_is_refused(
    change: dict[str, str], key: str
) -> None:
    # Telegram never sends such a secret (setWebhook refuses it) and the token would be in
    # every API URL: a data plane booted with one would refuse every update or fail every call.
    raw = {"bot_token": TOKEN, "webhook_secret": SECRET, **change}
    with pytest.raises(ConfigError) as caught:
        telegram_settings(raw, source="tenants/bella.yaml")
    assert key in str(caught.value)
    assert SECRET not in str(caught.value)
    assert TOKEN not in str(caught.value)


# ---------------------------------------------------------------- through the data plane

CHANNEL: dict[str, Any] = {
    "type": "telegram",
    "bot_token": TOKEN,
    "webhook_secret": SECRET,
    "api_base_url": "https://telegram.test",
    "retry_base_s": 0,
}


@pytest.fixture(params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "telegram")
    return str(request.param)


@pytest.fixture
async def calls() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
async def dp(fast_path: str, calls: list[tuple[str, dict[str, Any]]]) -> AsyncIterator[ChatClient]:
    def bot_api(request: httpx.Request) -> httpx.Response:
        calls.append((request.url.path.rsplit("/", 1)[-1], json.loads(request.content)))
        result: Any = True
        if request.url.path.endswith("/sendMessage"):
            result = {"message_id": 1, "date": 0, "chat": {"id": 111111111, "type": "private"}}
        return httpx.Response(200, json={"ok": True, "result": result})

    config = make_tenant_config(channel=CHANNEL)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(bot_api)) as http,
        running_app(config, http=HttpxProvider(http)) as app,
    ):
        yield app


async def test_an_odd_keyboard_is_acknowledged_answered_and_processed(
    dp: ChatClient, calls: list[tuple[str, dict[str, Any]]]
) -> None:
    response = await dp.http.post(
        "/webhook", json=callback(7, query_id="q7"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200  # was a 500: Telegram would redeliver it again and again
    assert response.json() == {"ok": True, "accepted": True}
    await dp.runtime.sequencer.drain()
    methods = [method for method, _ in calls]
    assert methods[0] == "answerCallbackQuery"
    assert "sendMessage" in methods
