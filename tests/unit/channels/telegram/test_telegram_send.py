"""Telegram sender: retry_after on 429, backoff on 5xx, errors as log events, no token in logs."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram import TelegramBotSender, build
from botfleet.adapters.channels.telegram.settings import telegram_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.contact_hash import hash_contact
from botfleet.domain.outputs import Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
CHAT = "111111111"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = httpx.Response(200, json=fixture("api_send_ok"))


class Sleeps(Protocol):  # the conftest fixture: records waits
    waits: list[float]


# ---------------------------------------------------------------- retries and errors


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_429_waits_the_retry_after_telegram_gives(
    sender: TelegramBotSender, api: respx.MockRouter, sleeps: Sleeps, registry: CollectorRegistry
) -> None:
    route = api["sendMessage"].mock(
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
    route = api["sendMessage"].mock(return_value=httpx.Response(429, json=slow_down))
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("hi")])
    assert route.call_count == 1
    assert sleeps.waits == []
    (entry,) = logs
    assert entry["event"] == "telegram_rate_limited"
    assert entry["retry_after"] == 3600
    assert "not sent" in entry["hint"]  # not "retried": the operator must know it was lost


async def test_5xx_backs_off_then_gives_up(
    sender: TelegramBotSender, api: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = api["sendMessage"].mock(return_value=httpx.Response(502))
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
    route = api["sendMessage"].mock(return_value=httpx.Response(status, json=fixture(name)))
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("one"), Text("two")])
    assert route.call_count == (1 if stops else 2)
    assert logs[0]["event"] == event
    assert logs[0]["status"] == status
    assert sample(registry, "botfleet_telegram_errors_total", event=event) == 1


async def test_a_blocked_contact_is_tried_once_logged_once_and_counted(
    sender: TelegramBotSender, api: respx.MockRouter, sleeps: Sleeps, registry: CollectorRegistry
) -> None:
    blocked = httpx.Response(403, json=fixture("api_error_403_blocked"))
    route = api["sendMessage"].mock(return_value=blocked)
    with structlog.testing.capture_logs() as logs:
        await sender.send(CHAT, [Text("one"), Text("two"), Text("three")])
    assert route.call_count == 1  # no retry, and nothing more of the turn
    assert sleeps.waits == []
    assert [(e["event"], e["log_level"]) for e in logs] == [("telegram_blocked_by_user", "warning")]
    assert sample(registry, "botfleet_telegram_errors_total", event="telegram_blocked_by_user") == 1


async def test_a_group_that_became_a_supergroup_gets_the_messages_at_its_new_id(
    sender: TelegramBotSender, api: respx.MockRouter, registry: CollectorRegistry
) -> None:
    migrated = httpx.Response(400, json=fixture("api_error_400_migrated"))
    route = api["sendMessage"].mock(side_effect=[migrated, OK, OK])
    with structlog.testing.capture_logs() as logs:
        await sender.send("-4012345678", [Text("one"), Text("two")])
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert [(b["chat_id"], b["text"]) for b in bodies] == [
        (-4012345678, "one"),
        (-1001234567890, "one"),  # the same message, not lost
        (-1001234567890, "two"),  # the rest of the turn goes there at once
    ]
    (entry,) = logs
    assert entry["event"] == "telegram_chat_migrated"
    # Both chats are contacts: named by their hashes, as the runtime names them.
    assert entry["contact"] == hash_contact("", "-4012345678")
    assert entry["new_contact"] == hash_contact("", "-1001234567890")
    assert "1234567890" not in repr(logs) and "4012345678" not in repr(logs)
    assert sample(registry, "botfleet_telegram_errors_total", event="telegram_chat_migrated") == 1


async def test_the_bot_token_never_reaches_the_logs(
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    sleeps: Sleeps,
    settings_raw: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    # httpx's own logger too: a test that ran configure_logging before set it to WARNING
    caplog.set_level(logging.DEBUG, logger="httpx")
    settings = telegram_settings(settings_raw)
    token = settings.bot_token.get_secret_value()
    api["sendMessage"].mock(
        side_effect=[
            OK,
            httpx.Response(401, json=fixture("api_error_401")),
            httpx.ReadTimeout(f"timeout on https://tg.test/bot{token}/sendMessage"),
        ]
    )
    async with httpx.AsyncClient() as http:
        # installs the httpx log filter
        sender = build(settings, HttpxProvider(http), tenant_id="salon")
        sender._sleep = sleeps
        with structlog.testing.capture_logs() as logs:
            for text in ("a", "b", "c"):
                await sender.send(CHAT, [Text(text)])
    assert [e["event"] for e in logs] == ["telegram_token_invalid", "telegram_delivery_uncertain"]
    assert token not in repr(logs)
    assert "HTTP Request: POST https://tg.test/bot<redacted>/sendMessage" in caplog.text
    assert token not in caplog.text
