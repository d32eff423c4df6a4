"""A WhatsApp or Telegram tenant's data plane sends `X-Content-Type-Options: nosniff` on every
answer, as a web chat tenant's does: a webhook's JSON error, /health, /metrics, a 404."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channel_harness import (
    TELEGRAM_CHANNEL,
    WHATSAPP_CHANNEL,
    bot_api,
    channel_app,
    graph_api,
)

from botfleet.adapters import registry


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast-path", "route"])
@pytest.mark.parametrize(
    ("channel", "kind"), [(WHATSAPP_CHANNEL, "whatsapp"), (TELEGRAM_CHANNEL, "telegram")]
)
async def test_every_answer_of_a_provider_channel_tenant_is_nosniff(
    channel: dict[str, Any], kind: str, fast_path: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fast_path:
        monkeypatch.delitem(registry.FAST_PATHS, kind)
    provider = graph_api() if kind == "whatsapp" else bot_api()
    async with channel_app(channel, provider) as dp:
        # Unsigned (WhatsApp) or without the secret header (Telegram): refused, echoing nothing.
        refused = await dp.client.post(
            "/webhook", content=json.dumps({"x": "<script>"}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        answers = [
            refused,
            await dp.client.get("/health"),
            await dp.client.get("/metrics"),
            await dp.client.get("/no-such-page"),
        ]
    assert refused.status_code in (401, 403)
    assert [r.headers.get("x-content-type-options") for r in answers] == ["nosniff"] * 4
    # Once, however many layers answered.
    assert [len(r.headers.get_list("x-content-type-options")) for r in answers] == [1] * 4
