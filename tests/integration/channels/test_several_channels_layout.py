"""A tenant's state file remembers its channels: a start on a layout that would hand
conversations to another channel is refused, naming the key and the way out; any other change
of channels is kept."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from channel_harness import TELEGRAM_CHANNEL, WHATSAPP_CHANNEL, FakeProvider, fixture

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.adapters.stores import SqliteTenantStore
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import make_settings

FLOW: dict[str, Any] = {
    "id": "hello_v1",
    "initial_state": "MENU",
    "states": {"MENU": {"on_enter": [{"action": "send_text", "text": "Hi"}], "fallback": "MENU"}},
}
WEBCHAT = {"type": "webchat"}


@asynccontextmanager
async def started(
    state_db: Path, channel: dict[str, Any], *more: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    config = tenant_config_from_mapping(
        {"tenant_id": "salon", "flow": FLOW, "channel": channel, "more_channels": list(more)}
    )
    ok = fixture("telegram", "api_send_ok")
    provider = FakeProvider(lambda request: httpx.Response(200, json=ok))
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http:
        overrides = Overrides(clock=FrozenClock(), http=HttpxProvider(http))
        app = create_app(make_settings(state_db), config=config, overrides=overrides)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost"
            ) as client,
        ):
            yield client


async def refused(state_db: Path, channel: dict[str, Any], *more: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        async with started(state_db, channel, *more):
            pass
    return caught.value


async def test_swapping_channel_and_a_more_channel_is_refused(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    async with started(state_db, WHATSAPP_CHANNEL, WEBCHAT):
        pass
    error = await refused(state_db, WEBCHAT, WHATSAPP_CHANNEL)
    [(key, detail)] = error.problems
    assert key == "channel.type"
    assert "whose `channel` is 'whatsapp'" in detail and "keep 'whatsapp' as `channel`" in detail
    # The layout it was kept for still starts, more channels added or not.
    async with started(state_db, WHATSAPP_CHANNEL, WEBCHAT, TELEGRAM_CHANNEL):
        pass
    async with started(state_db, WHATSAPP_CHANNEL):
        pass


async def test_a_single_channel_may_still_change_its_type(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    async with started(state_db, WEBCHAT):
        pass
    async with started(state_db, WHATSAPP_CHANNEL):  # tried on the web chat, live on WhatsApp
        pass


async def test_a_kind_whose_ids_are_already_in_the_file_is_refused_until_erased(
    tmp_path: Path,
) -> None:
    state_db = tmp_path / "state.db"
    async with started(state_db, WEBCHAT) as client:
        answer = await client.post("/inbound", json={"contact_id": "web-1", "text": "hi"})
        assert answer.status_code == 200
    # A conversation written before pages were refused such ids (an earlier release).
    async with SqliteTenantStore.open(state_db) as stores:
        state = await stores.states.load("web-1")
        assert state is not None
        await stores.database.run(
            "plant",
            lambda conn: conn.execute(
                "UPDATE conversation SET contact_id = 'telegram:111' WHERE contact_id = 'web-1'"
            ),
        )
    error = await refused(state_db, WEBCHAT, TELEGRAM_CHANNEL)
    [(key, detail)] = error.problems
    assert key == "more_channels[0].type"
    assert "1 conversation(s) or message(s) of contacts whose ids start with 'telegram:'" in detail
    assert "DELETE /contacts/<id>" in detail
    # A WhatsApp channel added instead finds none of its own.
    async with started(state_db, WEBCHAT, WHATSAPP_CHANNEL):
        pass


async def test_a_channel_removed_and_added_again_is_its_own(tmp_path: Path) -> None:
    state_db = tmp_path / "state.db"
    async with started(state_db, WEBCHAT, TELEGRAM_CHANNEL) as client:
        update = fixture("telegram", "text")
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_CHANNEL["webhook_secret"]}
        answer = await client.post("/webhook/telegram", json=update, headers=headers)
        assert answer.status_code == 200
    async with started(state_db, WEBCHAT):  # Telegram removed
        pass
    async with started(state_db, WEBCHAT, TELEGRAM_CHANNEL):  # and back, its contacts its own
        pass
    async with SqliteTenantStore.open(state_db) as stores:
        assert await stores.states.load("telegram:111111111") is not None
