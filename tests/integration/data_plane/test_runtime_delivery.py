"""Provider channels get each turn's outputs at least once, even across a crash after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    make_tenant_config,
    text_message,
)
from botfleet.testing.stores import InMemoryTenantStore


class StuckSender(RecordingSender):
    """Never returns: the process dies while the provider call is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.called = asyncio.Event()

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        self.called.set()
        await asyncio.Event().wait()


class RefusingSender(RecordingSender):
    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        raise ConnectionError("provider said no")


def texts(sender: RecordingSender, contact_id: str) -> list[str]:
    return [o.text for o in sender.to(contact_id) if isinstance(o, Text)]


async def test_a_sent_turn_leaves_nothing_to_redeliver() -> None:
    store, sender = InMemoryTenantStore(), RecordingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as runtime:
        runtime.confirm_delivery = True
        await runtime.handle(text_message("c1", "hi"))
        assert await runtime.recover() == 0
        await runtime.sequencer.drain()
    assert texts(sender, "c1") == ["You said: hi"]
    assert await store.pending_deliveries() == []


async def test_outputs_committed_but_never_sent_are_sent_at_the_next_start() -> None:
    store, stuck = InMemoryTenantStore(), StuckSender()
    async with bootstrap_test_runtime(stores=store, sender=stuck) as crashed:
        crashed.confirm_delivery = True
        await crashed.accept(text_message("c1", "one"))
        await crashed.accept(text_message("c1", "two"))
        await stuck.called.wait()  # "one" is committed; the process dies while sending it
        assert [r["output"]["text"] for r in await store.pending_deliveries()] == ["You said: one"]

        resent = RecordingSender()
        async with bootstrap_test_runtime(stores=store, sender=resent) as restarted:
            restarted.confirm_delivery = True
            assert await restarted.recover() == 1  # "two" was acknowledged, never processed
            await restarted.sequencer.drain()
            assert (
                restarted.metrics.registry.get_sample_value("botfleet_redelivered_outputs_total")
                == 1
            )
        # the resent output goes first, in the contact's order
        assert texts(resent, "c1") == ["You said: one", "You said: two"]
        assert await store.pending_deliveries() == []
        crashed.sequencer.cancel()  # the dead process's stuck send


async def test_a_refused_send_is_not_repeated_at_the_next_start() -> None:
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(stores=store, sender=RefusingSender()) as runtime:
        runtime.confirm_delivery = True
        await runtime.handle(text_message("c1", "hi"))
    assert await store.pending_deliveries() == []


async def test_the_web_chat_does_not_track_delivery() -> None:
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(stores=store) as runtime:
        assert runtime.confirm_delivery is False
        await runtime.handle(text_message("c1", "hi"))
    assert await store.pending_deliveries() == []
    assert len(await store.outbox.since(contact_id="c1")) == 1


async def test_a_provider_channel_tenant_tracks_delivery() -> None:
    config = make_tenant_config(
        channel={
            "type": "whatsapp",
            "phone_number_id": "123456",
            "access_token": "test-token",
            "app_secret": "test-secret",
            "verify_token": "test-verify",
        }
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    async with (
        httpx.AsyncClient(transport=transport) as http,
        bootstrap_test_runtime(config, http=HttpxProvider(http), sender=None) as runtime,
    ):
        assert runtime.confirm_delivery is True
