"""WhatsApp sender: retries with backoff, Graph error codes as log events, no secrets in logs,
status callbacks as metrics."""

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

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender, WhatsAppMetrics
from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo, StatusUpdate
from botfleet.domain.outputs import Buttons, Option, Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "whatsapp"
TO = "16505551234"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


OK = httpx.Response(200, json=fixture("api_send_ok"))


class Sleeps(Protocol):  # the conftest fixture: records backoff waits
    waits: list[float]


# ---------------------------------------------------------------- retries and errors


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_429_is_retried_honouring_retry_after(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph["messages"].mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), OK]
    )
    await sender.send(TO, [Text("hi")])
    assert route.call_count == 2
    assert sleeps.waits == [7.0]
    assert sample(registry, "botfleet_whatsapp_retries_total") == 1
    assert sample(registry, "botfleet_whatsapp_api_requests_total", kind="text", outcome="ok") == 1


async def test_5xx_backs_off_exponentially_then_gives_up(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    sleeps: Sleeps,
    registry: CollectorRegistry,
) -> None:
    route = graph["messages"].mock(return_value=httpx.Response(503, text="upstream down"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("hi"), Text("second")])
    assert route.call_count == 4  # max_attempts, then the batch stops
    assert len(sleeps.waits) == 3
    assert all(0 <= w <= 30 for w in sleeps.waits)
    assert [e["event"] for e in logs] == ["whatsapp_temporary_error"]
    assert (
        sample(registry, "botfleet_whatsapp_api_requests_total", kind="text", outcome="error") == 1
    )


async def test_throttling_codes_are_retried_even_with_status_400(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    throttled = httpx.Response(400, json=fixture("api_error_130429"))
    route = graph["messages"].mock(side_effect=[throttled, OK])
    await sender.send(TO, [Text("hi")])
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("api_error_131047", "whatsapp_template_needed"),
        ("api_error_131026", "whatsapp_undeliverable"),
        ("api_error_190", "whatsapp_token_expired"),
    ],
)
async def test_permanent_errors_log_their_meaning_and_stop_the_batch(
    sender: WhatsAppCloudSender,
    graph: respx.MockRouter,
    registry: CollectorRegistry,
    sleeps: Sleeps,
    name: str,
    event: str,
) -> None:
    status = 401 if name.endswith("190") else 400
    route = graph["messages"].mock(return_value=httpx.Response(status, json=fixture(name)))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("first"), Text("second")])
    assert route.call_count == 1  # not retried, and "second" was not attempted
    assert sleeps.waits == []
    (entry,) = logs
    assert entry["event"] == event
    assert entry["log_level"] == "warning"
    assert entry["code"] == fixture(name)["error"]["code"]
    assert entry["hint"]
    assert sample(registry, "botfleet_whatsapp_errors_total", event=event) == 1


async def test_a_rejected_message_shape_does_not_stop_the_batch(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    rejected = httpx.Response(400, json=fixture("api_error_131009"))
    route = graph["messages"].mock(side_effect=[rejected, OK])
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Buttons("Pick", (Option("a", "A"),)), Text("after")])
    assert route.call_count == 2
    assert logs[0]["event"] == "whatsapp_invalid_request"
    assert "Button title" in logs[0]["detail"]


async def test_connection_failures_are_retried(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph["messages"].mock(side_effect=[httpx.ConnectError("refused"), OK])
    await sender.send(TO, [Text("hi")])
    assert route.call_count == 2


async def test_a_read_timeout_is_not_retried_to_avoid_duplicates(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    route = graph["messages"].mock(side_effect=httpx.ReadTimeout("slow"))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("hi")])
    assert route.call_count == 1
    assert logs[0]["event"] == "whatsapp_delivery_uncertain"


async def test_a_failed_read_receipt_is_reported_not_raised(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> None:
    graph["messages"].mock(return_value=httpx.Response(400, json=fixture("api_error_131009")))
    assert await sender.mark_read("wamid.X") is False


async def test_the_access_token_never_reaches_the_logs(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    token = sender.settings.access_token.get_secret_value()
    caplog.set_level(logging.DEBUG)
    graph["messages"].mock(
        side_effect=[
            httpx.Response(401, json=fixture("api_error_190")),
            httpx.ConnectError(f"failed for {token}"),
            httpx.ConnectError("again"),
            httpx.ConnectError("again"),
            httpx.ConnectError("again"),
            httpx.ReadTimeout(f"timeout for {token}"),
        ]
    )
    with structlog.testing.capture_logs() as logs:
        await sender.send(TO, [Text("a")])
        await sender.send(TO, [Text("b")])
        await sender.send(TO, [Text("c")])
    assert len(logs) == 3
    assert token not in repr(logs)
    assert token not in caplog.text


async def test_status_callbacks_are_counted_by_status(registry: CollectorRegistry) -> None:

    metrics = WhatsAppMetrics(registry)
    for status in ["sent", "delivered", "read", "mystery"]:
        metrics.record_status(StatusUpdate("wamid.1", status, TO, None))
    metrics.record_status(StatusUpdate("wamid.2", "read", TO, None))
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="read") == 2
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="sent") == 1
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="other") == 1
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="failed") == 0


async def test_a_redelivered_status_callback_is_counted_once(registry: CollectorRegistry) -> None:
    metrics = WhatsAppMetrics(registry)
    for _ in range(3):  # Meta redelivering the same webhook
        metrics.record_status(StatusUpdate("wamid.1", "delivered", TO, None))
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="delivered") == 1
    metrics.record_status(StatusUpdate("wamid.1", "read", TO, None))  # a new status: counted
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="read") == 1


def test_a_status_meta_keeps_redelivering_stays_remembered(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("botfleet.adapters.channels.whatsapp.metrics.SEEN_STATUSES", 2)
    metrics = WhatsAppMetrics(registry)
    error = GraphErrorInfo(131026, "Message undeliverable")
    failed = StatusUpdate("wamid.1", "failed", TO, None, errors=(error,))
    metrics.record_status(failed)
    metrics.record_status(StatusUpdate("wamid.2", "sent", TO, None))
    metrics.record_status(failed)  # redelivered: seen recently again
    metrics.record_status(StatusUpdate("wamid.3", "sent", TO, None))  # the memory is full
    metrics.record_status(failed)  # redelivered once more
    assert sample(registry, "botfleet_whatsapp_statuses_total", status="failed") == 1
    assert sample(registry, "botfleet_whatsapp_errors_total", event="whatsapp_undeliverable") == 1
