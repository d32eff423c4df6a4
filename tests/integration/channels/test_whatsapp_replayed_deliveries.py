"""A signed WhatsApp delivery sent again after the journal forgot its message ids is not
answered again (its messages are older than Meta ever retries), and an old status callback sent
again is not counted or logged again, while Meta's own late retries still are: through the real
data plane app, by the route and by the fast path."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from channel_harness import (
    APP_SECRET,
    WHATSAPP_CHANNEL,
    DataPlane,
    channel_app,
    fixture,
    graph_api,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.whatsapp import SIGNATURE_HEADER, signature_for
from botfleet.adapters.stores import InMemoryTenantStore
from botfleet.data_plane.runtime.housekeeping import DEFAULT_JOURNAL_RETENTION, prune_once
from botfleet.testing.clock import FrozenClock

#: The text fixture's message: sent at its `timestamp`, by this contact, saying this.
SENT_AT = datetime.fromtimestamp(1749416383, UTC)
CONTACT = "16505551234"
TEXT = "Hola, quiero pedir cita"


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the data plane's `WebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "whatsapp")


@pytest.fixture
def stores() -> InMemoryTenantStore:
    return InMemoryTenantStore()


@pytest.fixture
async def dp(stores: InMemoryTenantStore) -> AsyncIterator[DataPlane]:
    async with channel_app(WHATSAPP_CHANNEL, graph_api(), stores=stores) as running:
        yield running


def clock_of(dp: DataPlane) -> FrozenClock:
    clock = dp.runtime.clock
    assert isinstance(clock, FrozenClock)
    return clock


async def post(dp: DataPlane, payload: Any) -> Any:
    body = json.dumps(payload).encode()
    headers = {SIGNATURE_HEADER: signature_for(body, APP_SECRET)}
    return await dp.client.post("/webhook", content=body, headers=headers)


def sent_kinds(dp: DataPlane) -> list[str]:
    return [b.get("type", b.get("status")) for b in dp.provider.bodies()]


async def test_meta_s_last_retry_a_week_late_is_still_answered(dp: DataPlane) -> None:
    clock_of(dp).set(SENT_AT + timedelta(days=7, minutes=5))
    response = await post(dp, fixture("whatsapp", "text"))
    assert response.json() == {"received": 1, "accepted": 1, "statuses": 0}
    await dp.settle()
    assert sent_kinds(dp) == ["interactive", "read"]


async def test_a_delivery_replayed_after_the_journal_forgot_it_is_not_answered_again(
    dp: DataPlane, stores: InMemoryTenantStore
) -> None:
    clock = clock_of(dp)
    clock.set(SENT_AT + timedelta(seconds=2))
    assert (await post(dp, fixture("whatsapp", "text"))).json()["accepted"] == 1
    await dp.settle()
    answered = len(dp.provider.bodies())

    # A week on, the journal still knows the id: a duplicate.
    clock.advance(days=7, hours=10)
    assert (await post(dp, fixture("whatsapp", "text"))).json()["accepted"] == 0
    assert dp.metric("botfleet_duplicate_messages_total") == 1

    # Past the retention the data plane prunes the id; the same signed bytes come again.
    clock.advance(days=1)
    assert await prune_once(stores, clock, DEFAULT_JOURNAL_RETENTION) == 1
    with structlog.testing.capture_logs() as logs:
        response = await post(dp, fixture("whatsapp", "text"))
    await dp.settle()

    assert response.status_code == 200  # acknowledged: nobody should retry it
    assert response.json() == {"received": 1, "accepted": 0, "statuses": 0}
    assert len(dp.provider.bodies()) == answered  # no reply, no read receipt
    assert dp.metric("botfleet_duplicate_messages_total") == 1
    assert dp.messages_in == 2  # the first delivery and the duplicate; not the replay
    (line,) = [e for e in logs if e["event"] == "whatsapp_stale_message_ignored"]
    assert (
        line["message_id"]
        == fixture("whatsapp", "text")["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    )
    assert line["age_s"] == int((clock.now() - SENT_AT).total_seconds())
    assert TEXT not in repr(logs)
    assert CONTACT not in repr(line)


async def test_only_the_old_messages_of_a_delivery_are_left_out(dp: DataPlane) -> None:
    payload = fixture("whatsapp", "text")
    old = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    new = {**old, "id": "wamid.new", "timestamp": str(int(SENT_AT.timestamp()) + 8 * 86400)}
    payload["entry"][0]["changes"][0]["value"]["messages"] = [old, new]
    clock_of(dp).set(SENT_AT + timedelta(days=8))

    response = await post(dp, payload)
    await dp.settle()

    assert response.json() == {"received": 2, "accepted": 1, "statuses": 0}
    assert await dp.runtime.journal.get(old["id"]) is None  # never stored
    assert await dp.runtime.journal.get("wamid.new") is not None
    receipts = [b["message_id"] for b in dp.provider.bodies() if b.get("status") == "read"]
    assert receipts == ["wamid.new"]


#: The failed status fixture's own time (`timestamp`), and its recipient.
STATUS_AT = datetime.fromtimestamp(1749416400, UTC)


async def test_meta_s_last_retry_of_a_status_a_week_late_is_still_counted(dp: DataPlane) -> None:
    clock_of(dp).set(STATUS_AT + timedelta(days=7, minutes=5))
    response = await post(dp, fixture("whatsapp", "status_failed"))
    assert response.json() == {"received": 0, "accepted": 0, "statuses": 1}
    assert dp.metric("botfleet_whatsapp_statuses_total", status="failed") == 1
    assert dp.metric("botfleet_whatsapp_errors_total", event="whatsapp_template_needed") == 1


async def test_a_failed_status_replayed_after_meta_s_retries_is_not_counted_or_logged_again(
    dp: DataPlane,
) -> None:
    clock_of(dp).set(STATUS_AT + timedelta(seconds=3))
    await post(dp, fixture("whatsapp", "status_failed"))
    assert dp.metric("botfleet_whatsapp_errors_total", event="whatsapp_template_needed") == 1

    # Days on, a data plane started since (its memory of seen statuses is empty) gets the same
    # signed bytes again: a failed status that would log and count "template needed" again.
    async with channel_app(WHATSAPP_CHANNEL, graph_api()) as restarted:
        clock = clock_of(restarted)
        clock.set(STATUS_AT + timedelta(days=8))
        with structlog.testing.capture_logs() as logs:
            response = await post(restarted, fixture("whatsapp", "status_failed"))

        assert response.status_code == 200  # acknowledged: nobody should retry it
        assert response.json() == {"received": 0, "accepted": 0, "statuses": 1}
        assert restarted.metric("botfleet_whatsapp_statuses_total", status="failed") == 0
        event = "whatsapp_template_needed"
        assert restarted.metric("botfleet_whatsapp_errors_total", event=event) == 0
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert [e["event"] for e in warnings] == ["whatsapp_stale_status_ignored"]
    (line,) = warnings
    assert line["status"] == "failed"
    assert line["age_s"] == 8 * 86400
    assert line["tenant"] == "salon"
    assert CONTACT not in repr(line)


async def test_only_the_old_statuses_of_a_delivery_are_left_out(dp: DataPlane) -> None:
    payload = fixture("whatsapp", "status_delivered")
    old = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    new = {**old, "id": "wamid.new", "timestamp": str(int(old["timestamp"]) + 8 * 86400)}
    payload["entry"][0]["changes"][0]["value"]["statuses"] = [old, new]
    clock_of(dp).set(datetime.fromtimestamp(int(old["timestamp"]), UTC) + timedelta(days=8))

    response = await post(dp, payload)

    assert response.json() == {"received": 0, "accepted": 0, "statuses": 2}
    assert dp.metric("botfleet_whatsapp_statuses_total", status="delivered") == 1
