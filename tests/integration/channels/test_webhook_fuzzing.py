"""Hypothesis against both webhook endpoints: arbitrary bytes and JSON never cause a 500 or a
processed message; valid, authenticated deliveries are never rejected."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channel_harness import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    WHATSAPP_CHANNEL,
    DataPlane,
    bot_api,
    channel_app,
    graph_api,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for

# One app per test serves every example: what we assert (nothing processed) is cumulative.
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=40,
)
# Shapes close to the real ones, so the fuzzing reaches past the top-level checks.
NEAR_WHATSAPP = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["whatsapp_business_account", "page"]),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries({"field": st.just("messages"), "value": JSON})
                    )
                }
            ),
            max_size=2,
        ),
    }
)
NEAR_TELEGRAM = st.fixed_dictionaries(
    {"update_id": st.integers() | JSON},
    optional={"message": JSON, "callback_query": JSON, "message_reaction": JSON},
)
# Header values as raw latin-1 bytes, which is what an HTTP server may receive.
HEADER_VALUES = st.none() | st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80
).map(lambda value: value.encode("latin-1"))
_ids = itertools.count(1)


@pytest.fixture
async def whatsapp() -> AsyncIterator[DataPlane]:
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as dp:
        yield dp


@pytest.fixture
async def telegram() -> AsyncIterator[DataPlane]:
    async with channel_app(TELEGRAM_CHANNEL, bot_api()) as dp:
        yield dp


def as_body(value: bytes | Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


# ---------------------------------------------------------------- WhatsApp


@FUZZ
@given(body=st.binary(max_size=2048) | JSON | NEAR_WHATSAPP, signature=HEADER_VALUES)
async def test_whatsapp_unsigned_input_is_refused_and_never_processed(
    whatsapp: DataPlane, body: bytes | Any, signature: bytes | None
) -> None:
    headers = {} if signature is None else {SIGNATURE_HEADER: signature}
    response = await whatsapp.client.post("/webhook", content=as_body(body), headers=headers)
    assert response.status_code in (400, 401, 403)
    await whatsapp.settle()
    assert whatsapp.messages_in == 0
    assert whatsapp.provider.requests == []


@FUZZ
@given(body=st.binary(max_size=2048) | JSON | NEAR_WHATSAPP)
async def test_whatsapp_signed_garbage_never_causes_a_500(
    whatsapp: DataPlane, body: bytes | Any
) -> None:
    raw = as_body(body)
    headers = {SIGNATURE_HEADER: signature_for(raw, APP_SECRET)}
    response = await whatsapp.client.post("/webhook", content=raw, headers=headers)
    assert response.status_code in (200, 400)
    await whatsapp.settle()
    assert whatsapp.metric("botfleet_turn_errors_total") == 0


@FUZZ
@given(
    text=st.text(min_size=1, max_size=500),
    name=st.text(max_size=40),
    sender=st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True),
)
async def test_whatsapp_valid_signed_messages_are_never_rejected(
    whatsapp: DataPlane, text: str, name: str, sender: str
) -> None:
    wamid = f"wamid.fuzz{next(_ids)}"
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": PHONE_NUMBER_ID},
                            "contacts": [{"profile": {"name": name}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": wamid,
                                    "timestamp": "1714986000",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    raw = json.dumps(payload).encode()
    response = await whatsapp.client.post(
        "/webhook", content=raw, headers={SIGNATURE_HEADER: signature_for(raw, APP_SECRET)}
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    await whatsapp.settle()
    entry = await whatsapp.runtime.journal.get(wamid)
    assert entry is not None
    assert entry.status == "done"
    assert entry.message.text == text


# ---------------------------------------------------------------- Telegram


@FUZZ
@given(body=st.binary(max_size=2048) | JSON | NEAR_TELEGRAM, secret=HEADER_VALUES)
async def test_telegram_input_without_the_secret_is_refused_and_never_processed(
    telegram: DataPlane, body: bytes | Any, secret: bytes | None
) -> None:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    response = await telegram.client.post("/webhook", content=as_body(body), headers=headers)
    assert response.status_code in (401, 403)
    await telegram.settle()
    assert telegram.messages_in == 0
    assert telegram.provider.requests == []


@FUZZ
@given(body=st.binary(max_size=2048) | JSON | NEAR_TELEGRAM)
async def test_telegram_authenticated_garbage_never_causes_a_500(
    telegram: DataPlane, body: bytes | Any
) -> None:
    response = await telegram.client.post(
        "/webhook", content=as_body(body), headers={SECRET_HEADER: WEBHOOK_SECRET}
    )
    assert response.status_code in (200, 400)
    await telegram.settle()
    assert telegram.metric("botfleet_turn_errors_total") == 0


@FUZZ
@given(
    text=st.text(min_size=1, max_size=500),
    chat_id=st.integers(min_value=-(10**13), max_value=10**13).filter(bool),
    first_name=st.text(max_size=30),
    pressed=st.booleans(),
)
async def test_telegram_valid_updates_are_never_rejected(
    telegram: DataPlane, text: str, chat_id: int, first_name: str, pressed: bool
) -> None:
    update_id = next(_ids)
    user = {"id": abs(chat_id), "is_bot": False, "first_name": first_name}
    chat = {"id": chat_id, "type": "private"}
    if pressed:
        update: dict[str, Any] = {
            "update_id": update_id,
            "callback_query": {
                "id": f"q{update_id}",
                "from": user,
                "message": {"message_id": 1, "chat": chat, "date": 1714986000, "text": "Menu"},
                "chat_instance": "1",
                "data": text[:64],
            },
        }
    else:
        update = {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": user,
                "chat": chat,
                "date": 1714986000,
                "text": text,
            },
        }
    response = await telegram.client.post(
        "/webhook", json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "accepted": True}
    await telegram.settle()
    assert telegram.metric("botfleet_turn_errors_total") == 0
