"""The `webhook` notification connector: body and headers, the signature as the docs verify it,
idempotency ids, answers by status through the resilience layer, secrets kept out of sight.

Requests go to an httpx mock transport (`webhook_kit.Receiver`): no network.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from webhook_kit import (
    KEY,
    NOW,
    SECRET,
    TOKEN,
    URL,
    Answer,
    FixedClock,
    Receiver,
    documented_verifier,
    webhook,
)

from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.data_plane.resilience import BreakerState, ResilientConnector
from botfleet.data_plane.resilience.breaker import CircuitOpen
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
    UnknownOperation,
)

HANDOFF = {
    "event": "handoff_requested",
    "contact_id": "+34600111222",
    "name": "Ana",
    "reason": "A question about my invoice",
    "visits": 3,
    "tags": ["vip"],
}


class Sleeps:
    """The resilience layer's sleep: records the waits, never waits."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def resilient(connector: Any, sleeps: Sleeps | None = None, **policy: Any) -> ResilientConnector:
    defaults: dict[str, Any] = {"backoff_initial_s": 0.1, "backoff_max_s": 0.5}
    return ResilientConnector(
        connector,
        ResiliencePolicy(**{**defaults, **policy}),
        name="notification",
        sleep=sleeps or Sleeps(),
    )


