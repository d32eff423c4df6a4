"""WhatsApp webhook through the real data plane app: handshake, signatures, exactly-once,
fast acknowledgement, statuses as metrics, replies and read receipts on the Graph API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from channel_harness import (
    ACCESS_TOKEN,
    APP_SECRET,
    LONG_IDS_FLOW,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WHATSAPP_CHANNEL,
    DataPlane,
    channel_app,
    fixture,
    graph_api,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.adapters.stores import InMemoryTenantStore
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.testing.clock import FrozenClock

CONTACT = "16505551234"


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the data plane's `WebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "whatsapp")
    return bool(request.param == "fast-path")


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: signature_for(body, secret), "Content-Type": "application/json"}


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as running:
        yield running


async def post(dp: DataPlane, payload: Any, *, secret: str = APP_SECRET) -> Any:
    body = encode(payload)
    return await dp.client.post("/webhook", content=body, headers=signed(body, secret))


def text_webhook(message_id: str, text: str) -> Any:
    payload = fixture("whatsapp", "text")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message.update({"id": message_id, "text": {"body": text}})
    return payload


# ---------------------------------------------------------------- GET /webhook handshake


async def test_the_handshake_echoes_the_challenge(dp: DataPlane) -> None:
    response = await dp.client.get(
        "/webhook",
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
async def test_a_wrong_verify_token_is_403(dp: DataPlane, params: dict[str, str]) -> None:
    response = await dp.client.get("/webhook", params=params)
    assert response.status_code == 403
    assert "1" not in response.text.replace("403", "")


# ---------------------------------------------------------------- signatures


async def test_a_signed_message_is_acknowledged_then_answered_and_marked_read(
    dp: DataPlane,
) -> None:
    response = await post(dp, fixture("whatsapp", "text"))
    assert response.status_code == 200
    assert response.json() == {"received": 1, "accepted": 1, "statuses": 0}
    await dp.settle()
    sent = dp.provider.bodies(f"/v19.0/{PHONE_NUMBER_ID}/messages")
    assert [b.get("type", b.get("status")) for b in sent] == ["interactive", "read"]
    menu, receipt = sent
    assert menu["to"] == CONTACT
    assert menu["interactive"]["body"]["text"] == "Hi! What would you like to do?"
    assert receipt["message_id"] == _wamid("text")
    assert all(r.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}" for r in dp.provider.requests)
    entry = await dp.runtime.journal.get(receipt["message_id"])
    assert entry is not None
    assert entry.message.contact_name == "Sheena Nelson"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({SIGNATURE_HEADER: ""}, 401),
        ({SIGNATURE_HEADER: signature_for(b"{}", APP_SECRET)}, 403),
        ({SIGNATURE_HEADER: "sha256=" + "0" * 64}, 403),
    ],
)
async def test_unsigned_or_badly_signed_deliveries_are_refused_and_not_processed(
    dp: DataPlane, headers: dict[str, str], status: int
) -> None:
    response = await dp.client.post(
        "/webhook", content=encode(fixture("whatsapp", "text")), headers=headers
    )
    assert response.status_code == status
    await dp.settle()
    assert dp.messages_in == 0
    assert dp.provider.requests == []


async def test_a_body_signed_with_another_secret_is_refused(dp: DataPlane) -> None:
    response = await post(dp, fixture("whatsapp", "text"), secret="someone-else")
    assert response.status_code == 403
    assert dp.messages_in == 0


async def test_signed_non_json_is_a_400(dp: DataPlane) -> None:
    body = b"\xff\xfe not json"
    response = await dp.client.post("/webhook", content=body, headers=signed(body))
    assert response.status_code == 400


async def test_an_oversized_body_is_refused_before_checking(dp: DataPlane) -> None:
    body = b" " * (1024 * 1024 + 1)
    response = await dp.client.post("/webhook", content=body, headers=signed(body))
    assert response.status_code == 413


# ---------------------------------------------------------------- exactly once, fast ack


async def test_a_redelivered_webhook_is_processed_once(dp: DataPlane) -> None:
    first = await post(dp, fixture("whatsapp", "text"))
    await dp.settle()
    again = await post(dp, fixture("whatsapp", "text"))
    await dp.settle()
    assert first.json()["accepted"] == 1
    assert again.status_code == 200  # Meta must stop redelivering
    assert again.json()["accepted"] == 0
    assert len(dp.provider.bodies()) == 2  # one menu, one read receipt
    assert dp.metric("botfleet_duplicate_messages_total") == 1


async def test_the_webhook_answers_while_the_turn_is_still_running() -> None:
    provider = graph_api()
    provider.gate = asyncio.Event()  # the Graph API hangs until we open the gate
    async with channel_app(WHATSAPP_CHANNEL, provider) as dp:
        response = await asyncio.wait_for(post(dp, fixture("whatsapp", "text")), timeout=5)
        assert response.status_code == 200
        for _ in range(100):  # let the background turn reach the Graph API
            if provider.waiting:
                break
            await asyncio.sleep(0.01)
        assert provider.waiting == 1  # the reply is still on its way
        assert await dp.runtime.journal.get(_wamid("text")) is not None  # stored before the 200
        provider.gate.set()
        await dp.settle()
        assert [b.get("type", b.get("status")) for b in provider.bodies()] == [
            "interactive",
            "read",
        ]


def _wamid(name: str) -> str:
    return str(fixture("whatsapp", name)["entry"][0]["changes"][0]["value"]["messages"][0]["id"])


# ---------------------------------------------------------------- message kinds


async def test_a_pressed_button_drives_the_flow(dp: DataPlane) -> None:
    await post(dp, fixture("whatsapp", "interactive_button_reply"))
    await dp.settle()
    reply = dp.provider.bodies()[0]
    assert reply["type"] == "text"
    assert reply["text"]["body"] == "Booked, Book appointment!"


@pytest.mark.parametrize(
    ("name", "notice"),
    [
        # Content the flow cannot read is told so before the menu (flow-dsl.md, `media_text`).
        ("unsupported", [BUILT_IN_TEXTS["en"].media]),
        ("order", [BUILT_IN_TEXTS["en"].media]),
        ("sticker", [BUILT_IN_TEXTS["en"].media]),
        ("location", []),
    ],
)
async def test_other_message_types_reach_the_flow_and_get_its_fallback(
    dp: DataPlane, name: str, notice: list[str]
) -> None:
    response = await post(dp, fixture("whatsapp", name))
    assert response.status_code == 200
    await dp.settle()
    *before, menu = [body for body in dp.provider.bodies() if "type" in body]  # not receipts
    assert [body["text"]["body"] for body in before] == notice
    assert menu["interactive"]["body"]["text"] == "Hi! What would you like to do?"
    assert dp.metric("botfleet_turn_errors_total") == 0


async def test_a_reaction_reaches_the_flow_but_is_not_answered_with_the_fallback(
    dp: DataPlane,
) -> None:
    response = await post(dp, fixture("whatsapp", "reaction"))
    assert response.status_code == 200
    await dp.settle()
    assert dp.messages_in == 1  # the flow saw it (`on_type: reaction` could answer it)
    assert [b for b in dp.provider.bodies() if "type" in b] == []  # no message sent
    assert dp.metric("botfleet_turn_errors_total") == 0


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("unsupported_edit", "message:unsupported.edit"),
        # What a number also used in the WhatsApp Business app ("coexistence") gets instead.
        ("edit", "message:edit"),
        ("revoke", "message:revoke"),
    ],
)
async def test_an_edit_of_an_earlier_message_is_acknowledged_and_not_answered(
    dp: DataPlane, name: str, reason: str
) -> None:
    with structlog.testing.capture_logs() as logs:
        response = await post(dp, fixture("whatsapp", name))
    assert response.status_code == 200
    assert response.json() == {"received": 0, "accepted": 0, "statuses": 0}
    await dp.settle()
    assert dp.messages_in == 0
    assert dp.provider.requests == []  # no fallback, no read receipt
    (skipped,) = [e for e in logs if e["event"] == "whatsapp_webhook_skipped"]
    assert skipped["reasons"] == [reason]


@pytest.mark.parametrize("name", ["system", "template_status_update"])
async def test_notices_are_acknowledged_and_ignored(dp: DataPlane, name: str) -> None:
    response = await post(dp, fixture("whatsapp", name))
    assert response.status_code == 200
    await dp.settle()
    assert dp.messages_in == 0
    assert dp.provider.requests == []


async def test_messages_for_another_number_are_ignored(dp: DataPlane) -> None:
    payload = fixture("whatsapp", "text")
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    response = await post(dp, payload)
    assert response.json()["received"] == 0
    assert dp.messages_in == 0


def _for_number(number: str, message_id: str) -> dict[str, Any]:
    payload = fixture("whatsapp", "text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = number
    value["messages"][0]["id"] = message_id
    return payload


async def test_a_wrong_phone_number_id_is_warned_of_once_per_delivered_id(dp: DataPlane) -> None:
    # Only other numbers since start: the binding's id is likely wrong, and the warning names
    # the id Meta delivered for; once per id, so a busy wrong binding does not flood the log.
    with structlog.testing.capture_logs() as logs:
        await post(dp, _for_number("999", "wamid.a"))
        await post(dp, _for_number("999", "wamid.b"))
        await post(dp, _for_number("777", "wamid.c"))
    warned = [e for e in logs if e["event"] == "whatsapp_phone_number_id_mismatch"]
    assert [(e["delivered_for"], e["log_level"]) for e in warned] == [
        ("999", "warning"),
        ("777", "warning"),
    ]
    assert (
        warned[0]["configured"]
        == fixture("whatsapp", "text")["entry"][0]["changes"][0]["value"]["metadata"][
            "phone_number_id"
        ]
    )


async def test_other_numbers_of_a_shared_app_are_not_warned_of_once_ours_came(
    dp: DataPlane,
) -> None:
    with structlog.testing.capture_logs() as logs:
        await post(dp, fixture("whatsapp", "text"))  # our number: the binding is right
        await post(dp, _for_number("999", "wamid.other"))
    assert not [e for e in logs if e["event"] == "whatsapp_phone_number_id_mismatch"]
    (skipped,) = [e for e in logs if e["event"] == "whatsapp_webhook_skipped"]
    assert skipped["log_level"] == "info"


async def test_the_web_chat_api_is_not_exposed_on_a_whatsapp_tenant(dp: DataPlane) -> None:
    response = await dp.client.post("/inbound", json={"contact_id": CONTACT, "text": "hola"})
    assert response.status_code in (404, 405)
    assert (await dp.client.get("/messages", params={"contact_id": CONTACT})).status_code == 404


@pytest.mark.parametrize("mark_as_read", [True, False])
async def test_a_message_recovered_after_a_crash_is_answered_and_marked_read(
    mark_as_read: bool,
) -> None:
    """Acknowledged to Meta, then the process died before its turn: the next start runs the
    turn and sends the read receipt the webhook would have sent."""
    stores = InMemoryTenantStore()
    message = InboundMessage(
        message_id="wamid.crashed",
        contact_id=CONTACT,
        type=MessageType.TEXT,
        timestamp=FrozenClock().now(),
        text="hola",
    )
    assert await stores.journal.record(message, FrozenClock().now())
    channel = {**WHATSAPP_CHANNEL, "mark_as_read": mark_as_read}
    async with channel_app(channel, graph_api(), stores=stores) as dp:
        await dp.settle()
        sent = dp.provider.bodies(f"/v19.0/{PHONE_NUMBER_ID}/messages")
        kinds = [b.get("type", b.get("status")) for b in sent]
        assert kinds == (["interactive", "read"] if mark_as_read else ["interactive"])
        if mark_as_read:
            assert sent[1]["message_id"] == "wamid.crashed"
        entry = await dp.runtime.journal.get("wamid.crashed")
        assert entry is not None
        assert entry.status == "done"


async def test_read_receipts_can_be_turned_off() -> None:
    async with channel_app({**WHATSAPP_CHANNEL, "mark_as_read": False}, graph_api()) as dp:
        await post(dp, fixture("whatsapp", "text"))
        await dp.settle()
        assert [b.get("type") for b in dp.provider.bodies()] == ["interactive"]


# ---------------------------------------------------------------- statuses as metrics


async def test_status_callbacks_are_exposed_as_metrics(dp: DataPlane) -> None:
    for status in ("sent", "delivered", "read", "failed"):
        response = await post(dp, fixture("whatsapp", f"status_{status}"))
        assert response.json() == {"received": 0, "accepted": 0, "statuses": 1}
    exported = (await dp.client.get("/metrics")).text
    for status in ("sent", "delivered", "read", "failed"):
        assert f'botfleet_whatsapp_statuses_total{{status="{status}"}} 1.0' in exported
    assert 'botfleet_whatsapp_errors_total{event="whatsapp_template_needed"} 1.0' in exported
    assert dp.messages_in == 0


async def test_a_redelivered_failed_status_counts_its_error_once(dp: DataPlane) -> None:
    for _ in range(3):  # Meta redelivering a callback whose 200 it did not get
        response = await post(dp, fixture("whatsapp", "status_failed"))
        assert response.status_code == 200
    assert dp.metric("botfleet_whatsapp_statuses_total", status="failed") == 1
    event = "whatsapp_template_needed"
    assert dp.metric("botfleet_whatsapp_errors_total", event=event) == 1


async def test_send_outcomes_are_exposed_as_metrics(dp: DataPlane) -> None:
    await post(dp, fixture("whatsapp", "text"))
    await dp.settle()
    exported = (await dp.client.get("/metrics")).text
    assert 'botfleet_whatsapp_api_requests_total{kind="interactive",outcome="ok"} 1.0' in exported
    assert 'botfleet_whatsapp_api_requests_total{kind="read",outcome="ok"} 1.0' in exported


# ---------------------------------------------------------------- backpressure


async def test_a_full_backlog_refuses_deliveries_with_503_and_loses_nothing(dp: DataPlane) -> None:
    """While `max_backlog` messages wait for their turns, a delivery gets 503 + Retry-After
    and nothing of it is stored; Meta's redelivery later is processed once."""
    dp.runtime.max_backlog = 2
    release = asyncio.Event()
    dp.runtime.sequencer.submit(CONTACT, release.wait)  # the contact's turns queue behind it
    for n in (1, 2):
        response = await post(dp, text_webhook(f"wamid.q{n}", f"hola {n}"))
        assert response.status_code == 200
    refused = await post(dp, text_webhook("wamid.q3", "hola 3"))
    assert refused.status_code == 503
    assert refused.headers["Retry-After"].isdigit()
    assert "retry later" in refused.json()["detail"]
    assert await dp.runtime.journal.get("wamid.q3") is None  # not stored: nothing to lose
    assert dp.metric("botfleet_refused_backlog_total") == 1.0
    release.set()
    await dp.settle()
    again = await post(dp, text_webhook("wamid.q3", "hola 3"))  # Meta's retry
    assert again.status_code == 200
    await dp.settle()
    for n in (1, 2, 3):
        entry = await dp.runtime.journal.get(f"wamid.q{n}")
        assert entry is not None
        assert entry.status == "done"
    receipts = [b["message_id"] for b in dp.provider.bodies() if b.get("status") == "read"]
    assert sorted(receipts) == ["wamid.q1", "wamid.q2", "wamid.q3"]  # each once


