"""A read receipt after a turn whose reply just failed because of the token, the recipient or the
Graph API is not sent: it would fail the same way, and the failure would be logged and counted
twice. After a delivered reply, or a reply refused for its content, it is sent."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.domain.outputs import Text
from botfleet.ports.channels import SendOutcome

TO = "16505551234"
WAMID = "wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
OK: dict[str, Any] = {"messaging_product": "whatsapp", "messages": [{"id": "wamid.out"}]}
OK_REPLY = httpx.Response(200, json={"success": True})


def answer(kind: str, graph_fixture: Any) -> httpx.Response:
    """What the fake Graph API answers the turn's reply with (every attempt of it)."""
    if kind == "token":
        return httpx.Response(401, json=graph_fixture("api_error_190"))
    if kind == "recipient":
        return httpx.Response(400, json=graph_fixture("api_error_131026"))
    if kind == "5xx":
        return httpx.Response(503)
    raise httpx.ConnectError("connection refused")


def errors_counted(registry: CollectorRegistry) -> float:
    total = 0.0
    for metric in registry.collect():
        if metric.name == "botfleet_whatsapp_errors":
            total += sum(s.value for s in metric.samples if s.name.endswith("_total"))
    return total


def receipts(route: respx.Route) -> list[dict[str, Any]]:
    bodies = [json.loads(call.request.content) for call in route.calls]
    return [b for b in bodies if b.get("status") == "read"]


@pytest.mark.parametrize(
    ("kind", "event"),
    [
        ("token", "whatsapp_token_expired"),
        ("recipient", "whatsapp_undeliverable"),
        ("5xx", "whatsapp_temporary_error"),
        ("refused", "whatsapp_unreachable"),
    ],
)
async def test_a_reply_failed_for_a_reason_the_receipt_shares_skips_the_receipt(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    registry: CollectorRegistry,
    graph_fixture: Any,
    kind: str,
    event: str,
) -> None:
    receipt = sender.read_receipt(WAMID, TO)  # taken when the message arrives
    route = graph["messages"].mock(side_effect=lambda request: answer(kind, graph_fixture))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("the turn's reply")])
        attempts = route.call_count
        sent = await receipt()
    assert sent is False
    assert route.call_count == attempts  # no request for the receipt, no retries of one
    assert receipts(route) == []
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [event]
    assert errors_counted(registry) == 1
    (skipped,) = [e for e in logs if e["event"] == "whatsapp_read_receipt_skipped"]
    assert (skipped["log_level"], skipped["reason"]) == ("debug", event)


@pytest.mark.parametrize("fixture_name", ["api_error_131009", "api_error_131047"])
async def test_a_reply_refused_for_its_content_still_gets_the_receipt(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any, fixture_name: str
) -> None:
    receipt = sender.read_receipt(WAMID, TO)
    refused = httpx.Response(400, json=graph_fixture(fixture_name))
    route = graph["messages"].mock(side_effect=[refused, httpx.Response(200, json=OK)])
    assert await sender.send(TO, [Text("hi")]) == SendOutcome(sent=0, failed=1)
    assert await receipt() is True
    assert [b["message_id"] for b in receipts(route)] == [WAMID]


async def test_a_read_timeout_on_the_reply_still_gets_the_receipt(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    # Meta may have been slow once: the next call says nothing of it.
    receipt = sender.read_receipt(WAMID, TO)
    route = graph["messages"].mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=OK)]
    )
    await sender.send(TO, [Text("hi")])
    assert await receipt() is True
    assert len(receipts(route)) == 1


async def test_a_failure_from_before_the_message_arrived_does_not_skip_its_receipt(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    # An earlier turn (or a task) failed on a 5xx; this message's turn sends nothing.
    route = graph["messages"].mock(side_effect=lambda request: httpx.Response(503))
    await sender.send(TO, [Text("earlier")])
    receipt = sender.read_receipt(WAMID, TO)
    route.mock(return_value=httpx.Response(200, json=OK))
    assert await receipt() is True
    assert len(receipts(route)) == 1


async def test_a_delivered_reply_after_a_failed_one_lets_receipts_go_again(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    token = httpx.Response(401, json=graph_fixture("api_error_190"))
    route = graph["messages"].mock(side_effect=[token, httpx.Response(200, json=OK), OK_REPLY])
    await sender.send(TO, [Text("refused")])
    receipt = sender.read_receipt(WAMID, TO)
    await sender.send(TO, [Text("delivered: the token was replaced")])
    assert await receipt() is True
    assert len(receipts(route)) == 1


async def test_a_receipt_of_recovery_is_skipped_after_a_failed_send_too(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    # After a restart the runtime calls `mark_read` itself, after the recovered turn.
    route = graph["messages"].mock(
        return_value=httpx.Response(400, json=graph_fixture("api_error_131026"))
    )
    await sender.send(TO, [Text("recovered reply")])
    assert await sender.mark_read(WAMID, contact_id=TO) is False
    assert receipts(route) == []


async def test_another_contact_s_failure_does_not_skip_a_receipt(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Any
) -> None:
    receipt = sender.read_receipt(WAMID, TO)
    undeliverable = httpx.Response(400, json=graph_fixture("api_error_131026"))
    route = graph["messages"].mock(side_effect=[undeliverable, httpx.Response(200, json=OK)])
    await sender.send("34600111222", [Text("to someone else")])
    assert await receipt() is True
    assert len(receipts(route)) == 1
