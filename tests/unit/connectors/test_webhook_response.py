"""The receiver's answer under `response`: a JSON object or array sent as JSON is kept, anything
else (another type, another JSON value, over 64 KiB, unreadable) is None and the notification
still counts as delivered; retries and idempotency are unchanged; the answer is never logged.

Requests go to an httpx mock transport: no network.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from webhook_kit import KEY, SECRET, URL, FixedClock

from botfleet.adapters.connectors.notification.answer import MAX_RESPONSE_BYTES
from botfleet.adapters.connectors.notification.webhook import WebhookConnector, build
from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.data_plane.resilience import ResilientConnector

ORDER = {"event": "order_status_requested", "contact_id": "+34600111222", "order": "A-1042"}
#: Stands for the personal data a shop's answer may hold: it must never reach a log line.
PRIVATE = "ana.lopez@example.com"
SHOP_ANSWER = {"status": "shipped", "eta": "Tuesday", "email": PRIVATE}


def answering(*answers: httpx.Response) -> tuple[WebhookConnector, list[httpx.Request]]:
    """A webhook whose receiver gives `answers` in order (the last one repeats)."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answers[min(len(requests), len(answers)) - 1]

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    connector = build(
        {"url": URL, "secret": SECRET}, clock=FixedClock(), http=HttpxProvider(client)
    )
    return connector, requests


def json_answer(value: Any, status: int = 200, content_type: str = "application/json") -> Any:
    return httpx.Response(
        status, content=json.dumps(value).encode(), headers={"Content-Type": content_type}
    )


async def test_a_json_object_answer_is_kept_under_response() -> None:
    connector, _ = answering(json_answer(SHOP_ANSWER))

    result = await connector.call("send", ORDER, idempotency_key=KEY)

    assert result["delivered"] is True
    assert result["status"] == 200
    assert result["response"] == SHOP_ANSWER


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/vnd.shop.order+json", "Application/JSON"],
)
async def test_a_json_array_is_kept_under_any_json_media_type(content_type: str) -> None:
    connector, _ = answering(json_answer([{"order": "A-1042"}], 201, content_type))

    result = await connector.call("send", ORDER, idempotency_key=KEY)

    assert (result["status"], result["response"]) == (201, [{"order": "A-1042"}])


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(200, text="ok"), id="plain text"),
        pytest.param(
            httpx.Response(
                200, text=json.dumps(SHOP_ANSWER), headers={"Content-Type": "text/plain"}
            ),
            id="JSON text not sent as JSON",
        ),
        pytest.param(
            httpx.Response(200, text="<html>thanks</html>", headers={"Content-Type": "text/html"}),
            id="html",
        ),
        pytest.param(httpx.Response(204), id="no content"),
        pytest.param(json_answer("shipped"), id="a JSON string"),
        pytest.param(json_answer(42), id="a JSON number"),
        pytest.param(json_answer(None), id="JSON null"),
        pytest.param(
            httpx.Response(
                200, text="{status: shipped", headers={"Content-Type": "application/json"}
            ),
            id="broken JSON",
        ),
        pytest.param(
            httpx.Response(200, text='{"eta": NaN}', headers={"Content-Type": "application/json"}),
            id="NaN, which the state cannot store",
        ),
        pytest.param(
            httpx.Response(
                200, content=b'{"eta": "\xff"}', headers={"Content-Type": "application/json"}
            ),
            id="not UTF-8",
        ),
        pytest.param(
            httpx.Response(
                200, text="[" * 30_000 + "]" * 30_000, headers={"Content-Type": "application/json"}
            ),
            id="nested deeper than the parser goes",
        ),
    ],
)
async def test_an_answer_that_is_not_a_json_object_or_array_gives_none(
    answer: httpx.Response,
) -> None:
    connector, _ = answering(answer)

    result = await connector.call("send", ORDER, idempotency_key=KEY)

    assert result["delivered"] is True
    assert result["response"] is None


def padded(size: int) -> bytes:
    """A JSON object of exactly `size` bytes."""
    empty = len(b'{"pad":""}')
    return json.dumps({"pad": "x" * (size - empty)}, separators=(",", ":")).encode()


async def test_an_answer_of_the_limit_is_kept_and_one_byte_more_gives_none_and_a_warning() -> None:
    at_limit, over = padded(MAX_RESPONSE_BYTES), padded(MAX_RESPONSE_BYTES + 1)
    headers = {"Content-Type": "application/json"}
    connector, _ = answering(
        httpx.Response(200, content=at_limit, headers=headers),
        httpx.Response(200, content=over, headers=headers),
    )

    with capture_logs() as logs:
        kept = await connector.call("send", ORDER, idempotency_key=KEY)
        dropped = await connector.call("send", ORDER, idempotency_key=KEY + "-2")

    assert len(kept["response"]["pad"]) == MAX_RESPONSE_BYTES - len(b'{"pad":""}')
    assert dropped["delivered"] is True
    assert dropped["response"] is None
    assert logs == [
        {
            "event": "webhook_response_too_large",
            "log_level": "warning",
            "size_bytes": MAX_RESPONSE_BYTES + 1,
            "max_bytes": MAX_RESPONSE_BYTES,
            "kept": "none",
        }
    ]


async def test_a_retried_send_keeps_its_idempotency_key_signature_and_the_final_answer() -> None:
    connector, requests = answering(httpx.Response(503), json_answer(SHOP_ANSWER))
    policy = ResiliencePolicy(backoff_initial_s=0, backoff_max_s=0, backoff_jitter_s=0)

    async def no_wait(_seconds: float) -> None:
        return None

    wrapped = ResilientConnector(connector, policy, name="notification", sleep=no_wait)

    result = await wrapped.call("send", ORDER, idempotency_key=KEY)

    assert result["response"] == SHOP_ANSWER
    assert len(requests) == 2
    assert requests[0].headers["idempotency-key"] == requests[1].headers["idempotency-key"]
    assert all(r.headers["x-botfleet-signature"].startswith("v1=") for r in requests)


async def test_the_answer_never_appears_in_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    oversized = {**SHOP_ANSWER, "pad": "x" * MAX_RESPONSE_BYTES}
    connector, _ = answering(json_answer(SHOP_ANSWER), json_answer(oversized))

    with capture_logs() as logs:
        kept = await connector.call("send", ORDER, idempotency_key=KEY)
        dropped = await connector.call("send", ORDER, idempotency_key=KEY + "-2")

    assert kept["response"]["email"] == PRIVATE
    assert dropped["response"] is None
    assert logs  # the oversized answer was reported...
    shown = repr(logs) + caplog.text
    for part in (PRIVATE, "shipped", "Tuesday", "xxxx"):  # ...without any of its content
        assert part not in shown
