"""Inbound WhatsApp cases from an audit: username users (business-scoped user ids), group
messages, and the subscription handshake refusing a wrong token whatever else it carries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog.testing

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.adapters.channels.whatsapp.parse import parse_webhook
from botfleet.adapters.channels.whatsapp.payloads import (
    message_payloads,
    read_receipt_payload,
    template_payload,
    text_payload,
)
from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.errors import ConfigError
from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Buttons, Option, TemplateMessage, Text
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app

PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "meta-app-secret-1"
VERIFY_TOKEN = "verify-me-1"
RECEIVED = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
#: A business-scoped user id, as Meta sends it for a user with a username (no phone number).
BSUID = "US.13491208655302741918"
PARENT_BSUID = "US.ENT.11815799212886844830"
PHONE = "16505551234"


def webhook(*messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> Any:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": contacts if contacts is not None else [],
        "messages": list(messages),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def text(message_id: str, body: str, **sender: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "timestamp": "1749416383",
        "type": "text",
        "text": {"body": body},
        **sender,
    }


def parse(payload: Any) -> Any:
    return parse_webhook(payload, phone_number_id=PHONE_NUMBER_ID, received_at=RECEIVED)


# ---------------------------------------------------------------- usernames (BSUID)


def test_a_user_with_a_username_and_no_phone_number_is_a_contact_by_user_id() -> None:
    contacts = [{"profile": {"name": "Sheena", "username": "@sheena"}, "user_id": BSUID}]
    batch = parse(webhook(text("wamid.U1", "hola", from_user_id=BSUID), contacts=contacts))
    (message,) = batch.messages
    assert message.contact_id == BSUID
    assert message.contact_name == "Sheena"
    assert (message.type, message.text) == (MessageType.TEXT, "hola")
    assert batch.skipped == 0


def test_the_phone_number_stays_the_contact_when_meta_sends_both() -> None:
    contacts = [{"profile": {"name": "Sheena"}, "wa_id": PHONE, "user_id": BSUID}]
    batch = parse(
        webhook(
            text("wamid.U2", "hola", **{"from": PHONE, "from_user_id": BSUID}), contacts=contacts
        )
    )
    (message,) = batch.messages
    assert message.contact_id == PHONE  # existing conversations keep their contact
    assert message.contact_name == "Sheena"


def test_the_profile_name_is_found_by_user_id_when_the_contact_has_no_wa_id() -> None:
    contacts = [{"profile": {"name": "Sheena"}, "user_id": BSUID}]
    batch = parse(
        webhook(
            text("wamid.U3", "hola", **{"from": PHONE, "from_user_id": BSUID}), contacts=contacts
        )
    )
    (message,) = batch.messages
    assert (message.contact_id, message.contact_name) == (PHONE, "Sheena")


def test_a_message_without_any_sender_id_is_still_skipped() -> None:
    batch = parse(webhook(text("wamid.U4", "hola")))
    assert batch.messages == ()
    assert batch.skipped == 1


@pytest.mark.parametrize("recipient", [BSUID, PARENT_BSUID])
def test_replies_to_a_user_id_are_addressed_with_recipient(recipient: str) -> None:
    for body in (
        text_payload(recipient, "hi"),
        template_payload(recipient, TemplateMessage(name="reminder", language="en")),
    ):
        assert body["recipient"] == recipient
        assert "to" not in body
        assert body["messaging_product"] == "whatsapp"


def test_replies_to_a_phone_number_keep_to() -> None:
    body = text_payload(PHONE, "hi")
    assert body["to"] == PHONE
    assert "recipient" not in body
    assert "to" not in read_receipt_payload("wamid.X")


# ---------------------------------------------------------------- groups


def test_a_group_message_is_not_taken_for_a_private_one() -> None:
    group = {
        **text("wamid.G1", "what do you all think?", **{"from": PHONE}),
        "group_id": "Y2FwaV9n",
    }
    batch = parse(webhook(group, text("wamid.P1", "hola", **{"from": PHONE})))
    assert [m.message_id for m in batch.messages] == ["wamid.P1"]
    assert batch.skipped == 1
    assert "group_message" in batch.notes


# ---------------------------------------------------------------- through the data plane


CHANNEL: dict[str, Any] = {
    "type": "whatsapp",
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": "EAAG-access-token-1",
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
    "graph_base_url": "https://graph.test",
    "retry_base_s": 0,
}
FLOW: dict[str, Any] = {
    "id": "menu_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [{"action": "send_text", "text": "Hi {{ message.text }}"}],
            "fallback": "MENU",
        }
    },
}


@pytest.fixture(params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "whatsapp")
    return str(request.param)


class Graph:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        answer = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT"}]}
        return httpx.Response(200, json=answer)


@pytest.fixture
async def graph() -> Graph:
    return Graph()


@pytest.fixture
async def dp(fast_path: str, graph: Graph) -> AsyncIterator[ChatClient]:
    config = make_tenant_config(FLOW, channel=CHANNEL)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(graph)) as http,
        running_app(config, http=HttpxProvider(http)) as app,
    ):
        yield app


async def test_a_username_user_is_answered_and_marked_read(dp: ChatClient, graph: Graph) -> None:
    contacts = [{"profile": {"name": "Sheena", "username": "@sheena"}, "user_id": BSUID}]
    body = json.dumps(webhook(text("wamid.U9", "there", from_user_id=BSUID), contacts=contacts))
    signature = signature_for(body.encode(), APP_SECRET)
    response = await dp.http.post("/webhook", content=body, headers={SIGNATURE_HEADER: signature})
    assert response.status_code == 200
    assert response.json() == {"received": 1, "accepted": 1, "statuses": 0}
    await dp.runtime.sequencer.drain()
    reply, receipt = graph.bodies
    assert reply["recipient"] == BSUID
    assert "to" not in reply
    assert reply["text"]["body"] == "Hi there"
    assert receipt == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.U9"}


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "<b>x</b>" * 40},
        {"hub.mode": "subscribe", "hub.challenge": "<b>x</b>" * 40},
    ],
)
async def test_a_wrong_token_is_403_whatever_the_challenge(
    dp: ChatClient, params: dict[str, str]
) -> None:
    response = await dp.http.get("/webhook", params=params)
    assert response.status_code == 403
    assert "<b>" not in response.text  # nothing of an unauthenticated request is echoed


async def test_the_right_token_with_an_oversized_challenge_is_still_refused(
    dp: ChatClient,
) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "9" * 300}
    response = await dp.http.get("/webhook", params=params)
    assert response.status_code == 422
    ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    response = await dp.http.get("/webhook", params=ok)
    assert (response.status_code, response.text) == (200, "1158201444")


def test_buttons_to_a_user_id_are_addressed_with_recipient() -> None:
    menu = Buttons("Pick", (Option("a", "A"), Option("b", "B")))
    for output in (menu, Text("x" * 5000)):
        for body in message_payloads(BSUID, output):
            assert body["recipient"] == BSUID
            assert "to" not in body


# ---------------------------------------------------------------- secrets copied with a blank


@pytest.mark.parametrize("key", ["app_secret", "verify_token", "access_token"])
@pytest.mark.parametrize("blank", ["\n", " ", "\t"])
def test_a_secret_with_a_blank_at_an_end_is_refused_naming_the_key(key: str, blank: str) -> None:
    # An app secret ending in a line break (a YAML block scalar, a copied line) booted fine and
    # then refused every delivery as wrongly signed, 403 after 403, with nothing to say why.
    raw = {**CHANNEL, key: CHANNEL[key] + blank}
    with pytest.raises(ConfigError) as raised:
        whatsapp_settings(raw, source="tenants/bella.yaml")
    assert raised.value.key == f"channel.{key}"
    assert CHANNEL[key] not in str(raised.value)


@pytest.mark.parametrize(
    ("signature", "header"),
    [
        (signature_for(b"another body", APP_SECRET), "mismatch"),  # another secret or body
        ("sha256=" + "0" * 10, "malformed"),  # changed on the way
    ],
)
async def test_a_refused_signature_says_whether_it_was_malformed(
    dp: ChatClient, signature: str, header: str
) -> None:
    body = json.dumps(webhook(text("wamid.S1", "hi")))
    with structlog.testing.capture_logs() as logs:
        response = await dp.http.post(
            "/webhook", content=body, headers={SIGNATURE_HEADER: signature}
        )
    assert response.status_code == 403
    refused = [line for line in logs if line["event"] == "whatsapp_signature_invalid"]
    assert [line["header"] for line in refused] == [header]
