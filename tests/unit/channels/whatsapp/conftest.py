"""Fixtures of the WhatsApp sender tests: a sender on a mocked Graph API that records waits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender, WhatsAppMetrics
from botfleet.adapters.channels.whatsapp.settings import whatsapp_settings
from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.outputs import Output

FIXTURES = Path(__file__).parents[3] / "fixtures" / "whatsapp"
GRAPH = "https://graph.test/v19.0/106540352242922"
TOKEN = "EAAG-secret-access-token"
CONTACT = "16505551234"


def _load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class Sleeps:
    """Stands in for asyncio.sleep: records the backoff waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def graph_fixture() -> Callable[[str], Any]:
    """Loads a recorded Graph API answer or webhook payload from tests/fixtures/whatsapp."""
    return _load


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
async def sender(sleeps: Sleeps, registry: CollectorRegistry) -> AsyncIterator[WhatsAppCloudSender]:
    settings = whatsapp_settings(
        {
            "phone_number_id": "106540352242922",
            "access_token": TOKEN,
            "app_secret": "app-secret",
            "verify_token": "verify",
            "graph_base_url": "https://graph.test",
            "retry_base_s": 0.25,
        }
    )
    async with httpx.AsyncClient() as http:
        yield WhatsAppCloudSender(
            settings, HttpxProvider(http), metrics=WhatsAppMetrics(registry), sleep=sleeps
        )


@pytest.fixture
def graph() -> Iterator[respx.MockRouter]:
    """The Graph API: route "messages" answers a successful send unless a test changes it."""
    with respx.mock(base_url=GRAPH, assert_all_mocked=True, assert_all_called=False) as router:
        router.post("/messages", name="messages").mock(
            return_value=httpx.Response(200, json=_load("api_send_ok"))
        )
        yield router


def request_bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


@pytest.fixture
def send(
    sender: WhatsAppCloudSender, graph: respx.MockRouter
) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    """`await send(*outputs)`: the request bodies the sender posted for them."""

    async def sent(*outputs: Output) -> list[dict[str, Any]]:
        before = graph["messages"].call_count
        await sender.send(CONTACT, outputs)
        return request_bodies(graph["messages"])[before:]

    return sent