def sent_json(receiver: Receiver, index: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(receiver.requests[index].content)
    return body


# ---------------------------------------------------------------- body and headers


async def test_send_posts_the_notification_as_json_and_answers_delivered() -> None:
    connector, receiver = webhook()

    result = await connector.call("send", HANDOFF, idempotency_key=KEY)

    notification_id = hashlib.sha256(KEY.encode()).hexdigest()[:32]
    # The receiver answers "ok" without a JSON content type: no response is kept.
    assert result == {"delivered": True, "status": 200, "id": notification_id, "response": None}
    (request,) = receiver.requests
    assert request.method == "POST"
    assert str(request.url) == URL
    assert sent_json(receiver) == {
        "id": notification_id,
        "event": "handoff_requested",
        "tenant_id": "salon",
        "contact_id": "+34600111222",
        "sent_at": "2024-05-06T07:00:00Z",
        "data": {"name": "Ana", "reason": "A question about my invoice", "visits": 3,
                 "tags": ["vip"]},
    }  # fmt: skip
    # Compact UTF-8, keys in this order: what is signed is what a receiver reads.
    assert request.content.startswith(b'{"id":"')
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["idempotency-key"] == notification_id
    assert request.headers["x-botfleet-event"] == "handoff_requested"
    assert request.headers["x-botfleet-timestamp"] == str(int(NOW.timestamp()))
    assert request.headers["user-agent"] == "botfleet-webhook/1"
    assert "x-botfleet-signature" not in request.headers  # no secret, no signature
    assert "authorization" not in request.headers


async def test_text_has_its_own_place_and_non_ascii_is_sent_as_utf8() -> None:
    connector, receiver = webhook()

    await connector.call(
        "send",
        {"event": "booking.created", "text": "Reserva: corte · mañana", "slot": "2024-05-07_1000"},
        idempotency_key=KEY,
    )

    body = sent_json(receiver)
    assert body["text"] == "Reserva: corte · mañana"
    assert body["data"] == {"slot": "2024-05-07_1000"}
    assert body["contact_id"] is None
    assert "mañana".encode() in receiver.requests[0].content


async def test_a_key_of_another_shape_gives_no_tenant_and_no_key_a_random_id() -> None:
    connector, receiver = webhook()

    first = await connector.call("send", {"event": "x"}, idempotency_key="")
    second = await connector.call("send", {"event": "x"}, idempotency_key="")
    await connector.call("send", {"event": "x"}, idempotency_key="no-colon-here")

    assert first["id"] != second["id"]
    assert sent_json(receiver, 2)["tenant_id"] is None


async def test_slack_format_sends_text_with_contact_input_escaped() -> None:
    connector, receiver = webhook(format="slack")

    await connector.call(
        "send",
        {**HANDOFF, "reason": "<!channel> call me & <https://evil.example|click>"},
        idempotency_key=KEY,
    )
    await connector.call(
        "send", {"event": "handoff_requested", "text": "Ana: *urgent* <@U123>"}, idempotency_key=KEY
    )

    default = sent_json(receiver, 0)
    assert list(default) == ["text"]
    assert default["text"] == (
        "*handoff_requested* (contact +34600111222)\n"
        "• name: Ana\n"
        "• reason: &lt;!channel&gt; call me &amp; &lt;https://evil.example|click&gt;\n"
        "• visits: 3\n"
        '• tags: ["vip"]'
    )
    assert sent_json(receiver, 1) == {"text": "Ana: *urgent* &lt;@U123&gt;"}
    # Still identified for the receiver's dedupe.
    assert receiver.requests[1].headers["idempotency-key"] == default_id()


def default_id() -> str:
    return hashlib.sha256(KEY.encode()).hexdigest()[:32]


async def test_a_long_slack_text_is_cut() -> None:
    connector, receiver = webhook(format="slack")

    await connector.call("send", {"event": "x", "text": "a" * 10_000}, idempotency_key=KEY)

    text = sent_json(receiver)["text"]
    assert len(text) == 4000
    assert text.endswith("…")


async def test_token_goes_in_the_authorization_header_or_the_one_named() -> None:
    bearer, bearer_receiver = webhook(token=TOKEN, headers={"X-Shop": "downtown"})
    raw, raw_receiver = webhook(token=TOKEN, token_header="X-Api-Key")

    await bearer.call("send", {"event": "x"}, idempotency_key=KEY)
    await raw.call("send", {"event": "x"}, idempotency_key=KEY)

    assert bearer_receiver.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert bearer_receiver.requests[0].headers["x-shop"] == "downtown"
    assert raw_receiver.requests[0].headers["x-api-key"] == TOKEN
    assert "authorization" not in raw_receiver.requests[0].headers


# ---------------------------------------------------------------- signature


async def test_the_signature_verifies_with_the_documented_snippet() -> None:
    verify = documented_verifier()
    connector, receiver = webhook(secret=SECRET)

    await connector.call("send", HANDOFF, idempotency_key=KEY)

    request = receiver.requests[0]
    headers = {
        "X-Botfleet-Timestamp": request.headers["x-botfleet-timestamp"],
        "X-Botfleet-Signature": request.headers["x-botfleet-signature"],
    }
    sent_at = NOW.timestamp()
    assert headers["X-Botfleet-Signature"].startswith("v1=")
    assert verify(SECRET, headers, request.content, now=sent_at + 60)
    # A changed body, another secret, a replay long after, a missing header: refused.
    tampered = request.content.replace(b"Ana", b"Eve")
    assert not verify(SECRET, headers, tampered, now=sent_at)
    assert not verify("another-secret", headers, request.content, now=sent_at)
    assert not verify(SECRET, headers, request.content, now=sent_at + 3600)
    assert not verify(SECRET, {"X-Botfleet-Timestamp": headers["X-Botfleet-Timestamp"]},
                      request.content, now=sent_at)  # fmt: skip
    # The timestamp is signed too: moving it forward breaks the signature.
    moved = {**headers, "X-Botfleet-Timestamp": str(int(sent_at) + 100)}
    assert not verify(SECRET, moved, request.content, now=sent_at + 100)


async def test_slack_requests_are_signed_too() -> None:
    verify = documented_verifier()
    connector, receiver = webhook(secret=SECRET, format="slack")

    await connector.call("send", HANDOFF, idempotency_key=KEY)

    request = receiver.requests[0]
    headers = {name: request.headers[name] for name in ("X-Botfleet-Timestamp",
                                                        "X-Botfleet-Signature")}  # fmt: skip
    assert verify(SECRET, headers, request.content, now=NOW.timestamp())


# ---------------------------------------------------------------- idempotency and retries


async def test_a_503_is_retried_with_the_same_idempotency_key_then_delivered() -> None:
    receiver = Receiver([Answer(503), Answer(200)])
    connector, _ = webhook(receiver, secret=SECRET)
    sleeps = Sleeps()

    result = await resilient(connector, sleeps).call("send", HANDOFF, idempotency_key=KEY)

    assert result["delivered"] is True
    assert len(receiver.requests) == 2
    keys = {r.headers["idempotency-key"] for r in receiver.requests}
    ids = {json.loads(r.content)["id"] for r in receiver.requests}
    assert keys == ids == {default_id()}
    assert len(sleeps.waits) == 1  # one backoff


async def test_the_id_is_the_same_when_the_message_is_processed_again_and_differs_per_action() -> (
    None
):
    clock = FixedClock()
    connector, receiver = webhook(clock=clock)

    await connector.call("send", HANDOFF, idempotency_key=KEY)
    clock.at = NOW.replace(minute=5)  # the same message again after a crash, later
    await connector.call("send", HANDOFF, idempotency_key=KEY)
    await connector.call("send", HANDOFF, idempotency_key=KEY.replace("/0", "/1"))

    ids = [r.headers["idempotency-key"] for r in receiver.requests]
    assert ids[0] == ids[1] != ids[2]
    assert sent_json(receiver, 1)["sent_at"] == "2024-05-06T07:05:00Z"  # this attempt's time


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_server_errors_and_408_are_retryable(status: int) -> None:
    connector, _ = webhook(Receiver([Answer(status)]))

    with pytest.raises(ConnectorUnavailable, match=f"HTTP {status}"):
        await connector.call("send", HANDOFF, idempotency_key=KEY)


async def test_a_400_is_refused_once_without_retry_nor_breaker_count() -> None:
    receiver = Receiver([Answer(400)])
    connector, _ = webhook(receiver)
    wrapped = resilient(connector, failure_threshold=1)

    with pytest.raises(ConnectorRejected) as refused:
        await wrapped.call("send", HANDOFF, idempotency_key=KEY)

    assert len(receiver.requests) == 1
    # The call is not named: `connector_failed` names it once (`notification.send: rejected
    # the webhook refused ...`).
    assert str(refused.value) == (
        "the webhook refused the notification (HTTP 400): check that the "
        "receiver accepts this body (format: json or slack)"
    )
    assert wrapped.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "check the token"),
        (403, "check the token or the signing secret, or whether the hook was disabled"),
        (404, "check the url: the hook may have been deleted"),
        (410, "set a new url"),
        (418, "(HTTP 418)"),
        (301, "redirect (HTTP 301), which is not followed"),
        (308, "set url to the address it points to"),
    ],
)
async def test_other_4xx_and_redirects_are_refusals_with_a_hint(status: int, hint: str) -> None:
    connector, _ = webhook(Receiver([Answer(status, headers={"location": URL + "/moved"})]))

    with pytest.raises(ConnectorRejected) as refused:
        await connector.call("send", HANDOFF, idempotency_key=KEY)

    assert hint in str(refused.value)
    assert "hooks.example.com" not in str(refused.value)


