"""A data plane app on a real channel, with the provider's API played by an in-process fake.

async with channel_app(WHATSAPP_CHANNEL, provider) as dp:
    response = await dp.client.post("/webhook", content=body, headers=...)
    await dp.settle()                     # background turns and read receipts done
    assert provider.bodies("/messages")   # what the bot sent
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.stores.memory import InMemoryTenantStore
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.clock import FrozenClock

FIXTURES = Path(__file__).parents[2] / "fixtures"

#: Every message gets the menu; "book" books; an unsupported message gets the menu again.
FLOW: dict[str, Any] = {
    "id": "salon_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Hi! What would you like to do?",
                    "buttons": [
                        {"id": "menu_book", "title": "Book appointment"},
                        {"id": "menu_cancel", "title": "Cancel appointment"},
                    ],
                }
            ],
            "transitions": [{"on_payload": "menu_book", "target": "BOOKED"}],
            "fallback": "MENU",
        },
        "BOOKED": {
            "on_enter": [{"action": "send_text", "text": "Booked, {{ message.text }}!"}],
            "fallback": "MENU",
        },
    },
}

#: Option ids over every provider's limit (WhatsApp 256 characters, Telegram 64 bytes), so
#: channels send them by position (`#opt<position>.<fingerprint>`). The menu, then a slot list:
#: pressing the menu's "Cancel" (its second button) once the slots are shown must not book the
#: second slot.
LONG = "_" + "x" * 260
LONG_IDS_FLOW: dict[str, Any] = {
    "id": "long_ids_v1",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "What would you like to do?",
                    "buttons": [
                        {"id": f"menu_book{LONG}", "title": "Book"},
                        {"id": f"menu_cancel{LONG}", "title": "Cancel"},
                    ],
                }
            ],
            "transitions": [
                {"on_payload_prefix": "menu_book", "target": "SLOTS"},
                {"on_payload_prefix": "menu_cancel", "target": "CANCELLED"},
            ],
            "fallback": "MENU",
        },
        "SLOTS": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Pick a time",
                    "buttons": [
                        {"id": f"slot_10{LONG}", "title": "10:00"},
                        {"id": f"slot_11{LONG}", "title": "11:00"},
                    ],
                }
            ],
            "transitions": [
                {"on_payload": f"slot_10{LONG}", "target": "BOOKED_10"},
                {"on_payload": f"slot_11{LONG}", "target": "BOOKED_11"},
            ],
            "fallback": "SLOTS",
        },
        "BOOKED_10": {
            "on_enter": [{"action": "send_text", "text": "Booked 10:00"}],
            "fallback": "MENU",
        },
        "BOOKED_11": {
            "on_enter": [{"action": "send_text", "text": "Booked 11:00"}],
            "fallback": "MENU",
        },
        "CANCELLED": {
            "on_enter": [{"action": "send_text", "text": "Cancelled"}],
            "fallback": "MENU",
        },
    },
}

PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "meta-app-secret-1"
ACCESS_TOKEN = "EAAG-access-token-1"
VERIFY_TOKEN = "verify-me-1"
WHATSAPP_CHANNEL: dict[str, Any] = {
    "type": "whatsapp",
    "phone_number_id": PHONE_NUMBER_ID,
    "access_token": ACCESS_TOKEN,
    "app_secret": APP_SECRET,
    "verify_token": VERIFY_TOKEN,
    "graph_base_url": "https://graph.test",
    "retry_base_s": 0,
}

BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
WEBHOOK_SECRET = "tg-webhook-secret_1"
TELEGRAM_CHANNEL: dict[str, Any] = {
    "type": "telegram",
    "bot_token": BOT_TOKEN,
    "webhook_secret": WEBHOOK_SECRET,
    "api_base_url": "https://telegram.test",
    "retry_base_s": 0,
}


def fixture(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / f"{name}.json").read_text(encoding="utf-8"))


def fixture_bytes(vendor: str, name: str) -> bytes:
    return (FIXTURES / vendor / f"{name}.json").read_bytes()


@dataclass
class FakeProvider:
    """Plays a provider API over httpx.MockTransport: records requests, answers `reply(request)`.

    While `gate` is set and not yet open, requests wait on it (a slow provider).
    """

    reply: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)
    gate: asyncio.Event | None = None
    waiting: int = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.gate is not None:
            self.waiting += 1
            await self.gate.wait()
            self.waiting -= 1
        return self.reply(request)

    def bodies(self, path_suffix: str = "") -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.path.endswith(path_suffix)]


def graph_api() -> FakeProvider:
    ok = fixture("whatsapp", "api_send_ok")
    return FakeProvider(lambda request: httpx.Response(200, json=ok))


def bot_api() -> FakeProvider:
    ok = fixture("telegram", "api_send_ok")
    return FakeProvider(lambda request: httpx.Response(200, json=ok))


def bot_and_graph_api() -> FakeProvider:
    """The Bot API and the Graph API behind one transport, told apart by host (a tenant on
    WhatsApp and Telegram)."""
    telegram, whatsapp = fixture("telegram", "api_send_ok"), fixture("whatsapp", "api_send_ok")

    def reply(request: httpx.Request) -> httpx.Response:
        body = telegram if request.url.host == "telegram.test" else whatsapp
        return httpx.Response(200, json=body)

    return FakeProvider(reply)


@dataclass
class DataPlane:
    app: Starlette
    client: httpx.AsyncClient
    provider: FakeProvider

    @property
    def runtime(self) -> ConversationRuntime:
        runtime: ConversationRuntime = self.app.state.runtime
        return runtime

    async def settle(self) -> None:
        """Wait until every queued turn and after-turn job (read receipts) has finished."""
        await self.runtime.sequencer.drain()

    def metric(self, name: str, **labels: str) -> float:
        return self.runtime.metrics.registry.get_sample_value(name, labels) or 0.0

    def metric_sum(self, name: str) -> float:
        """`name` summed over its series (every `channel`'s)."""
        return sum(
            sample.value
            for family in self.runtime.metrics.registry.collect()
            for sample in family.samples
            if sample.name == name
        )

    @property
    def messages_in(self) -> float:
        """Inbound messages that reached the runtime (duplicates included), on every channel."""
        return self.metric_sum("botfleet_messages_in_total")


@asynccontextmanager
async def channel_app(
    channel: dict[str, Any],
    provider: FakeProvider,
    *,
    flow: dict[str, Any] | None = None,
    stores: InMemoryTenantStore | None = None,
    more_channels: Sequence[dict[str, Any]] = (),
    connectors: dict[str, Any] | None = None,
) -> AsyncIterator[DataPlane]:
    """`create_app` for a tenant on `channel` (and `more_channels`), its lifespan running, an
    ASGI client on it.

    `stores`: the tenant's stores as a crashed process left them (default: empty).
    `connectors`: connector fakes by name (`Overrides.connectors`), for a flow that calls some."""
    config = tenant_config_from_mapping(
        {
            "tenant_id": "salon",
            "flow": flow or FLOW,
            "channel": channel,
            "more_channels": list(more_channels),
        }
    )
    settings = DataPlaneSettings.model_validate({"log_json": False})
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http:
        overrides = Overrides(
            clock=FrozenClock(),
            stores=stores or InMemoryTenantStore(),
            http=HttpxProvider(http),
            connectors=connectors,
        )
        app = create_app(settings, config=config, overrides=overrides)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as client,
        ):
            yield DataPlane(app, client, provider)


def spy_route_reads(monkeypatch: Any, webhook_module: Any) -> list[bytes]:
    """Bodies the channel's webhook route reads (its module's `read_body`): a delivery missing
    from the list was answered by the channel's ASGI fast path instead."""
    reads: list[bytes] = []
    original = webhook_module.read_body

    async def spy(request: Any, limit: int) -> bytes:
        body: bytes = await original(request, limit)
        reads.append(body)
        return body

    monkeypatch.setattr(webhook_module, "read_body", spy)
    return reads
