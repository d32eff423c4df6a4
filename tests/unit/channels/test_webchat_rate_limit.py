"""The web chat's message limit per address: the bucket, whose address counts, the 429."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.channels.webchat import rate_limit
from botfleet.adapters.channels.webchat.rate_limit import MessageRateLimit, address_key
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scope(
    host: str = "203.0.113.7",
    *,
    path: str = "/inbound",
    method: str = "POST",
    forwarded: str | None = None,
) -> dict[str, Any]:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return {
        "type": "http",
        "path": path,
        "method": method,
        "client": (host, 5000),
        "headers": headers,
    }


class Limited:
    """A `MessageRateLimit` around an app that answers 200, with what reached it."""

    def __init__(self, per_minute: int = 60, burst: int = 3) -> None:
        self.clock = Clock()
        self.passed = 0
        self.refused = 0

        async def app(scope: Any, receive: Any, send: Any) -> None:
            self.passed += 1
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        def count() -> None:
            self.refused += 1

        self.limit = MessageRateLimit(
            app,
            path="/inbound",
            per_minute=per_minute,
            burst=burst,
            on_refused=count,
            clock=self.clock,
        )

    async def status(self, request: dict[str, Any]) -> tuple[int, dict[bytes, bytes], str]:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            raise AssertionError("a refused message's body is never read")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.limit(request, receive, send)
        headers = dict(sent[0]["headers"])
        body = sent[1].get("body", b"")
        return sent[0]["status"], headers, json.loads(body)["detail"] if body else ""


async def test_a_burst_then_the_rate() -> None:
    limited = Limited(per_minute=60, burst=3)
    assert [(await limited.status(scope()))[0] for _ in range(3)] == [200, 200, 200]
    status, headers, detail = await limited.status(scope())
    assert status == 429
    assert headers[b"retry-after"] == b"1"
    assert detail == "too many messages from your address: send again in 1 s"
    assert (limited.passed, limited.refused) == (3, 1)
    limited.clock.now += 1.0  # one message a second
    assert (await limited.status(scope()))[0] == 200
    assert (await limited.status(scope()))[0] == 429
    limited.clock.now += 600  # refilled, never above the burst
    assert [(await limited.status(scope()))[0] for _ in range(4)] == [200, 200, 200, 429]


async def test_retry_after_says_when_the_next_message_is_accepted() -> None:
    limited = Limited(per_minute=6, burst=1)  # one every 10 s
    assert (await limited.status(scope()))[0] == 200
    limited.clock.now += 2.5
    status, headers, _ = await limited.status(scope())
    assert (status, headers[b"retry-after"]) == (429, b"8")
    limited.clock.now += 7.5
    assert (await limited.status(scope()))[0] == 200


async def test_addresses_are_limited_apart_and_only_posts_to_inbound() -> None:
    limited = Limited(burst=1)
    assert (await limited.status(scope("203.0.113.7")))[0] == 200
    assert (await limited.status(scope("203.0.113.7")))[0] == 429
    assert (await limited.status(scope("203.0.113.8")))[0] == 200
    for other in (
        scope(method="GET", path="/messages"),
        scope(path="/health"),
        scope(method="OPTIONS"),
    ):
        assert (await limited.status(other))[0] == 200


async def test_this_machine_is_not_limited_unless_a_proxy_forwarded_it() -> None:
    limited = Limited(burst=1)
    for host in ("127.0.0.1", "::1", "localhost"):
        assert [(await limited.status(scope(host)))[0] for _ in range(5)] == [200] * 5
    # A proxy on loopback that uvicorn did not resolve (it sent X-Real-IP, say): limited.
    through_proxy = scope("127.0.0.1")
    through_proxy["headers"] = [(b"x-real-ip", b"198.51.100.4")]
    assert [(await limited.status(through_proxy))[0] for _ in range(2)] == [200, 429]


def test_whose_address_counts() -> None:
    assert address_key(scope("203.0.113.7")) == "203.0.113.7"
    # IPv6: one bucket per /64; IPv4 written as IPv6 is the IPv4 address.
    assert address_key(scope("2001:db8:1:2:aaaa::1")) == address_key(scope("2001:db8:1:2::ffff"))
    assert address_key(scope("2001:db8:1:2::1")) != address_key(scope("2001:db8:1:3::1"))
    assert address_key(scope("::ffff:203.0.113.7")) == "203.0.113.7"
    assert address_key(scope("::ffff:203.0.113.7")) != address_key(scope("::ffff:198.51.100.1"))
    # The client as uvicorn settled it: a forwarding header does not choose the bucket.
    assert address_key(scope("10.0.0.5", forwarded="198.51.100.4")) == "10.0.0.5"
    assert address_key(scope("127.0.0.1")) == "local"
    assert address_key(scope("127.0.0.1", forwarded="198.51.100.4")) == "127.0.0.1"
    assert len(address_key(scope("/run/" + "x" * 10_000))) == 64  # not an address: bounded


async def test_a_forged_header_neither_evades_the_limit_nor_spends_anothers() -> None:
    limited = Limited(burst=2)
    forged = [
        (await limited.status(scope("198.51.100.9", forwarded=f"10.0.0.{n}")))[0] for n in range(5)
    ]
    assert forged == [200, 200, 429, 429, 429]
    assert (await limited.status(scope("10.0.0.1")))[0] == 200  # its own bucket, untouched


async def test_a_proxy_uvicorn_does_not_trust_is_logged_once() -> None:
    limited = Limited(burst=100)
    with structlog.testing.capture_logs() as logs:
        await limited.status(scope("203.0.113.7", forwarded="203.0.113.7"))  # resolved: fine
        for _ in range(3):
            await limited.status(scope("10.0.0.5", forwarded="198.51.100.4"))
    [line] = logs
    assert line["event"] == "webchat_proxy_not_trusted"
    assert "FORWARDED_ALLOW_IPS" in line["detail"]
    assert "198.51.100.4" not in str(line) and "10.0.0.5" not in str(line)


@given(st.lists(st.floats(min_value=0, max_value=30), max_size=60))
async def test_never_more_than_the_burst_plus_the_rate(gaps: list[float]) -> None:
    limited = Limited(per_minute=30, burst=5)
    start = limited.clock.now
    for gap in gaps:
        limited.clock.now += gap
        await limited.status(scope())
    elapsed = limited.clock.now - start
    assert limited.passed <= 5 + elapsed * 30 / 60 + 1e-9
    assert limited.passed + limited.refused == len(gaps)


async def test_addresses_remembered_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rate_limit, "MAX_ADDRESSES", 10)
    limited = Limited(burst=1)
    for n in range(50):
        await limited.status(scope(f"203.0.113.{n}"))
    assert len(limited.limit._buckets) == 10


@asynccontextmanager
async def data_plane(
    per_minute: int, burst: int
) -> AsyncIterator[tuple[ChatClient, httpx.AsyncClient]]:
    """A web chat data plane with this limit, and a client from another machine."""
    config = make_tenant_config(
        channel={"type": "webchat", "max_messages_per_minute": per_minute, "message_burst": burst}
    )
    async with running_app(config) as chat:
        transport = httpx.ASGITransport(app=chat.app, client=("203.0.113.7", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t.test") as visitor:
            yield chat, visitor


async def test_through_the_data_plane_a_refused_message_is_not_stored() -> None:
    async with data_plane(6, 2) as (chat, visitor):
        answers = [
            await visitor.post("/inbound", json={"contact_id": f"c{n}", "text": "hi"})
            for n in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].headers["retry-after"] == "10"
        assert "too many messages" in answers[2].json()["detail"]
        stored = await chat.http.get("/messages", params={"contact_id": "c2"})
        assert stored.json()["messages"] == []
        assert await chat.runtime.states.load("c2") is None
        # This machine (the ChatClient's own transport) is not limited.
        for n in range(5):
            await chat.say("local", f"message {n}")
        metrics = await chat.http.get("/metrics")
        assert "botfleet_webchat_rate_limited_total 1.0" in metrics.text


async def test_the_limit_can_be_turned_off() -> None:
    async with data_plane(0, 1) as (_, visitor):
        answers = [
            await visitor.post("/inbound", json={"contact_id": "c", "text": "hi"}) for _ in range(5)
        ]
    assert {a.status_code for a in answers} == {200}
