"""Through the real data plane: a message whose reply fails because the token, the recipient or
the Graph API is at fault gets no read receipt after its turn, so the failure is one request
(with its retries), one warning and one count; a reply refused for its content does not stop
the receipt."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import structlog
from channel_harness import (
    APP_SECRET,
    WHATSAPP_CHANNEL,
    FakeProvider,
    channel_app,
    fixture,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for

OK = fixture("whatsapp", "api_send_ok")


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the data plane's `WebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "whatsapp")
    return bool(request.param == "fast-path")


def failing(status: int, body: Any = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


def refused_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def run_one_message(
    reply: Callable[[httpx.Request], httpx.Response],
) -> tuple[FakeProvider, list[dict[str, Any]], float]:
    """A text delivered to a data plane whose Graph API answers with `reply`: the requests, the
    warnings, and `botfleet_whatsapp_errors_total` summed over its events."""
    provider = FakeProvider(reply)
    body = json.dumps(fixture("whatsapp", "text")).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    with structlog.testing.capture_logs() as logs:
        async with channel_app({**WHATSAPP_CHANNEL, "max_attempts": 3}, provider) as dp:
            response = await dp.client.post("/webhook", content=body, headers=headers)
            assert response.json()["accepted"] == 1
            await dp.settle()
            counted = sum(
                sample.value
                for metric in dp.runtime.metrics.registry.collect()
                if metric.name == "botfleet_whatsapp_errors"
                for sample in metric.samples
                if sample.name.endswith("_total")
            )
    warnings = [e for e in logs if e["log_level"] == "warning"]
    return provider, warnings, counted


@pytest.mark.parametrize(
    ("reply", "event", "attempts"),
    [
        (failing(401, fixture("whatsapp", "api_error_190")), "whatsapp_token_expired", 1),
        (failing(400, fixture("whatsapp", "api_error_131026")), "whatsapp_undeliverable", 1),
        (failing(503), "whatsapp_temporary_error", 3),
        (refused_connection, "whatsapp_unreachable", 3),
    ],
    ids=["token", "recipient", "5xx", "refused"],
)
async def test_a_reply_failed_by_the_token_recipient_or_api_is_one_failure(
    reply: Callable[[httpx.Request], httpx.Response], event: str, attempts: int
) -> None:
    provider, warnings, counted = await run_one_message(reply)
    bodies = provider.bodies("/messages")
    assert len(bodies) == attempts  # the reply's attempts, and no receipt
    assert all(b.get("status") != "read" for b in bodies)
    assert [w["event"] for w in warnings] == [event]
    assert counted == 1


async def test_a_reply_refused_for_its_content_still_marks_the_message_read() -> None:
    rejected = httpx.Response(400, json=fixture("whatsapp", "api_error_131009"))

    def reply(request: httpx.Request) -> httpx.Response:
        is_receipt = json.loads(request.content).get("status") == "read"
        return httpx.Response(200, json=OK) if is_receipt else rejected

    provider, warnings, counted = await run_one_message(reply)
    kinds = [b.get("type", b.get("status")) for b in provider.bodies("/messages")]
    assert kinds == ["interactive", "read"]
    assert [w["event"] for w in warnings] == ["whatsapp_invalid_request"]
    assert counted == 1
