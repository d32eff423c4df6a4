"""A reminder template with quick replies through the real data plane: on WhatsApp the Graph API
gets the header, body and button parameters, and the contact's press (Meta's `button` webhook)
routes by its payload; on the web chat the same flow sends the fallback text with the quick
replies as buttons, which route the same way. `message.timestamp` is Meta's send time on
WhatsApp, the time of reception on the web chat."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pytest
from channel_harness import (
    APP_SECRET,
    PHONE_NUMBER_ID,
    WHATSAPP_CHANNEL,
    DataPlane,
    FakeProvider,
    channel_app,
    fixture,
    graph_api,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.testing.clock import DEFAULT_START

#: The contact of tests/fixtures/whatsapp/template_quick_reply.json, whose press carries the
#: payload "confirm_yes" and the label "Yes, I'll be there".
CONTACT = "16505551234"
REMINDER_DATA = {"service": "Limpieza", "time": "10:30", "event": "e1"}

FLOW: dict[str, Any] = {
    "id": "clinic_reminders_v1",
    "initial_state": "BOOKED",
    "global_transitions": [
        {"on_payload": "confirm_yes", "target": "CONFIRMED"},
        {"on_payload": "cancel_yes", "target": "CANCELLED"},
    ],
    "states": {
        "BOOKED": {"fallback": "BOOKED"},
        "CONFIRMED": {
            "on_enter": [
                {
                    "action": "send_text",
                    "text": "See you ({{ message.text }}, {{ message.timestamp }})",
                }
            ],
            "fallback": "BOOKED",
        },
        "CANCELLED": {
            "on_enter": [{"action": "send_text", "text": "Cancelled at {{ message.timestamp }}"}],
            "fallback": "BOOKED",
        },
    },
    "tasks": {
        "remind": [
            {
                "action": "send_template",
                "name": "appointment_reminder",
                "language": "es",
                "header_param": "{{ data.service }}",
                "params": ["{{ data.time }}"],
                "button_payloads": ["confirm_yes", "cancel_yes"],
                "button_titles": ["Confirmar", "Cancelar"],
                "url_button": {"suffix": "{{ data.event }}"},
                "fallback_text": "Recordatorio: {{ data.service }} mañana a las {{ data.time }}",
            }
        ]
    },
}


@pytest.fixture(params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each channel's webhook runs with the data plane's fast path and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "whatsapp")
        monkeypatch.delitem(registry.FAST_PATHS, "webchat")
    return str(request.param)


async def test_whatsapp_sends_the_button_parameters_and_the_confirm_press_routes(
    fast_path: str,
) -> None:
    async with channel_app(WHATSAPP_CHANNEL, graph_api(), flow=FLOW) as dp:
        await dp.runtime.run_task(CONTACT, "remind", REMINDER_DATA, "job-1")
        await dp.settle()
        (reminder,) = sent(dp)
        assert reminder["type"] == "template"
        assert reminder["template"] == {
            "name": "appointment_reminder",
            "language": {"code": "es"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "Limpieza"}]},
                {"type": "body", "parameters": [{"type": "text", "text": "10:30"}]},
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "0",
                    "parameters": [{"type": "payload", "payload": "confirm_yes"}],
                },
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": "1",
                    "parameters": [{"type": "payload", "payload": "cancel_yes"}],
                },
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "2",
                    "parameters": [{"type": "text", "text": "e1"}],
                },
            ],
        }

        body = json.dumps(fixture("whatsapp", "template_quick_reply")).encode()
        signature = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
        response = await dp.client.post("/webhook", content=body, headers=signature)
        assert response.status_code == 200
        await dp.settle()

        answer, receipt = sent(dp)[1:]
        # the fixture's `timestamp` 1749416383, not the data plane's clock (2024)
        assert answer["text"]["body"] == "See you (Yes, I'll be there, 2025-06-08T20:59:43+00:00)"
        assert receipt["status"] == "read"
        state = await dp.runtime.states.load(CONTACT)
        assert state is not None
        assert state.node == "CONFIRMED"


def sent(dp: DataPlane) -> list[dict[str, Any]]:
    return dp.provider.bodies(f"/v19.0/{PHONE_NUMBER_ID}/messages")


async def test_the_web_chat_offers_the_quick_replies_as_buttons_that_route_the_same(
    fast_path: str,
) -> None:
    no_provider = FakeProvider(lambda request: pytest.fail("the web chat calls no provider"))
    async with channel_app({"type": "webchat"}, no_provider, flow=FLOW) as dp:
        await dp.runtime.run_task("web-1", "remind", REMINDER_DATA, "job-1")
        await dp.settle()
        page = await dp.client.get("/messages", params={"contact_id": "web-1"})
        (message,) = page.json()["messages"]
        assert message["output"] == {
            "type": "buttons",
            "text": "Recordatorio: Limpieza mañana a las 10:30",
            "buttons": [
                {"id": "confirm_yes", "title": "Confirmar"},
                {"id": "cancel_yes", "title": "Cancelar"},
            ],
        }
        press = {"type": "button_reply", "payload": "cancel_yes", "title": "Cancelar"}
        response = await dp.client.post("/inbound", json={"contact_id": "web-1", **press})
        assert response.status_code == 200, response.text
        received = DEFAULT_START.astimezone(UTC).isoformat()
        assert response.json()["replies"] == [{"type": "text", "text": f"Cancelled at {received}"}]
