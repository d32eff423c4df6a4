"""Test composition roots: the real `bootstrap` and `create_app` wired with fakes.

    async with bootstrap_test_runtime(flow=MY_FLOW) as runtime:      # the runtime alone
        result = await runtime.handle(text_message("c1", "hi"))

    async with running_app(config, state_db=tmp_path / "t.db") as chat:   # the app over HTTP
        reply = await chat.say("c1", "hi")

Defaults: a `FrozenClock` at `MONDAY_MORNING` (Monday 6 May 2024, 09:00 in Madrid), in-memory
stores (or SQLite at `state_db`), and for the runtime alone a `RecordingSender`.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx
from starlette.applications import Starlette

from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.stores.memory import InMemoryTenantStore
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides, bootstrap
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import Output
from botfleet.domain.tenant_config import TenantConfig, tenant_config_from_mapping
from botfleet.ports.channels import Capabilities, SendOutcome
from botfleet.testing import clock

__all__ = [
    "ECHO_FLOW",
    "MADRID",
    "MONDAY_MORNING",
    "ChatClient",
    "FrozenClock",
    "RecordingSender",
    "bootstrap_test_runtime",
    "choice_message",
    "make_settings",
    "make_tenant_config",
    "running_app",
    "text_message",
]

MADRID = ZoneInfo("Europe/Madrid")
#: A known Monday morning in the demo tenant's zone: the calendar is open from 10:00.
MONDAY_MORNING = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)

#: The smallest useful flow: every message is echoed back.
ECHO_FLOW: dict[str, Any] = {
    "id": "echo_v1",
    "initial_state": "ECHO",
    "states": {
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "You said: {{ message.text }}"}],
            "fallback": "ECHO",
        }
    },
}

_message_ids = itertools.count(1)


class FrozenClock(clock.FrozenClock):
    """`botfleet.testing.clock.FrozenClock` (real time when advanced, `set` to jump), starting
    on the demo's Monday morning in Madrid."""

    def __init__(self, at: datetime = MONDAY_MORNING) -> None:
        super().__init__(at)

    @property
    def at(self) -> datetime:
        return self.now()


@dataclass
class RecordingSender:
    """An `OutboundSender` that keeps what it was asked to send."""

    capabilities: Capabilities = WEBCHAT_CAPABILITIES
    sent: list[tuple[str, Output]] = field(default_factory=list)

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        self.sent.extend((contact_id, o) for o in outputs)
        return SendOutcome(sent=len(outputs), failed=0)

    def to(self, contact_id: str) -> list[Output]:
        return [o for c, o in self.sent if c == contact_id]


def text_message(contact_id: str, text: str, *, message_id: str | None = None) -> InboundMessage:
    """A typed message at `MONDAY_MORNING` with a fresh id unless one is given."""
    return InboundMessage(
        message_id=message_id or f"test-{next(_message_ids)}",
        contact_id=contact_id,
        type=MessageType.TEXT,
        timestamp=MONDAY_MORNING,
        text=text,
    )


def choice_message(
    contact_id: str, payload: str, *, title: str = "", message_id: str | None = None
) -> InboundMessage:
    """A pressed button (payload) at `MONDAY_MORNING`."""
    return InboundMessage(
        message_id=message_id or f"test-{next(_message_ids)}",
        contact_id=contact_id,
        type=MessageType.BUTTON_REPLY,
        timestamp=MONDAY_MORNING,
        text=title,
        payload=payload,
    )


def make_tenant_config(
    flow: Mapping[str, Any] | str | Path | None = None,
    *,
    tenant_id: str = "test",
    timezone: str = "Europe/Madrid",
    **fields: Any,
) -> TenantConfig:
    """A tenant config around an inline flow (a mapping) or a flow file (a path)."""
    raw: dict[str, Any] = {"tenant_id": tenant_id, "timezone": timezone, **fields}
    if isinstance(flow, str | Path):
        raw["flow_path"] = str(Path(flow).resolve())
    else:
        raw["flow"] = dict(flow or ECHO_FLOW)
    return tenant_config_from_mapping(raw, source=f"<test tenant {tenant_id}>")