async def test_a_429_waits_what_retry_after_asks_then_retries() -> None:
    limited_answer = Answer(429, headers={"retry-after": "2"})
    receiver = Receiver([limited_answer, limited_answer, Answer(200)])
    connector, _ = webhook(receiver)
    sleeps = Sleeps()

    with pytest.raises(ConnectorRateLimited) as limited:
        await connector.call("send", HANDOFF, idempotency_key=KEY)
    assert limited.value.retry_after == 2.0

    result = await resilient(connector, sleeps).call("send", HANDOFF, idempotency_key=KEY)
    assert result["status"] == 200
    assert sleeps.waits == [2.0]
    assert len(receiver.requests) == 3


async def test_without_an_idempotency_key_send_is_not_retried() -> None:
    receiver = Receiver([Answer(503), Answer(200)])
    connector, _ = webhook(receiver)

    with pytest.raises(ConnectorUnavailable):
        await resilient(connector).call("send", HANDOFF, idempotency_key="")

    assert len(receiver.requests) == 1


async def test_timeouts_open_the_breaker_and_then_nothing_is_sent() -> None:
    receiver = Receiver([Answer(delay_s=5.0)])
    connector, _ = webhook(receiver)
    wrapped = resilient(connector, timeout_s=0.05, max_attempts=1, failure_threshold=2)

    for _ in range(2):
        with pytest.raises(ConnectorTimeout, match=r"^the attempt took longer than 0.05s$"):
            await wrapped.call("send", HANDOFF, idempotency_key=KEY)
    assert wrapped.breaker.state is BreakerState.OPEN

    with pytest.raises(CircuitOpen):
        await wrapped.call("send", HANDOFF, idempotency_key=KEY)
    assert len(receiver.requests) == 2  # the open breaker sent nothing


