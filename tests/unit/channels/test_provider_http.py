"""`BoundedTransport`: never more than `max_in_flight` provider requests in the pool, each slot
held until its response body is closed, and given back when a request fails."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from botfleet.adapters.provider_http import BoundedTransport, provider_http_client


class SlowProvider(httpx.AsyncBaseTransport):
    """Answers after a pause, counting how many requests it holds at once."""

    def __init__(self, *, fail_every: int = 0) -> None:
        self.active = 0
        self.most = 0
        self.seen = 0
        self.fail_every = fail_every

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            await asyncio.sleep(0.005)
            if self.fail_every and self.seen % self.fail_every == 0:
                raise httpx.ConnectError("provider down", request=request)
            return httpx.Response(200, json={"n": self.seen})
        finally:
            self.active -= 1


async def test_at_most_max_in_flight_requests_reach_the_pool() -> None:
    provider = SlowProvider()
    async with httpx.AsyncClient(transport=BoundedTransport(provider, 8)) as client:
        responses = await asyncio.gather(
            *(client.post("https://graph.test/messages", json={"i": i}) for i in range(100))
        )
    assert [r.status_code for r in responses] == [200] * 100
    assert provider.seen == 100
    assert provider.most == 8


async def test_failed_requests_give_their_slot_back() -> None:
    provider = SlowProvider(fail_every=3)
    transport = BoundedTransport(provider, 4)
    async with httpx.AsyncClient(transport=transport) as client:
        results = await asyncio.gather(
            *(client.get("https://graph.test/") for _ in range(60)), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, httpx.ConnectError)]
        assert len(failures) == 20
        # Every slot is free again: a full batch goes through at once.
        more = await asyncio.gather(*(client.get("https://graph.test/") for _ in range(4)))
        assert len(more) == 4


async def test_a_streamed_response_holds_its_slot_until_closed() -> None:
    provider = SlowProvider()
    async with httpx.AsyncClient(transport=BoundedTransport(provider, 1)) as client:
        async with client.stream("GET", "https://graph.test/") as first:
            second = asyncio.create_task(client.get("https://graph.test/"))
            await asyncio.sleep(0.05)
            assert not second.done()  # waiting for the one slot
            await first.aread()
        assert (await asyncio.wait_for(second, 1)).status_code == 200


def test_the_data_plane_client_pool_fits_its_bound() -> None:
    client = provider_http_client(max_in_flight=16)
    transport = client._transport
    assert isinstance(transport, BoundedTransport)
    assert transport.max_in_flight == 16
    assert client.timeout.read == pytest.approx(10.0)
