"""A tenant on several channels counts each channel's messages in, replies out and failed sends
under its own `channel` label (the kind, never a contact), on the webhook routes and on the
channels' ASGI fast paths alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

import pytest
from channel_harness import (
    APP_SECRET,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    WHATSAPP_CHANNEL,
    DataPlane,
    bot_and_graph_api,
    channel_app,
    fixture,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.domain.outputs import Output
from botfleet.ports.channels import SendOutcome

KINDS = ("whatsapp", "telegram", "webchat")


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param == "route":
        for kind in KINDS:
            monkeypatch.delitem(registry.FAST_PATHS, kind)
    return bool(request.param == "fast-path")


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(
        WHATSAPP_CHANNEL, bot_and_graph_api(), more_channels=[TELEGRAM_CHANNEL, {"type": "webchat"}]
    ) as running:
        yield running


async def post_whatsapp(dp: DataPlane) -> None:
    body = json.dumps(fixture("whatsapp", "text")).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    response = await dp.client.post(
        "/webhook", content=body, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200


async def post_telegram(dp: DataPlane) -> None:
    response = await dp.client.post(
        "/webhook/telegram",
        json=fixture("telegram", "text"),
        headers={SECRET_HEADER: WEBHOOK_SECRET},
    )
    assert response.status_code == 200


def by_channel(dp: DataPlane, name: str) -> dict[str, float]:
    """`name`'s value under each label set it has (its labels: `channel` alone)."""
    values: dict[str, float] = {}
    for family in dp.runtime.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name:
                assert set(sample.labels) == {"channel"}, sample
                values[sample.labels["channel"]] = sample.value
    return values


async def test_every_channel_of_the_tenant_has_its_series_from_the_start(dp: DataPlane) -> None:
    for name in (
        "botfleet_messages_in_total",
        "botfleet_messages_out_total",
        "botfleet_send_errors_total",
    ):
        assert by_channel(dp, name) == dict.fromkeys(KINDS, 0.0), name


async def test_each_channels_messages_and_replies_count_under_its_kind(dp: DataPlane) -> None:
    await post_whatsapp(dp)
    await post_telegram(dp)
    await dp.settle()
    assert by_channel(dp, "botfleet_messages_in_total") == {
        "whatsapp": 1.0,
        "telegram": 1.0,
        "webchat": 0.0,
    }
    assert by_channel(dp, "botfleet_messages_out_total") == {
        "whatsapp": 1.0,  # the menu
        "telegram": 1.0,
        "webchat": 0.0,
    }

    response = await dp.client.post("/inbound", json={"contact_id": "web-1", "text": "hi"})
    assert len(response.json()["replies"]) == 1
    assert dp.metric("botfleet_messages_in_total", channel="webchat") == 1
    assert dp.metric("botfleet_messages_out_total", channel="webchat") == 1
    assert dp.messages_in == 3
    assert by_channel(dp, "botfleet_send_errors_total") == dict.fromkeys(KINDS, 0.0)


class BrokenSend:
    """A channel's send that raises (its sender's own failure, not a provider's refusal)."""

    async def __call__(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        raise RuntimeError("the channel broke")


async def test_a_failed_send_counts_under_its_own_channel(
    dp: DataPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram_sender = dp.runtime.sender.sender_of("telegram:")
    monkeypatch.setattr(telegram_sender, "send", BrokenSend())
    await post_telegram(dp)
    await post_whatsapp(dp)
    await dp.settle()
    assert by_channel(dp, "botfleet_send_errors_total") == {
        "whatsapp": 0.0,
        "telegram": 1.0,
        "webchat": 0.0,
    }
    assert by_channel(dp, "botfleet_messages_out_total") == {
        "whatsapp": 1.0,
        "telegram": 0.0,
        "webchat": 0.0,
    }
    assert by_channel(dp, "botfleet_messages_in_total")["telegram"] == 1