@pytest.mark.parametrize(
    ("error", "expected", "detail"),
    [
        (httpx.ConnectError, ConnectorUnavailable, "could not be reached (ConnectError)"),
        (httpx.ReadTimeout, ConnectorTimeout, "did not answer within 10s"),
        (httpx.RemoteProtocolError, ConnectorUnavailable, "connection failed before"),
    ],
)
async def test_transport_failures_are_retryable_and_name_no_url(
    error: type[httpx.HTTPError], expected: type[ConnectorError], detail: str
) -> None:
    connector, _ = webhook(Receiver([Answer(error=error)]))

    with pytest.raises(expected) as failed:
        await connector.call("send", HANDOFF, idempotency_key=KEY)

    assert failed.value.retryable
    assert detail in str(failed.value)
    assert "hooks.example.com" not in str(failed.value)
    assert failed.value.__cause__ is None and failed.value.__suppress_context__


# ---------------------------------------------------------------- params and operations


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({}, "param 'event' is missing"),
        ({"event": ""}, "param 'event' is missing"),
        ({"event": "handoff requested"}, "param 'event' must be a name"),
        ({"event": 3}, "param 'event' must be a name"),
        ({"event": "x\r\nX-Injected: 1"}, "param 'event' must be a name"),
        ({"event": "x", "contact_id": {"id": 1}}, "param 'contact_id' must be text"),
        ({"event": "x", "text": ["a"]}, "param 'text' must be text"),
        ({"event": "x", "score": float("nan")}, "a param is not plain JSON data"),
    ],
)
async def test_bad_params_are_refusals_naming_the_param_and_nothing_is_sent(
    params: dict[str, Any], detail: str
) -> None:
    connector, receiver = webhook()

    with pytest.raises(ConnectorRejected, match=detail):
        await connector.call("send", params, idempotency_key=KEY)

    assert receiver.requests == []


async def test_only_send_is_an_operation() -> None:
    connector, receiver = webhook()

    assert connector.operations() == frozenset({"send"})
    assert connector.creating_operations == frozenset({"send"})
    with pytest.raises(UnknownOperation, match="no operation 'post'"):
        await connector.call("post", {"event": "x"}, idempotency_key=KEY)
    assert receiver.requests == []


# ---------------------------------------------------------------- secrets


async def test_secrets_never_appear_in_logs_errors_or_reprs() -> None:
    receiver = Receiver(
        [Answer(503), Answer(401), Answer(error=httpx.ConnectError), Answer(delay_s=5.0)]
    )
    connector, _ = webhook(receiver, secret=SECRET, token=TOKEN)
    wrapped = resilient(connector, timeout_s=0.05, max_attempts=1, failure_threshold=100)
    errors: list[str] = []

    with capture_logs() as logs:
        for _ in range(4):
            try:
                await wrapped.call("send", HANDOFF, idempotency_key=KEY)
            except ConnectorError as exc:
                errors.append(f"{exc!s} {exc!r} {exc.__cause__!r} {exc.__context__!r}")

    assert len(errors) == 4
    assert [r.headers["authorization"] for r in receiver.requests] == [f"Bearer {TOKEN}"] * 4
    shown = "\n".join([*errors, repr(logs), repr(connector), repr(connector.settings),
                       str(connector.settings)])  # fmt: skip
    for secret in (SECRET, TOKEN, "/botfleet/salon"):
        assert secret not in shown
    assert "hooks.example.com" in repr(connector)  # the host alone helps operators
