"""Telegram sender: sendMessage shapes per output type (respx), degradation, retries, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram import TelegramBotSender, TelegramMetrics, build
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Output,
    Section,
    TemplateMessage,
    Text,
)

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BASE = f"https://tg.test/bot{TOKEN}"
CHAT = "111111111"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = httpx.Response(200, json=fixture("api_send_ok"))


class Sleeps:
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
async def sender(sleeps: Sleeps, registry: CollectorRegistry) -> AsyncIterator[TelegramBotSender]:
    settings = telegram_settings(
        {"bot_token": TOKEN, "webhook_secret": "s", "api_base_url": "https://tg.test"}
    )
    async with httpx.AsyncClient() as http:
        yield TelegramBotSender(settings, http, metrics=TelegramMetrics(registry), sleep=sleeps)


@pytest.fixture
def api() -> respx.MockRouter:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


async def sent(sender: TelegramBotSender, api: respx.MockRouter, *outputs: Output) -> list[Any]:
    route = api.post(f"{BASE}/sendMessage").mock(return_value=OK)
    await sender.send(CHAT, outputs)
    return bodies(route)


def keyboard(*rows: tuple[str, str]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": t, "callback_data": d}] for t, d in rows]}


# ---------------------------------------------------------------- request shapes


async def test_text_request_shape(sender: TelegramBotSender, api: respx.MockRouter) -> None:
    assert await sent(sender, api, Text("Hola <Ana> *bold*")) == [
        {"chat_id": 111111111, "text": "Hola <Ana> *bold*"}  # plain text: no parse_mode
    ]


async def test_buttons_become_an_inline_keyboard(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    menu = Buttons("What would you like?", (Option("book", "Book"), Option("cancel", "Cancel")))
    assert await sent(sender, api, menu) == [
        {
            "chat_id": 111111111,
            "text": "What would you like?",
            "reply_markup": keyboard(("Book", "book"), ("Cancel", "cancel")),
        }
    ]


async def test_a_list_is_a_keyboard_with_descriptions_under_the_body(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    menu = ListMenu(
        "Pick a day",
        "Days",
        (Section("This week", (Option("d1", "Tue 7", "3 slots"), Option("d2", "Wed 8"))),),
    )
    assert await sent(sender, api, menu) == [
        {
            "chat_id": 111111111,
            "text": "Pick a day\n\nThis week\n• Tue 7 — 3 slots\n• Wed 8",
            "reply_markup": keyboard(("Tue 7", "d1"), ("Wed 8", "d2")),
        }
    ]


async def test_a_plain_list_keeps_its_body(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    menu = ListMenu("Pick", "Days", (Section("", (Option("d1", "Tue"),)),))
    (body,) = await sent(sender, api, menu)
    assert body["text"] == "Pick"


async def test_a_template_is_sent_as_its_fallback_text(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    reminder = TemplateMessage("appointment_reminder", "es", ("Ana",), "Recuerda tu cita, Ana")
    assert await sent(sender, api, reminder) == [
        {"chat_id": 111111111, "text": "Recuerda tu cita, Ana"}
    ]


async def test_answer_callback_query_request_shape(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    route = api.post(f"{BASE}/answerCallbackQuery").mock(
        return_value=httpx.Response(200, json=fixture("api_answer_ok"))
    )
    assert await sender.answer_callback_query("4382bfdwdsb323b2d9") is True
    assert bodies(route) == [{"callback_query_id": "4382bfdwdsb323b2d9"}]


# ---------------------------------------------------------------- limits and degradation


def options(count: int) -> tuple[Option, ...]:
    return tuple(Option(f"o{n}", f"Option {n}") for n in range(1, count + 1))


async def test_eight_buttons_stay_buttons_and_nine_become_a_list(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    eight, nine = await sent(sender, api, Buttons("A", options(8)), Buttons("B", options(9)))
    assert len(eight["reply_markup"]["inline_keyboard"]) == 8
    assert len(nine["reply_markup"]["inline_keyboard"]) == 9  # as a list: still a keyboard


async def test_over_twenty_rows_become_numbered_text(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    twenty = ListMenu("Pick", "L", (Section("", options(20)),))
    many = ListMenu("Pick", "L", (Section("", options(21)),))
    as_keyboard, as_text = await sent(sender, api, twenty, many)
    assert len(as_keyboard["reply_markup"]["inline_keyboard"]) == 20
    assert "reply_markup" not in as_text
    assert "21. Option 21" in as_text["text"]


async def test_button_titles_are_cut_to_40_characters(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    (body,) = await sent(sender, api, Buttons("Pick", (Option("a", "x" * 41),)))
    (row,) = body["reply_markup"]["inline_keyboard"]
    assert row[0]["text"] == "x" * 39 + "…"


async def test_callback_data_over_64_bytes_is_sent_by_position(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    fits = "é" * 32  # 64 bytes
    too_long = "é" * 33  # 66 bytes
    (body,) = await sent(sender, api, Buttons("Pick", (Option(fits, "A"), Option(too_long, "B"))))
    data = [row[0]["callback_data"] for row in body["reply_markup"]["inline_keyboard"]]
    assert data == [fits, "#opt2"]


async def test_long_text_is_split_and_the_keyboard_rides_on_the_last_part(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    body = ("word " * 1000).strip()
    first, last = await sent(sender, api, Buttons(body, options(2)))
    assert "reply_markup" not in first
    assert len(first["text"]) <= 4096
    assert last["reply_markup"] == keyboard(("Option 1", "o1"), ("Option 2", "o2"))


async def test_an_empty_body_gets_the_placeholder(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    (body,) = await sent(sender, api, Buttons("", options(1)))
    assert body["text"] == "👇"


# ---------------------------------------------------------------- retries and errors


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_429_waits_the_retry_after_telegram_gives(
    sender: TelegramBotSender, api: respx.MockRouter, sleeps: Sleeps, registry: CollectorRegistry
) -> None:
    route = api.post(f"{BASE}/sendMessage").mock(
        side_effect=[httpx.Response(429, json=fixture("api_error_429")), OK]
    )
    await sender.send(CHAT, [Text("hi")])
    assert route.call_count == 2
    assert sleeps.waits == [3.0]
    assert sample(registry, "botfleet_telegram_retries_total") == 1
    labels = {"method": "sendMessage", "outcome": "ok"}
    assert sample(registry, "botfleet_telegram_api_requests_total", **labels) == 1


async def test_a_retry_after_over_a_minute_fails_at_once(
    sender: TelegramBotSender, api: respx.MockRouter, sleeps: Sleeps
) -> None:
    slow_down = {**fixture("api_error_429"), "parameters": {"retry_after": 3600}}
    route = api.post(f"{BASE}/sendMessage").mock(return_value=httpx.Response(429, json=slow_down))
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("hi")])
    assert route.call_count == 1
    assert sleeps.waits == []
    assert logs[0]["event"] == "telegram_rate_limited"


async def test_5xx_backs_off_then_gives_up(
    sender: TelegramBotSender, api: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = api.post(f"{BASE}/sendMessage").mock(return_value=httpx.Response(502))
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("hi")])
    assert route.call_count == 4
    assert len(sleeps.waits) == 3
    assert logs[0]["event"] == "telegram_server_error"


@pytest.mark.parametrize(
    ("name", "status", "event", "stops"),
    [
        ("api_error_403_blocked", 403, "telegram_blocked_by_user", True),
        ("api_error_400_chat_not_found", 400, "telegram_chat_not_found", True),
        ("api_error_401", 401, "telegram_token_invalid", True),
        ("api_error_400_migrated", 400, "telegram_chat_migrated", True),
    ],
)
async def test_errors_are_logged_by_meaning(
    sender: TelegramBotSender,
    api: respx.MockRouter,
    registry: CollectorRegistry,
    name: str,
    status: int,
    event: str,
    stops: bool,
) -> None:
    route = api.post(f"{BASE}/sendMessage").mock(
        return_value=httpx.Response(status, json=fixture(name))
    )
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("one"), Text("two")])
    assert route.call_count == (1 if stops else 2)
    assert logs[0]["event"] == event
    assert logs[0]["status"] == status
    assert sample(registry, "botfleet_telegram_errors_total", event=event) == 1
    if event == "telegram_chat_migrated":
        assert logs[0]["migrate_to_chat_id"] == -1001234567890


async def test_the_bot_token_never_reaches_the_logs(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture, sleeps: Sleeps
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = telegram_settings(
        {"bot_token": TOKEN, "webhook_secret": "s", "api_base_url": "https://tg.test"}
    )
    api.post(f"{BASE}/sendMessage").mock(
        side_effect=[
            OK,
            httpx.Response(401, json=fixture("api_error_401")),
            httpx.ReadTimeout(f"timeout on {BASE}/sendMessage"),
        ]
    )
    async with httpx.AsyncClient() as http:
        sender = build(settings, http)  # installs the httpx log filter
        sender._sleep = sleeps
        with structlog.testing.capture_logs() as logs:
            for text in ("a", "b", "c"):
                await sender.send(CHAT, [Text(text)])
    assert [e["event"] for e in logs] == ["telegram_token_invalid", "telegram_delivery_uncertain"]
    assert TOKEN not in repr(logs)
    assert "HTTP Request: POST https://tg.test/bot<redacted>/sendMessage" in caplog.text
    assert TOKEN not in caplog.text
