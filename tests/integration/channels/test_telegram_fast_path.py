"""`TelegramWebhookFastPath`: which updates it answers itself, with the route's answer.

The webhook's own behaviour runs with and without the fast path in `test_telegram_webhook.py`;
here, what only the fast path decides.
"""

from __future__ import annotations

import json

import pytest
from channel_harness import TELEGRAM_CHANNEL, bot_api, channel_app, fixture, spy_route_reads
from test_telegram_webhook import AUTH, calls

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER, webhook


@pytest.fixture
def route_reads(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Bodies the route read: an update missing here was answered by the fast path."""
    return spy_route_reads(monkeypatch, webhook)


async def test_a_pressed_button_skips_the_route_gets_the_same_bytes_and_its_answer(
    route_reads: list[bytes],
) -> None:
    answers = []
    body = json.dumps(fixture("telegram", "callback_query")).encode()
    for with_fast_path in (True, False):
        fast_paths = registry.FAST_PATHS if with_fast_path else {}
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(registry, "FAST_PATHS", fast_paths)
            async with channel_app(TELEGRAM_CHANNEL, bot_api()) as dp:
                headers = {**AUTH, "Content-Type": "application/json"}
                answers.append(await dp.client.post("/webhook", content=body, headers=headers))
                await dp.settle()
                assert dp.messages_in == 1
                # the button's spinner is stopped once, after the answer
                assert calls(dp.provider, "answerCallbackQuery") == [
                    {"callback_query_id": "4382bfdwdsb323b2d9"}
                ]
        assert len(route_reads) == (0 if with_fast_path else 1)
    fast, routed = answers
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content == b'{"ok":true,"accepted":true}'
    assert fast.headers["content-type"] == routed.headers["content-type"]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, None, 401),
        ({SECRET_HEADER: "wrong"}, None, 403),
        (AUTH, b"{not json", 400),
    ],
    ids=["no-secret", "wrong-secret", "not-json"],
)
async def test_unusual_updates_go_to_the_route(
    route_reads: list[bytes], headers: dict[str, str], body: bytes | None, status: int
) -> None:
    sent = body if body is not None else json.dumps(fixture("telegram", "text")).encode()
    async with channel_app(TELEGRAM_CHANNEL, bot_api()) as dp:
        response = await dp.client.post("/webhook", content=sent, headers=headers)
        await dp.settle()
        assert response.status_code == status
        assert dp.messages_in == 0
    # the route checks the secret before it reads the body
    assert route_reads == ([sent] if status == 400 else [])
