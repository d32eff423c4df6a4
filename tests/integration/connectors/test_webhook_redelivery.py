"""A webhook binding with `redeliver_for` keeps a notification its receiver did not take and
sends it again later, with the same Idempotency-Key (docs/connectors.md, "Notifications the
receiver did not take"). The documented hand-off bot, booted by the real `bootstrap`, posting
to a receiver on 127.0.0.1 with the data plane's own HTTP client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from structlog.testing import capture_logs
from test_webhook_handoff import (
    CONTACT,
    FAST,
    SORRY,
    THANKS,
    ask_for_a_person,
    documented_binding,
    documented_flow,
    state_of,
    texts,
)
from webhook_receiver import Receiver, Reply, running_receiver

from botfleet.data_plane.runtime.contact_data import ContactData
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.runtime.redelivery import Redelivery
from botfleet.domain.tenant_config import TenantConfig
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import (
    bootstrap_test_runtime,
    choice_message,
    make_settings,
    make_tenant_config,
    running_app,
    text_message,
)

#: Every attempt of a call fails fast: one call, three 503s.
DOWN = [Reply(503)] * 3
OTHER = "+34600333444"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def tenant(receiver: Receiver, **binding: Any) -> TenantConfig:
    """The documented hand-off bot (tenant `salon`), its webhook keeping for 2 h."""
    notification = {
        **documented_binding(),
        "url": receiver.url,
        "format": "json",
        "resilience": FAST,
        "redeliver_for": "2h",
        **binding,
    }
    return make_tenant_config(
        documented_flow(), tenant_id="salon", connectors={"notification": notification}
    )


@asynccontextmanager
async def bot(
    receiver: Receiver,
    clock: FrozenClock,
    *,
    state_db: Path | None = None,
    **binding: Any,
) -> AsyncIterator[ConversationRuntime]:
    config = tenant(receiver, **binding)
    async with bootstrap_test_runtime(
        config, settings=make_settings(state_db) if state_db else None, clock=clock
    ) as runtime:
        yield runtime


def redelivery_of(runtime: ConversationRuntime) -> Redelivery:
    assert runtime.redelivery is not None
    return runtime.redelivery


async def test_a_notification_the_receiver_did_not_take_is_sent_again_later(
    receiver: Receiver,
) -> None:
    receiver.script = [*DOWN, Reply(200)]
    clock = FrozenClock()
    with capture_logs() as logs:
        async with bot(receiver, clock) as runtime:
            outputs = await ask_for_a_person(runtime, "Please call me")
            # The flow goes on as if delivered: no on_error, the contact is told the team knows.
            assert texts(outputs) == [THANKS]
            assert await state_of(runtime) == "HANDED_OFF"
            state = await runtime.states.load(CONTACT)
            assert state is not None
            first_key = receiver.requests[0].headers["idempotency-key"]
            assert state.data["handoff"] == {
                "delivered": False,
                "queued": True,
                "status": None,
                "id": first_key,
                "response": None,
            }
            redelivery = redelivery_of(runtime)
            assert await redelivery.queue.counts() == {"notification": 1}

            clock.advance(seconds=30)  # the first retry waits a minute
            assert await redelivery.run_due() == 0
            assert len(receiver.requests) == 3

            clock.advance(minutes=1)
            assert await redelivery.run_due() == 1
            assert await redelivery.queue.counts() == {}
            assert redelivery.waiting == {}

    again = receiver.requests[3]
    assert again.headers["idempotency-key"] == first_key
    assert again.json()["id"] == first_key
    assert again.json()["event"] == "handoff_requested"
    assert again.json()["sent_at"] == "2024-01-08T09:01:30Z"  # when it was sent again
    kept = next(line for line in logs if line["event"] == "connector_call_kept")
    assert kept["log_level"] == "warning"
    assert (kept["connector"], kept["id"], kept["error"]) == (
        "notification",
        first_key,
        "unavailable",
    )
    assert kept["retry_at"] == "2024-01-08T09:01:00+00:00"
    assert kept["give_up_at"] == "2024-01-08T11:00:00+00:00"
    assert "contact" in kept  # within the turn: the hashed contact, never the number
    assert CONTACT not in repr(logs)
    redelivered = next(line for line in logs if line["event"] == "connector_call_redelivered")
    assert (redelivered["attempts"], redelivered["kept_for_s"]) == (1, 90)


async def test_a_receiver_down_longer_than_redeliver_for_is_given_up(receiver: Receiver) -> None:
    receiver.script = [Reply(503)]
    clock = FrozenClock()
    with capture_logs() as logs:
        # A breaker that never opens: every attempt reaches the receiver.
        policy = {**FAST, "failure_threshold": 100}
        async with bot(receiver, clock, redeliver_for="10m", resilience=policy) as runtime:
            assert texts(await ask_for_a_person(runtime, "Please call me")) == [THANKS]
            key = receiver.requests[0].headers["idempotency-key"]
            redelivery = redelivery_of(runtime)
            waits = []
            while await redelivery.queue.counts():
                (call,) = await redelivery.queue.due(clock.now() + timedelta(days=1), limit=1)
                waits.append(call.next_at - clock.now())
                clock.set(call.next_at)
                await redelivery.run_due()

    # A minute, then doubling, the last one as the ten minutes end; failing then gives up.
    assert waits == [timedelta(minutes=m) for m in (1, 1, 2, 4, 2)]
    assert len(receiver.requests) == 3 * 6
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {key}
    (given_up,) = [line for line in logs if line["event"] == "connector_call_given_up"]
    assert given_up["log_level"] == "error"
    assert given_up["reason"] == "redeliver_for ran out"
    assert (given_up["id"], given_up["notification_event"], given_up["attempts"]) == (
        key,
        "handoff_requested",
        5,
    )
    assert given_up["detail"].startswith("unavailable: ")


async def test_a_refusal_on_a_later_attempt_is_given_up_at_once(receiver: Receiver) -> None:
    receiver.script = [*DOWN, Reply(410)]
    clock = FrozenClock()
    with capture_logs() as logs:
        async with bot(receiver, clock) as runtime:
            await ask_for_a_person(runtime, "Please call me")
            clock.advance(minutes=1)
            redelivery = redelivery_of(runtime)
            assert await redelivery.run_due() == 0
            assert await redelivery.queue.counts() == {}

    assert len(receiver.requests) == 4  # a refusal is not retried
    (given_up,) = [line for line in logs if line["event"] == "connector_call_given_up"]
    assert given_up["reason"] == "refused"
    assert "HTTP 410" in given_up["detail"]


async def test_a_refusal_is_not_kept_the_flow_takes_on_error(receiver: Receiver) -> None:
    receiver.script = [Reply(400)]
    async with bot(receiver, FrozenClock()) as runtime:
        outputs = await ask_for_a_person(runtime, "Please call me")
        assert await redelivery_of(runtime).queue.counts() == {}

    assert texts(outputs) == [SORRY, "Hi! How can we help?"]


async def test_an_open_breaker_keeps_the_call_until_it_may_close(receiver: Receiver) -> None:
    receiver.script = [Reply(503)]
    policy = {**FAST, "max_attempts": 1, "failure_threshold": 1, "reset_after_s": 600}
    clock = FrozenClock()
    async with bot(receiver, clock, resilience=policy) as runtime:
        await ask_for_a_person(runtime, "first")  # one failed attempt: the breaker opens
        await runtime.handle(text_message(OTHER, "hi"))
        await runtime.handle(choice_message(OTHER, "menu_person"))
        outputs = (await runtime.handle(text_message(OTHER, "second"))).outputs
        assert texts(outputs) == [THANKS]
        calls = await redelivery_of(runtime).queue.due(clock.now() + timedelta(days=1), limit=9)

    assert len(receiver.requests) == 1  # the second met the open breaker: nothing sent
    assert [c.contact_id for c in calls] == [CONTACT, OTHER]
    # Not before the breaker lets a probe through (about ten minutes, its monotonic clock).
    assert calls[1].next_at - clock.now() >= timedelta(minutes=9)


async def test_without_redeliver_for_a_failed_notification_takes_on_error(
    receiver: Receiver,
) -> None:
    receiver.script = DOWN
    async with bot(receiver, FrozenClock(), redeliver_for=None) as runtime:
        assert runtime.redelivery is None
        outputs = await ask_for_a_person(runtime, "Please call me")

    assert texts(outputs) == [SORRY, "Hi! How can we help?"]


async def test_a_kept_call_is_sent_at_the_next_start(receiver: Receiver, tmp_path: Path) -> None:
    state_db = tmp_path / "salon" / "state.db"
    receiver.script = [*DOWN, Reply(200)]
    clock = FrozenClock()
    async with bot(receiver, clock, state_db=state_db) as runtime:
        await ask_for_a_person(runtime, "Please call me")
        assert await redelivery_of(runtime).queue.counts() == {"notification": 1}
    assert len(receiver.requests) == 3

    clock.advance(minutes=5)
    async with bot(receiver, clock, state_db=state_db) as runtime:
        for _ in range(100):  # the first pass runs as the data plane starts
            if len(receiver.requests) == 4:
                break
            await asyncio.sleep(0.05)
        assert await redelivery_of(runtime).queue.counts() == {}

    assert len(receiver.requests) == 4
    first, again = receiver.requests[0], receiver.requests[3]
    assert again.headers["idempotency-key"] == first.headers["idempotency-key"]


async def test_erasing_the_contact_drops_its_kept_notifications(receiver: Receiver) -> None:
    receiver.script = [Reply(503)]
    clock = FrozenClock()
    async with bot(receiver, clock) as runtime:
        await ask_for_a_person(runtime, "Please call me")
        assert runtime.records is not None
        data = ContactData(runtime, runtime.records)
        (kept,) = (await data.export(CONTACT)).kept_calls  # what the business would get
        assert kept.params["event"] == "handoff_requested"
        assert kept.params["reason"] == "Please call me"
        erasure = await data.erase(CONTACT)
        assert erasure.records.calls_kept == 1
        # `/health` says so at once, not at the next pass; the metric counts it as erased.
        assert redelivery_of(runtime).waiting_by_binding() == {"notification": 0}
        erased = runtime.metrics.registry.get_sample_value(
            "botfleet_connector_redeliveries_total",
            {"connector": "notification", "outcome": "erased"},
        )
        assert erased == 1.0
        clock.advance(hours=1)
        assert await redelivery_of(runtime).run_due() == 0

    assert len(receiver.requests) == 3  # the kept one never went out


async def test_health_and_metrics_show_what_is_kept(receiver: Receiver) -> None:
    receiver.script = [Reply(503)]
    async with running_app(tenant(receiver), clock=FrozenClock()) as chat:
        assert (await chat.http.get("/health")).json()["kept_calls"] == {"notification": 0}
        await ask_for_a_person(chat.runtime, "Please call me")
        assert (await chat.http.get("/health")).json()["kept_calls"] == {"notification": 1}
        metrics = (await chat.http.get("/metrics")).text

    assert 'botfleet_connector_calls_kept{connector="notification"} 1.0' in metrics
    kept = 'botfleet_connector_redeliveries_total{connector="notification",outcome="kept"} 1.0'
    assert kept in metrics


async def test_a_huge_retry_after_waits_at_most_the_longest_wait_within_the_window(
    receiver: Receiver,
) -> None:
    # A receiver's word, not ours: 1e300 s would overflow, a year outlive `redeliver_for`.
    receiver.script = [Reply(429, headers={"Retry-After": "31536000"})]
    clock = FrozenClock()
    async with bot(receiver, clock, redeliver_for="10m") as runtime:
        outputs = await ask_for_a_person(runtime, "Please call me")
        assert texts(outputs) == [THANKS]
        redelivery = redelivery_of(runtime)
        (call,) = await redelivery.queue.due(clock.now() + timedelta(days=400), limit=1)
        assert call.next_at - clock.now() == timedelta(minutes=10)  # the window's end
        clock.set(call.next_at)
        await redelivery.run_due()  # refused again at the window's end: given up
        assert await redelivery.queue.counts() == {}


async def test_a_call_kept_past_its_window_while_stopped_is_not_sent(
    receiver: Receiver, tmp_path: Path
) -> None:
    state_db = tmp_path / "salon" / "state.db"
    receiver.script = [*DOWN, Reply(200)]
    clock = FrozenClock()
    async with bot(receiver, clock, state_db=state_db) as runtime:
        await ask_for_a_person(runtime, "Please call me")
    clock.advance(hours=3)  # stopped longer than redeliver_for (2h)
    with capture_logs() as logs:
        async with bot(receiver, clock, state_db=state_db) as runtime:
            for _ in range(100):  # the first pass runs as the data plane starts
                if not await redelivery_of(runtime).queue.counts():
                    break
                await asyncio.sleep(0.05)
            assert await redelivery_of(runtime).queue.counts() == {}

    assert len(receiver.requests) == 3  # too late: not sent
    (given_up,) = [line for line in logs if line["event"] == "connector_call_given_up"]
    assert given_up["reason"] == "redeliver_for ran out"


async def test_a_call_erased_in_the_contacts_order_before_its_turn_is_not_sent(
    receiver: Receiver,
) -> None:
    receiver.script = [*DOWN, Reply(200)]
    clock = FrozenClock()
    async with bot(receiver, clock) as runtime:
        await ask_for_a_person(runtime, "Please call me")
        redelivery = redelivery_of(runtime)
        assert redelivery.in_contact_order is not None  # wired by the composition root
        (call,) = await redelivery.queue.due(clock.now() + timedelta(days=1), limit=1)

        async def erased_first(contact: str, job: Any) -> bool:
            # An erasure queued in the contact's order ahead of the pass's send.
            assert contact == CONTACT
            await redelivery.queue.remove(call.key)
            done: bool = await job()
            return done

        redelivery.in_contact_order = erased_first
        clock.advance(minutes=5)
        assert await redelivery.run_due() == 0

    assert len(receiver.requests) == 3


async def test_past_the_cap_a_failed_notification_is_not_kept(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("botfleet.data_plane.runtime.redelivery.MAX_KEPT", 1)
    receiver.script = [Reply(503)]
    async with bot(receiver, FrozenClock()) as runtime:
        assert texts(await ask_for_a_person(runtime, "first")) == [THANKS]  # kept
        await runtime.handle(text_message(OTHER, "hi"))
        await runtime.handle(choice_message(OTHER, "menu_person"))
        outputs = (await runtime.handle(text_message(OTHER, "second"))).outputs
        assert await redelivery_of(runtime).queue.counts() == {"notification": 1}

    assert texts(outputs) == [SORRY, "Hi! How can we help?"]  # its failure path


def test_the_documented_binding_boots_and_keeps_for_a_day() -> None:
    from test_webhook_handoff import docs_block

    from botfleet.adapters.connectors.catalog import build_connectors

    connectors = yaml.safe_load(docs_block("redeliver-binding"))["connectors"]
    config = make_tenant_config(documented_flow(), tenant_id="salon", connectors=connectors)
    built = build_connectors(config, clock=FrozenClock())
    assert built["notification.crm"].redeliver_for == timedelta(hours=24)  # type: ignore[attr-defined]
