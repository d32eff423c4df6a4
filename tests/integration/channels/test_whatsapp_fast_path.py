"""`WebhookFastPath`: which deliveries it acknowledges itself, and that they get the route's answer.

The webhook's own behaviour (signatures, limits, exactly once, replies) runs with and without
the fast path in `test_whatsapp_webhook.py`; here, what only the fast path decides.
"""

from __future__ import annotations

import pytest
from channel_harness import WHATSAPP_CHANNEL, channel_app, fixture, graph_api, spy_route_reads
from test_whatsapp_webhook import encode, signed, text_webhook

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, webhook


@pytest.fixture
def route_reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Bodies the route read: a delivery missing here was answered by the fast path."""
    return spy_route_reads(monkeypatch, webhook)


async def test_a_signed_delivery_skips_the_route_and_gets_the_same_bytes(
    route_reads: list[bytes],
) -> None:
    answers = []
    for with_fast_path in (True, False):
        fast_paths = registry.FAST_PATHS if with_fast_path else {}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(registry, "FAST_PATHS", fast_paths)
            async with channel_app(WHATSAPP_CHANNEL, graph_api()) as dp:
                body = encode(text_webhook("wamid.fast.1", "hello"))
                answers.append(await dp.client.post("/webhook", content=body, headers=signed(body)))
                await dp.settle()
                assert dp.messages_in == 1
                assert len(dp.provider.bodies()) == 2  # the menu and the read receipt
        assert len(route_reads) == (0 if with_fast_path else 1)
    fast, routed = answers
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content == b'{"received":1,"accepted":1,"statuses":0}'
    assert fast.headers["content-type"] == routed.headers["content-type"]
    assert fast.headers["content-length"] == str(len(fast.content))


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, None, 401),
        ({SIGNATURE_HEADER: ""}, None, 401),
        ({SIGNATURE_HEADER: "sha256=" + "0" * 64}, None, 403),
        (None, b"\xff\xfe not json", 400),
        (None, b" " * (webhook.MAX_WEBHOOK_BYTES + 1), 413),
    ],
    ids=["unsigned", "empty-signature", "wrong-signature", "not-json", "oversized"],
)
async def test_unusual_deliveries_go_to_the_route_body_intact(
    route_reads: list[bytes], headers: dict[str, str] | None, body: bytes | None, status: int
) -> None:
    body = body if body is not None else encode(fixture("whatsapp", "text"))
    sent = signed(body) if headers is None else headers
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as dp:
        response = await dp.client.post("/webhook", content=body, headers=sent)
        await dp.settle()
        assert response.status_code == status
        assert dp.messages_in == 0
    if status != 413:  # an oversized body is refused from its Content-Length, unread
        assert route_reads == [body]


async def test_a_query_string_leaves_the_delivery_to_the_route(route_reads: list[bytes]) -> None:
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as dp:
        body = encode(text_webhook("wamid.query.1", "hi"))
        response = await dp.client.post(
            "/webhook", params={"x": "1"}, content=body, headers=signed(body)
        )
        await dp.settle()
        assert response.status_code == 200
        assert dp.messages_in == 1
    assert route_reads == [body]


async def test_a_refusal_of_the_runtime_gets_the_app_s_handler_from_the_fast_path(
    route_reads: list[bytes],
) -> None:
    """A full backlog raises inside `accept`: the app's handler answers 503 + Retry-After."""
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as dp:
        dp.runtime.max_backlog = 0
        body = encode(text_webhook("wamid.busy.1", "hi"))
        response = await dp.client.post("/webhook", content=body, headers=signed(body))
        assert response.status_code == 503
        assert response.headers["Retry-After"].isdigit()
        assert "retry later" in response.json()["detail"]
        assert await dp.runtime.journal.get("wamid.busy.1") is None
    assert route_reads == []  # answered without the route
