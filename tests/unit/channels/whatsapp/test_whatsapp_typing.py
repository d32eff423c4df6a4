"""WhatsApp's "typing…": Graph's documented body (a read receipt with `typing_indicator`), one
attempt, counted as kind "typing", only with `mark_as_read`, not to an unreachable contact."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.adapters.channels.whatsapp.settings import WhatsAppSettings
from botfleet.domain.outputs import Text
from botfleet.ports.channels import TypingIndicator, TypingRule

TO = "16505551234"
WAMID = "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="


def bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


async def test_typing_is_shown_with_the_documented_body(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, registry: CollectorRegistry
) -> None:
    graph["messages"].mock(return_value=httpx.Response(200, json={"success": True}))
    assert isinstance(sender, TypingIndicator)
    assert await sender.show_typing(TO, WAMID) is True
    # developers.facebook.com/documentation/business-messaging/whatsapp/typing-indicators
    assert bodies(graph["messages"]) == [
        {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": WAMID,
            "typing_indicator": {"type": "text"},
        }
    ]
    labels = {"kind": "typing", "outcome": "ok"}
    assert registry.get_sample_value("botfleet_whatsapp_api_requests_total", labels) == 1


async def test_a_failed_showing_is_tried_once_and_not_raised(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(return_value=httpx.Response(503))
    with structlog.testing.capture_logs() as logs:
        assert await sender.show_typing(TO, WAMID) is False
    assert graph["messages"].call_count == 1  # a courtesy: a late one would outlast the reply
    (line,) = [entry for entry in logs if entry["event"] == "whatsapp_temporary_error"]
    assert line["kind"] == "typing"
    assert line["hint"] == "a transient Meta error; not retried (one attempt)"


async def test_no_showing_to_a_contact_a_send_found_unreachable(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    graph["messages"].mock(return_value=httpx.Response(400, json=graph_fixture("api_error_131026")))
    await sender.send(TO, [Text("hi")])
    calls = graph["messages"].call_count
    assert await sender.show_typing(TO, WAMID) is False
    assert graph["messages"].call_count == calls


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({}, TypingRule(after_s=1.0, lasts_s=25.0)),
        ({"typing_after_ms": 2500}, TypingRule(after_s=2.5, lasts_s=25.0)),
        ({"typing_after_ms": 0}, TypingRule(after_s=0.0, lasts_s=25.0)),
        ({"typing_after_ms": None}, None),
        # Graph shows it by marking the message read: a tenant without blue ticks gets none.
        ({"mark_as_read": False}, None),
    ],
)
async def test_the_rule_follows_the_settings(
    sender: WhatsAppCloudSender, fields: dict[str, Any], rule: TypingRule | None
) -> None:
    sender.settings = sender.settings.model_copy(update=fields)
    assert sender.typing_rule(TO) == rule


def test_the_setting_is_checked() -> None:
    base = {"phone_number_id": "1", "access_token": "a", "app_secret": "b", "verify_token": "c"}
    with pytest.raises(ValueError, match="typing_after_ms"):
        WhatsAppSettings.model_validate({**base, "typing_after_ms": -1})
    with pytest.raises(ValueError, match="typing_after_ms"):
        WhatsAppSettings.model_validate({**base, "typing_after_ms": 600_000})