async def test_a_delivery_of_several_messages_is_stored_whole_or_refused_whole(
    dp: DataPlane,
) -> None:
    """The backlog is checked once per delivery: a refusal stores none of its messages (so
    Meta's redelivery is all new), and one let in is stored in full even past the limit."""
    dp.runtime.max_backlog = 1
    release = asyncio.Event()
    dp.runtime.sequencer.submit(CONTACT, release.wait)

    def two(first: str, second: str) -> Any:
        payload = text_webhook(first, "hola")
        messages = payload["entry"][0]["changes"][0]["value"]["messages"]
        messages.append({**messages[0], "id": second, "text": {"body": "otra"}})
        return payload

    try:  # released whatever happens: a failing check must not leave the test hanging
        admitted = await post(dp, two("wamid.w1", "wamid.w2"))
        assert admitted.status_code == 200
        assert admitted.json()["accepted"] == 2  # past the limit of 1: let in whole
        refused = await post(dp, two("wamid.w3", "wamid.w4"))
        assert refused.status_code == 503
        assert await dp.runtime.journal.get("wamid.w3") is None
        assert await dp.runtime.journal.get("wamid.w4") is None
    finally:
        release.set()
    await dp.settle()
    again = await post(dp, two("wamid.w3", "wamid.w4"))  # Meta's retry: both new
    assert again.json()["accepted"] == 2
    await dp.settle()
    for n in (1, 2, 3, 4):
        entry = await dp.runtime.journal.get(f"wamid.w{n}")
        assert entry is not None and entry.status == "done"


