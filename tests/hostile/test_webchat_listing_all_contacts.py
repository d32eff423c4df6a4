"""`GET /messages` without a contact id, on a tenant whose channel is `http_dev` (the control
plane's default channel, documented as the web chat under its seed name): every contact's
messages are listed to this machine only, never to a client elsewhere.

Listed to anyone, they gave every conversation away, and with it each contact id, which is all
it takes to read a contact's messages and write to the bot as that contact. "This machine"
includes asking for it as localhost or by IP address: a web page on this machine whose site's
DNS name was rebound to 127.0.0.1 sends its requests from loopback, with its own name in `Host`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app

REMOTE = ("203.0.113.7", 40_000)


@pytest.fixture
async def dev_chat() -> AsyncIterator[ChatClient]:
    config = make_tenant_config(tenant_id="dev", channel={"type": "http_dev"})
    async with running_app(config) as chat:
        await chat.say("web-ana", "my booking is at 10:00")
        await chat.say("web-bob", "call me on 600 123 456")
        yield chat


def _client(
    chat: ChatClient, client: tuple[str, int], base_url: str = "http://dp.example"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=chat.app, client=client)
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.mark.parametrize(
    ("client", "headers"),
    [
        (REMOTE, {}),
        (("10.0.0.8", 40_000), {}),
        # A reverse proxy on the same machine connects from loopback for anyone.
        (("127.0.0.1", 40_000), {"X-Forwarded-For": "203.0.113.7"}),
        (("127.0.0.1", 40_000), {"Forwarded": "for=203.0.113.7"}),
        (("::1", 40_000), {"X-Real-IP": "203.0.113.7"}),
    ],
)
async def test_a_client_elsewhere_cannot_list_every_contact(
    dev_chat: ChatClient, client: tuple[str, int], headers: dict[str, str]
) -> None:
    async with _client(dev_chat, client) as http:
        response = await http.get("/messages", params={"limit": 500}, headers=headers)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "contact_id"]
    assert "this machine (loopback) only" in error["msg"]
    assert "web-ana" not in response.text and "web-bob" not in response.text


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost:8002",
        "http://127.0.0.1:8002",
        "http://[::1]:8002",
        "http://LOCALHOST.",
        "http://dev.localhost:8002",
        "http://192.168.1.20:8002",
    ],
)
async def test_this_machine_still_lists_every_contact(dev_chat: ChatClient, base_url: str) -> None:
    for client in (("127.0.0.1", 40_000), ("::1", 40_000)):
        async with _client(dev_chat, client, base_url) as http:
            response = await http.get("/messages", params={"limit": 500})
        assert response.status_code == 200
        contacts = {m["contact_id"] for m in response.json()["messages"]}
        assert contacts == {"web-ana", "web-bob"}


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:8002",
        "attacker.example",
        "127.0.0.1.nip.io:8002",
        "localhost.evil.example",
    ],
)
async def test_a_page_rebound_to_loopback_cannot_list_every_contact(
    dev_chat: ChatClient, host: str
) -> None:
    """A page of attacker.example, its name rebound to 127.0.0.1 after it loaded, fetches
    `/messages` from its own origin: the request comes from loopback, unforwarded, with the
    site's name in `Host` (which a page cannot set)."""
    async with _client(dev_chat, ("127.0.0.1", 40_000), f"http://{host}") as http:
        response = await http.get("/messages", params={"limit": 500})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "contact_id"]
    assert "localhost or by IP address" in error["msg"]
    assert "web-ana" not in response.text and "web-bob" not in response.text


async def test_a_client_elsewhere_still_reads_its_own_contact(dev_chat: ChatClient) -> None:
    async with _client(dev_chat, REMOTE) as http:
        response = await http.get("/messages", params={"contact_id": "web-ana"})
    assert response.status_code == 200
    assert {m["contact_id"] for m in response.json()["messages"]} == {"web-ana"}
