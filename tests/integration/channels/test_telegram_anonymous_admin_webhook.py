"""Group messages sent on behalf of a chat, through the real data plane: an anonymous admin's
command is answered in the group; the linked channel's post copied into the group is not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from channel_harness import TELEGRAM_CHANNEL, WEBHOOK_SECRET, DataPlane, bot_api, channel_app
from channel_harness import fixture as load

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER

GROUP = -1001234567890
#: The fixtures' bot: its id is the token's number; the username is set, so no getMe.
CHANNEL = {
    **TELEGRAM_CHANNEL,
    "bot_token": "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "bot_username": "peluqueria_ana_bot",
}


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the data plane's `TelegramWebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "telegram")
    return bool(request.param == "fast-path")


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(CHANNEL, bot_api()) as running:
        yield running


async def post(dp: DataPlane, update: Any) -> httpx.Response:
    return await dp.client.post("/webhook", json=update, headers={SECRET_HEADER: WEBHOOK_SECRET})


async def test_an_anonymous_admins_command_is_answered_in_the_group(dp: DataPlane) -> None:
    response = await post(dp, load("telegram", "group_anonymous_admin"))
    assert response.json() == {"ok": True, "accepted": True}
    await dp.settle()
    (menu,) = dp.provider.bodies("/sendMessage")
    assert (menu["chat_id"], menu["text"]) == (GROUP, "Hi! What would you like to do?")


async def test_a_linked_channels_post_is_not_answered(dp: DataPlane) -> None:
    response = await post(dp, load("telegram", "group_automatic_forward"))
    assert response.json() == {"ok": True, "accepted": False}
    await dp.settle()
    assert dp.messages_in == 0
    assert dp.provider.requests == []