async def test_quick_texts_are_answered_once_and_every_one_is_marked_read() -> None:
    echo = {
        "id": "echo_debounced",
        "initial_state": "ECHO",
        "settings": {"debounce_ms": 300},
        "states": {
            "ECHO": {
                "on_enter": [{"action": "send_text", "text": "you said: {{ message.text }}"}],
                "fallback": "ECHO",
            }
        },
    }
    async with channel_app(WHATSAPP_CHANNEL, graph_api(), flow=echo) as dp:
        for number, text in enumerate(["hi", "a haircut", "tomorrow?"]):
            response = await post(dp, text_webhook(f"wamid.quick{number}", text))
            assert response.status_code == 200
        await dp.settle()
    sent = dp.provider.bodies(f"/v19.0/{PHONE_NUMBER_ID}/messages")
    replies = [b["text"]["body"] for b in sent if b.get("type") == "text"]
    receipts = [b["message_id"] for b in sent if b.get("status") == "read"]
    assert replies == ["you said: hi\na haircut\ntomorrow?"]
    assert receipts == ["wamid.quick0", "wamid.quick1", "wamid.quick2"]


# ---------------------------------------------------------------- ids sent by position


@pytest.fixture
async def long_ids() -> AsyncIterator[DataPlane]:
    async with channel_app(WHATSAPP_CHANNEL, graph_api(), flow=LONG_IDS_FLOW) as running:
        yield running


