"""What a WhatsApp error line says: no phone number from any text Meta sends (however it is
written, whoever it is), Graph's subcode, type and trace id under honest names, a hint for a
refused token that says why, and no "retried" for an error Meta reports in a webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender, build
from botfleet.adapters.channels.whatsapp.errors import (
    MEANINGS,
    TEMPORARY,
    TOKEN_INVALID,
    TOKEN_SUBCODES,
)
from botfleet.adapters.channels.whatsapp.parse import parse_errors, parse_webhook
from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.adapters.channels.whatsapp.webhook import deliver
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.contact_hash import hash_contact
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Text

TENANT = "clinic"
CONTACT = "34600111222"
PHONE_NUMBER_ID = "106540352242922"
GRAPH = f"https://graph.test/v19.0/{PHONE_NUMBER_ID}"
NOW = datetime(2025, 6, 9, 9, 0, tzinfo=UTC)


class NoMessagesRuntime:
    """What `deliver` needs of the data plane: a sender; no message arrives in these tests."""

    def __init__(self, sender: object) -> None:
        self.sender = sender

    async def accept(self, message: InboundMessage, *, admitted: bool = False) -> bool:
        raise AssertionError("no message expected")

    def after_turns(self, contact_id: str, job: Callable[[], Awaitable[object]]) -> None:
        raise AssertionError("no message expected")


class OtherSender:
    """A runtime's sender that is not WhatsApp's (a test fake): `deliver` logs errors alone."""


@pytest.fixture
async def clinic_sender() -> AsyncIterator[WhatsAppCloudSender]:
    settings = whatsapp_settings(
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "access_token": "EAAG-token",
            "app_secret": "app-secret",
            "verify_token": "verify",
            "graph_base_url": "https://graph.test",
            "max_attempts": 1,
        }
    )
    async with httpx.AsyncClient() as http:
        yield build(settings, HttpxProvider(http), registry=CollectorRegistry(), tenant_id=TENANT)


@pytest.fixture
def messages() -> Iterator[respx.Route]:
    with respx.mock(base_url=GRAPH, assert_all_mocked=True) as router:
        yield router.post("/messages")


def change_error(details: str, code: int = 131000) -> dict[str, Any]:
    error = {
        "code": code,
        "title": "Something went wrong",
        "message": "Something went wrong",
        "error_data": {"details": details},
    }
    return webhook_of({"errors": [error]})


def failed_status(details: str, code: int = 131000) -> dict[str, Any]:
    error = {"code": code, "title": "Something went wrong", "error_data": {"details": details}}
    status = {"id": "wamid.HBgL1", "status": "failed", "recipient_id": CONTACT, "errors": [error]}
    return webhook_of({"statuses": [status]})


def webhook_of(content: dict[str, Any]) -> dict[str, Any]:
    metadata = {"phone_number_id": PHONE_NUMBER_ID}
    value = {"messaging_product": "whatsapp", "metadata": metadata, **content}
    change = {"field": "messages", "value": value}
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [change]}],
    }


async def delivered(payload: dict[str, Any], sender: object) -> list[dict[str, Any]]:
    batch = parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=NOW)
    with structlog.testing.capture_logs() as logs:
        await deliver(batch, NoMessagesRuntime(sender), mark_read=True, received_at=NOW)
    return logs


# ---------------------------------------------------------------- numbers in error texts


async def test_a_change_error_quoting_a_number_logs_its_hash_not_the_number(
    clinic_sender: WhatsAppCloudSender,
) -> None:
    logs = await delivered(change_error("while sending to 34600111222"), clinic_sender)
    (line,) = [e for e in logs if e["event"] == "whatsapp_temporary_error"]
    # The hash the contact's own lines carry: the operator can find whose send it was.
    assert line["detail"] == f"while sending to <number {hash_contact(TENANT, CONTACT)}>"
    assert CONTACT not in repr(logs)
    assert line["code"] == 131000  # the code itself stays a number


async def test_without_a_whatsapp_sender_the_number_is_still_removed() -> None:
    logs = await delivered(change_error("while sending to +34 600 111 222"), OtherSender())
    (line,) = [e for e in logs if e["event"] == "whatsapp_temporary_error"]
    assert line["detail"] == "while sending to <number>"


@pytest.mark.parametrize("written", ["+34 600 111 222", "34600111222", "(+34) 600-111-222"])
async def test_a_failed_status_names_its_recipient_by_hash_however_the_text_writes_it(
    clinic_sender: WhatsAppCloudSender, written: str
) -> None:
    logs = await delivered(failed_status(f"Message to {written} failed"), clinic_sender)
    (line,) = [e for e in logs if e["event"] == "whatsapp_temporary_error"]
    contact = hash_contact(TENANT, CONTACT)
    assert line["contact"] == contact
    assert line["detail"] == f"Message to <contact {contact}> failed"
    assert "600" not in line["detail"]


async def test_a_number_in_an_api_error_is_removed_from_title_and_detail(
    clinic_sender: WhatsAppCloudSender, messages: respx.Route
) -> None:
    error = {
        "message": "(#131026) Receiver 34 600 111 222 is incapable of receiving this message",
        "type": "OAuthException",
        "code": 131026,
        "error_data": {"messaging_product": "whatsapp", "details": "Other number: 6505551234"},
        "fbtrace_id": "A1b2C3d4E5f6",
    }
    messages.mock(return_value=httpx.Response(400, json={"error": error}))
    with structlog.testing.capture_logs() as logs:
        await clinic_sender.send(CONTACT, [Text("hi")])
    (line,) = logs
    contact = hash_contact(TENANT, CONTACT)
    assert line["title"] == (
        f"(#131026) Receiver <contact {contact}> is incapable of receiving this message"
    )
    assert line["detail"] == f"Other number: <number {hash_contact(TENANT, '6505551234')}>"


# ---------------------------------------------------------------- hints of reported errors


async def test_a_reported_temporary_error_does_not_claim_a_retry(
    clinic_sender: WhatsAppCloudSender,
) -> None:
    for payload in (change_error("try later"), failed_status("try later")):
        logs = await delivered(payload, clinic_sender)
        (line,) = [e for e in logs if e["event"] == "whatsapp_temporary_error"]
        assert line["hint"] == TEMPORARY.reported_hint
        assert "retried" not in line["hint"]
        assert "not sent again" in line["hint"]


async def test_the_same_error_on_a_send_says_it_was_retried(
    clinic_sender: WhatsAppCloudSender, messages: respx.Route
) -> None:
    error = {"message": "Something went wrong", "type": "OAuthException", "code": 131000}
    messages.mock(return_value=httpx.Response(500, json={"error": error}))
    with structlog.testing.capture_logs() as logs:
        await clinic_sender.send(CONTACT, [Text("hi")])
    (line,) = logs
    assert line["event"] == "whatsapp_temporary_error"
    assert line["hint"] == TEMPORARY.hint
    assert line["source"] == "send"
    assert "retried" in line["hint"]


@pytest.mark.parametrize(
    "meaning",
    sorted({m for m in MEANINGS.values() if m.retryable}, key=lambda m: m.event),
    ids=lambda m: m.event,
)
def test_every_retried_meaning_has_a_hint_for_when_meta_reports_it(meaning: Any) -> None:
    assert meaning.reported_hint
    assert "retried" not in meaning.reported_hint
    assert meaning.hint_for("status") == meaning.hint_for("webhook") == meaning.reported_hint
    assert meaning.hint_for("send") == meaning.hint


# ---------------------------------------------------------------- Graph's fields


async def test_an_api_error_line_has_subcode_type_and_trace_id(
    clinic_sender: WhatsAppCloudSender, messages: respx.Route, graph_fixture: Any
) -> None:
    body = graph_fixture("api_error_190")
    messages.mock(return_value=httpx.Response(401, json=body))
    with structlog.testing.capture_logs() as logs:
        await clinic_sender.send(CONTACT, [Text("hi")])
    (line,) = logs
    error = body["error"]
    assert line["event"] == "whatsapp_token_expired"
    assert (line["code"], line["subcode"]) == (190, 463)
    assert line["error_type"] == "OAuthException"
    assert line["fbtrace_id"] == error["fbtrace_id"]
    # The title is what went wrong, not the type every API error has.
    assert line["title"] == error["message"]
    assert line["hint"] == "the token expired (subcode 463): issue a new access token"


async def test_a_status_error_has_no_type_subcode_or_trace_id(
    clinic_sender: WhatsAppCloudSender,
) -> None:
    logs = await delivered(failed_status("try later"), clinic_sender)
    (line,) = [e for e in logs if e["event"] == "whatsapp_temporary_error"]
    assert (line["subcode"], line["error_type"], line["fbtrace_id"]) == (None, None, None)
    assert line["title"] == "Something went wrong"
    assert line["source"] == "status"


@pytest.mark.parametrize(("subcode", "why"), sorted(TOKEN_SUBCODES.items()))
async def test_a_refused_token_s_hint_says_why_by_its_subcode(
    clinic_sender: WhatsAppCloudSender, messages: respx.Route, subcode: int, why: str
) -> None:
    error = {"message": "Error validating access token", "type": "OAuthException", "code": 190}
    messages.mock(
        return_value=httpx.Response(401, json={"error": {**error, "error_subcode": subcode}})
    )
    with structlog.testing.capture_logs() as logs:
        await clinic_sender.send(CONTACT, [Text("hi")])
    (line,) = logs
    assert line["event"] == "whatsapp_token_expired"  # one event (and metric label) for 190
    assert line["hint"] == f"{why} (subcode {subcode}): issue a new access token"


async def test_a_refused_token_without_a_known_subcode_gets_the_general_hint(
    clinic_sender: WhatsAppCloudSender, messages: respx.Route
) -> None:
    hints = []
    for subcode in (None, 999):
        error = {"message": "Invalid OAuth access token", "code": 190, "error_subcode": subcode}
        messages.mock(return_value=httpx.Response(401, json={"error": error}))
        with structlog.testing.capture_logs() as logs:
            await clinic_sender.send(CONTACT, [Text("hi")])
        (line,) = logs
        assert line["subcode"] == subcode
        hints.append(line["hint"])
    assert hints == [TOKEN_INVALID.hint, TOKEN_INVALID.hint]


def test_graph_s_fields_are_parsed_and_odd_values_dropped(graph_fixture: Any) -> None:
    (error,) = parse_errors(graph_fixture("api_error_190")["error"])
    assert (error.code, error.subcode, error.type) == (190, 463, "OAuthException")
    assert error.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert error.title == ""  # an API error has none; the line falls back to its message
    odd = {"code": 190, "error_subcode": True, "fbtrace_id": "x\n" + "y" * 100}
    (dropped,) = parse_errors(odd)
    assert (dropped.subcode, dropped.fbtrace_id) == (None, "")
