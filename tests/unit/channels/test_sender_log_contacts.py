"""Senders name the contact of every line about one as the runtime does (`tenant` and the keyed
hash), and never by its phone number or chat id, error texts quoting it included."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels import telegram, whatsapp
from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.adapters.channels.whatsapp import StatusUpdate, WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.contact_hash import hash_contact
from botfleet.domain.outputs import TemplateMessage, Text

FIXTURES = Path(__file__).parents[2] / "fixtures"
TENANT = "salon"
PHONE = "16505551234"
CHAT = "111111111"
TOPIC_CONTACT = "-1001234567890:topic:42"
BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
GRAPH = "https://graph.test/v19.0/106540352242922"


def fixture(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


async def no_wait(seconds: float) -> None:
    return None


def assert_named_by_hash(entries: list[dict[str, Any]], contact_id: str, *raw: str) -> None:
    assert entries
    for entry in entries:
        assert entry["tenant"] == TENANT, entry
        assert entry["contact"] == hash_contact(TENANT, contact_id), entry
    for value in raw or (contact_id,):
        assert value not in repr(entries)


# ---------------------------------------------------------------- WhatsApp


@pytest.fixture
async def wa_sender() -> AsyncIterator[WhatsAppCloudSender]:
    settings = whatsapp.whatsapp_settings(
        {
            "phone_number_id": "106540352242922",
            "access_token": "EAAG-token",
            "app_secret": "app-secret",
            "verify_token": "verify",
            "graph_base_url": "https://graph.test",
            "retry_base_s": 0,
            "max_attempts": 1,
        }
    )
    async with httpx.AsyncClient() as http:
        sender = whatsapp.build(
            settings, HttpxProvider(http), registry=CollectorRegistry(), tenant_id=TENANT
        )
        sender._sleep = no_wait
        yield sender


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=GRAPH, assert_all_mocked=True, assert_all_called=False) as router:
        router.post("/messages", name="messages")
        yield router


@pytest.mark.parametrize("answer", ["api_error_131047", "api_error_131026", "api_error_190"])
async def test_whatsapp_refusals_name_the_contact_by_its_hash(
    wa_sender: WhatsAppCloudSender, graph: respx.MockRouter, answer: str
) -> None:
    graph["messages"].mock(return_value=httpx.Response(400, json=fixture("whatsapp", answer)))
    with structlog.testing.capture_logs() as logs:
        await wa_sender.send(PHONE, [Text("hello")])
    assert [e["log_level"] for e in logs] == ["warning"]
    assert_named_by_hash(logs, PHONE)


async def test_an_unknown_graph_error_quoting_the_number_is_scrubbed(
    wa_sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    error = {"error": {"code": 999999, "message": f"Recipient {PHONE} is not allowed"}}
    graph["messages"].mock(return_value=httpx.Response(400, json=error))
    with structlog.testing.capture_logs() as logs:
        await wa_sender.send(PHONE, [Text("hello")])
    (entry,) = logs
    assert entry["event"] == "whatsapp_send_failed"
    assert entry["detail"] == f"Recipient <contact {hash_contact(TENANT, PHONE)}> is not allowed"
    assert_named_by_hash(logs, PHONE)


async def test_an_empty_template_parameter_names_the_contact_by_its_hash(
    wa_sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(
        return_value=httpx.Response(200, json=fixture("whatsapp", "api_send_ok"))
    )
    template = TemplateMessage(name="reminder", language="es", params=("", "10:00"))
    with structlog.testing.capture_logs() as logs:
        await wa_sender.send(PHONE, [template])
    (entry,) = [e for e in logs if e["event"] == "whatsapp_template_param_empty"]
    assert_named_by_hash([entry], PHONE)
    assert_named_by_hash([e for e in logs if e["event"] == "whatsapp_sent"], PHONE)


async def test_a_failed_read_receipt_names_the_contact_it_was_for(
    wa_sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(
        return_value=httpx.Response(400, json=fixture("whatsapp", "api_error_190"))
    )
    with structlog.testing.capture_logs() as logs:
        await wa_sender.mark_read("wamid.1", contact_id=PHONE)
    assert_named_by_hash(logs, PHONE)


def test_a_failed_status_callback_names_its_recipient_by_its_hash(
    wa_sender: WhatsAppCloudSender,
) -> None:
    error = GraphErrorInfo(131026, "Message undeliverable", details=f"{PHONE} is not on WhatsApp")
    with structlog.testing.capture_logs() as logs:
        wa_sender.record_status(StatusUpdate("wamid.1", "failed", PHONE, None, errors=(error,)))
    (entry,) = logs
    assert entry["event"] == "whatsapp_undeliverable"
    assert_named_by_hash(logs, PHONE)


# ---------------------------------------------------------------- Telegram


@pytest.fixture
async def tg_sender() -> AsyncIterator[TelegramBotSender]:
    settings = telegram.telegram_settings(
        {
            "bot_token": BOT_TOKEN,
            "webhook_secret": "s",
            "api_base_url": "https://tg.test",
            "retry_base_s": 0,
        }
    )
    async with httpx.AsyncClient() as http:
        yield telegram.build(
            settings, HttpxProvider(http), registry=CollectorRegistry(), tenant_id=TENANT
        )


@pytest.fixture
def bot_api() -> Iterator[respx.MockRouter]:
    base = f"https://tg.test/bot{BOT_TOKEN}"
    with respx.mock(base_url=base, assert_all_mocked=True, assert_all_called=False) as router:
        router.post("/sendMessage", name="sendMessage")
        router.post("/answerCallbackQuery", name="answerCallbackQuery")
        yield router


@pytest.mark.parametrize(
    ("answer", "event"),
    [
        ("api_error_403_blocked", "telegram_blocked_by_user"),
        ("api_error_403_kicked", "telegram_kicked"),
        ("api_error_400_chat_not_found", "telegram_chat_not_found"),
        ("api_error_401", "telegram_token_invalid"),
    ],
)
async def test_telegram_refusals_name_the_contact_by_its_hash(
    tg_sender: TelegramBotSender, bot_api: respx.MockRouter, answer: str, event: str
) -> None:
    status = fixture("telegram", answer)["error_code"]
    bot_api["sendMessage"].mock(
        return_value=httpx.Response(status, json=fixture("telegram", answer))
    )
    with structlog.testing.capture_logs() as logs:
        await tg_sender.send(CHAT, [Text("hello")])
    assert [e["event"] for e in logs] == [event]
    assert_named_by_hash(logs, CHAT)


@pytest.mark.parametrize("answer", ["api_error_400_thread_not_found", "api_error_400_topic_closed"])
async def test_a_forum_topic_s_errors_name_the_topic_contact_by_its_hash(
    tg_sender: TelegramBotSender, bot_api: respx.MockRouter, answer: str
) -> None:
    bot_api["sendMessage"].mock(return_value=httpx.Response(400, json=fixture("telegram", answer)))
    with structlog.testing.capture_logs() as logs:
        await tg_sender.send(TOPIC_CONTACT, [Text("hello")])
    assert [e["event"] for e in logs] in (
        ["telegram_topic_not_found"],
        ["telegram_topic_closed"],
    )
    assert_named_by_hash(logs, TOPIC_CONTACT, "1234567890")


async def test_a_telegram_error_quoting_the_chat_id_is_scrubbed(
    tg_sender: TelegramBotSender, bot_api: respx.MockRouter
) -> None:
    refusal = {"ok": False, "error_code": 400, "description": f"Bad Request: chat {CHAT} is odd"}
    bot_api["sendMessage"].mock(return_value=httpx.Response(400, json=refusal))
    with structlog.testing.capture_logs() as logs:
        await tg_sender.send(CHAT, [Text("hello")])
    (entry,) = logs
    assert entry["detail"] == f"Bad Request: chat <contact {hash_contact(TENANT, CHAT)}> is odd"
    assert_named_by_hash(logs, CHAT)


async def test_a_failed_callback_answer_names_the_contact_whose_button_it_was(
    tg_sender: TelegramBotSender, bot_api: respx.MockRouter
) -> None:
    refusal = {"ok": False, "error_code": 400, "description": "Bad Request: query is too old"}
    bot_api["answerCallbackQuery"].mock(return_value=httpx.Response(400, json=refusal))
    with structlog.testing.capture_logs() as logs:
        assert not await tg_sender.answer_callback_query("4382bfdwdsb323b2d9", contact_id=CHAT)
    assert_named_by_hash(logs, CHAT)
