"""A channel removed from a tenant leaves its contacts' conversations and reminders behind:
nothing meant for them is sent to the tenant's `channel` with their whole id as the recipient
(a WhatsApp message to "telegram:555001"); they still name their kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import structlog
from channel_harness import (
    PHONE_NUMBER_ID,
    TELEGRAM_CHANNEL,
    WHATSAPP_CHANNEL,
    FakeProvider,
    fixture,
)

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import make_settings

TOKEN = "internal-token-for-removed-channels"
FLOW: dict[str, Any] = {
    "id": "clinic_v1",
    "initial_state": "MENU",
    "tasks": {"remind": [{"action": "send_text", "text": "See you tomorrow"}]},
    "states": {"MENU": {"on_enter": [{"action": "send_text", "text": "Hi"}], "fallback": "MENU"}},
}


async def test_a_removed_channels_contacts_are_not_sent_to_the_tenants_channel(
    tmp_path: Path,
) -> None:
    state_db = tmp_path / "state.db"
    telegram, graph = fixture("telegram", "api_send_ok"), fixture("whatsapp", "api_send_ok")
    provider = FakeProvider(
        lambda r: httpx.Response(200, json=telegram if r.url.host == "telegram.test" else graph)
    )
    for more in ([TELEGRAM_CHANNEL], []):
        config = tenant_config_from_mapping(
            {"tenant_id": "clinic", "flow": FLOW, "channel": WHATSAPP_CHANNEL,
             "more_channels": more}
        )  # fmt: skip
        async with httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http:
            overrides = Overrides(clock=FrozenClock(), http=HttpxProvider(http))
            settings = make_settings(state_db, internal_token=TOKEN)
            app = create_app(settings, config=config, overrides=overrides)
            async with app.router.lifespan_context(app):
                runtime = app.state.runtime
                with structlog.testing.capture_logs() as logs:
                    # As a reminder scheduled while Telegram was there fires.
                    await runtime.run_task("telegram:555001", "remind", {}, f"run-{len(more)}")
                    await runtime.sequencer.drain()
                records = runtime.records
                listed = await records.recent(limit=10)
                assert [c.contact_id for c in listed] == ["telegram:555001"]
                assert runtime.ctx.channel_of("telegram:555001") == "telegram"
    sent_to = [b["to"] for b in provider.bodies(f"/{PHONE_NUMBER_ID}/messages")]
    assert sent_to == []  # never WhatsApp, once Telegram was gone
    assert len(provider.bodies("/sendMessage")) == 1  # while it was there
    assert [e["event"] for e in logs if e["event"] == "send_skipped_channel_gone"] == [
        "send_skipped_channel_gone"
    ]
