"""Through the real data plane: an error of a whole change counts once however often Meta
redelivers it, and a failed status names its recipient by the runtime's hash."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog
from channel_harness import APP_SECRET, WHATSAPP_CHANNEL, DataPlane, channel_app, fixture, graph_api

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.contact_hash import hash_contact


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the data plane's `WebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "whatsapp")
    return bool(request.param == "fast-path")


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as running:
        yield running


async def post(dp: DataPlane, payload: Any) -> Any:
    body = json.dumps(payload).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    return await dp.client.post("/webhook", content=body, headers=headers)


async def test_a_redelivered_change_error_counts_once(dp: DataPlane) -> None:
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):  # Meta redelivering a delivery whose 200 it did not get
            response = await post(dp, fixture("whatsapp", "change_errors"))
            assert response.status_code == 200
    assert dp.metric("botfleet_whatsapp_errors_total", event="whatsapp_payment_issue") == 1
    assert [e["event"] for e in logs].count("whatsapp_payment_issue") == 1


async def test_a_failed_status_names_its_recipient_by_the_runtime_s_hash(dp: DataPlane) -> None:
    with structlog.testing.capture_logs() as logs:
        await post(dp, fixture("whatsapp", "status_failed"))
    (entry,) = [e for e in logs if e["event"] == "whatsapp_template_needed"]
    assert entry["tenant"] == "salon"
    assert entry["contact"] == hash_contact("salon", "16505551234")
    assert "16505551234" not in repr(logs)