def press_webhook(message_id: str, option_id: str, title: str) -> Any:
    """A reply button pressed: its id as the bot sent it."""
    payload = fixture("whatsapp", "interactive_button_reply")
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = message_id
    message["interactive"]["button_reply"] = {"id": option_id, "title": title}
    return payload


def sent_buttons(dp: DataPlane) -> list[str]:
    """The ids of the last reply buttons sent."""
    menus = [b for b in dp.provider.bodies() if b.get("type") == "interactive"]
    return [b["reply"]["id"] for b in menus[-1]["interactive"]["action"]["buttons"]]


def last_sent(dp: DataPlane) -> str:
    body = [b for b in dp.provider.bodies() if "type" in b][-1]
    if body["type"] == "interactive":
        return str(body["interactive"]["body"]["text"])
    return str(body["text"]["body"])


async def test_a_press_of_older_buttons_sent_by_position_picks_nothing_of_the_new_ones(
    long_ids: DataPlane,
) -> None:
    dp = long_ids
    await post(dp, text_webhook("wamid.long.1", "hi"))
    await dp.settle()
    book, cancel = sent_buttons(dp)
    assert book.startswith("#opt1.") and cancel.startswith("#opt2.")
    await post(dp, press_webhook("wamid.long.2", book, "Book"))
    await dp.settle()
    assert last_sent(dp) == "Pick a time"
    ten, eleven = sent_buttons(dp)
    assert eleven.startswith("#opt2.") and eleven != cancel
    # The contact scrolls up and presses the menu's "Cancel": not the slot list's "11:00".
    await post(dp, press_webhook("wamid.long.3", cancel, "Cancel"))
    await dp.settle()
    assert last_sent(dp) == "Pick a time"  # the slots again, nothing booked or cancelled
    assert sent_buttons(dp) == [ten, eleven]
    await post(dp, press_webhook("wamid.long.4", eleven, "11:00"))
    await dp.settle()
    assert last_sent(dp) == "Booked 11:00"


async def test_a_press_sent_by_position_before_fingerprints_is_the_last_menu_s_option(
    long_ids: DataPlane,
) -> None:
    dp = long_ids
    await post(dp, text_webhook("wamid.long.1", "hi"))
    await dp.settle()
    await post(dp, press_webhook("wamid.long.2", "#opt2", "Cancel"))
    await dp.settle()
    assert last_sent(dp) == "Cancelled"