class _IsolatedSettings(DataPlaneSettings):
    """Only what the test passes: no environment variables, no `.env` file."""

    read_environment: ClassVar[bool] = False


def make_settings(state_db: Path | None = None, **fields: Any) -> DataPlaneSettings:
    """Settings for tests, from the arguments only (the environment and `.env` are ignored)."""
    return _IsolatedSettings(**{"state_db_path": state_db, "log_json": False, **fields})


def _overrides(stores: Any, fakes: Mapping[str, Any]) -> Overrides:
    unknown = set(fakes) - set(Overrides.__dataclass_fields__)
    if unknown:
        raise TypeError(
            f"unknown override(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(Overrides.__dataclass_fields__)}"
        )
    values = {"clock": FrozenClock(), "stores": stores, **fakes}
    return Overrides(**values)


@asynccontextmanager
async def bootstrap_test_runtime(
    config: TenantConfig | None = None,
    *,
    flow: Mapping[str, Any] | str | Path | None = None,
    settings: DataPlaneSettings | None = None,
    **fakes: Any,
) -> AsyncIterator[ConversationRuntime]:
    """The real `bootstrap` with fakes; `fakes` are `Overrides` fields (clock, stores, sender,
    connectors, llm, scheduler). Stores default to in-memory, unless `settings` names a file.
    Waits for background turns before closing."""
    config = config or make_tenant_config(flow)
    settings = settings or make_settings()
    stores = None if settings.state_db_path is not None else InMemoryTenantStore()
    fakes = {"sender": RecordingSender(), **fakes}
    async with AsyncExitStack() as stack:
        runtime = await bootstrap(settings, config, stack, _overrides(stores, fakes))
        yield runtime


@dataclass
class ChatClient:
    """A running app, an HTTP client on it (no network) and shortcuts to talk as a contact."""

    app: Starlette
    http: httpx.AsyncClient

    @property
    def runtime(self) -> ConversationRuntime:
        runtime: ConversationRuntime = self.app.state.runtime
        return runtime

    async def post(self, body: Mapping[str, Any], *, wait: bool = True) -> dict[str, Any]:
        """`POST /inbound`; fails loudly unless the status is 200 (202 with `wait=False`)."""
        response = await self.http.post(
            "/inbound", json=dict(body), params=None if wait else {"wait": "false"}
        )
        expected = 200 if wait else 202
        if response.status_code != expected:
            raise AssertionError(
                f"POST /inbound {dict(body)} -> {response.status_code}: {response.text}"
            )
        reply: dict[str, Any] = response.json()
        return reply

    async def say(self, contact_id: str, text: str, **extra: Any) -> list[dict[str, Any]]:
        """Send a text as `contact_id`; returns the bot's replies."""
        reply = await self.post({"contact_id": contact_id, "text": text, **extra})
        return list(reply["replies"])

    async def press(
        self, contact_id: str, payload: str, *, title: str = "", kind: str = "button_reply"
    ) -> list[dict[str, Any]]:
        """Press a button (or pick a list row with `kind="list_reply"`); returns the replies."""
        body = {"contact_id": contact_id, "type": kind, "payload": payload, "title": title}
        return list((await self.post(body))["replies"])

    async def messages(self, contact_id: str, since: int = 0) -> list[dict[str, Any]]:
        """`GET /messages` for one contact: the outbox rows after `since`."""
        response = await self.http.get(
            "/messages", params={"contact_id": contact_id, "since": since, "limit": 500}
        )
        response.raise_for_status()
        return list(response.json()["messages"])


@asynccontextmanager
async def running_app(
    config: TenantConfig | None = None,
    *,
    flow: Mapping[str, Any] | str | Path | None = None,
    state_db: Path | None = None,
    settings: DataPlaneSettings | None = None,
    **fakes: Any,
) -> AsyncIterator[ChatClient]:
    """`create_app` with its lifespan running and an httpx client over ASGI.

    `state_db`: SQLite file (else in-memory stores); `fakes`: `Overrides` fields.
    """
    config = config or make_tenant_config(flow)
    settings = settings or make_settings(state_db)
    stores = None if settings.state_db_path is not None else InMemoryTenantStore()
    app = create_app(settings, config=config, overrides=_overrides(stores, fakes))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        yield ChatClient(app, http)
