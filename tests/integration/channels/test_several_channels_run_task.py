"""`POST /run-task` on a tenant with `more_channels`: a task for a more channel's contact goes
out on that channel with the provider's id; an id naming a kind the tenant's ids are not
prefixed with is refused, never sent to the tenant's channel as its recipient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from channel_harness import (
    BOT_TOKEN,
    PHONE_NUMBER_ID,
    TELEGRAM_CHANNEL,
    WHATSAPP_CHANNEL,
    FakeProvider,
    fixture,
)

from botfleet.adapters.provider_httpx import HttpxProvider
from botfleet.domain.tenant_config import tenant_config_from_mapping
from botfleet.testing.runtime import ChatClient, make_settings, running_app

TOKEN = "internal-token-for-several-channels"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FLOW: dict[str, Any] = {
    "id": "clinic_v1",
    "initial_state": "MENU",
    "tasks": {"remind": [{"action": "send_text", "text": "See you tomorrow"}]},
    "states": {"MENU": {"on_enter": [{"action": "send_text", "text": "Hi"}], "fallback": "MENU"}},
}


@pytest.fixture
def provider() -> FakeProvider:
    telegram, whatsapp = fixture("telegram", "api_send_ok"), fixture("whatsapp", "api_send_ok")
    return FakeProvider(
        lambda r: httpx.Response(200, json=telegram if r.url.host == "telegram.test" else whatsapp)
    )


@pytest.fixture
async def app(provider: FakeProvider) -> AsyncIterator[ChatClient]:
    config = tenant_config_from_mapping(
        {
            "tenant_id": "clinic",
            "flow": FLOW,
            "channel": WHATSAPP_CHANNEL,
            "more_channels": [TELEGRAM_CHANNEL],
        }
    )
    settings = make_settings(internal_token=TOKEN)
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as http,
        running_app(config, settings=settings, http=HttpxProvider(http)) as running,
    ):
        yield running


def sends(provider: FakeProvider) -> list[tuple[str, Any]]:
    telegram = [("telegram", b["chat_id"]) for b in provider.bodies(f"/bot{BOT_TOKEN}/sendMessage")]
    graph = [("whatsapp", b["to"]) for b in provider.bodies(f"/{PHONE_NUMBER_ID}/messages")]
    return telegram + graph


async def run(app: ChatClient, contact_id: str) -> httpx.Response:
    body = {"task": "remind", "contact_id": contact_id}
    return await app.http.post("/run-task", json=body, headers=AUTH)


async def test_each_contacts_task_goes_out_on_its_own_channel(
    app: ChatClient, provider: FakeProvider
) -> None:
    telegram = await run(app, "telegram:555001")
    assert telegram.status_code == 200, telegram.text
    assert telegram.json()["sent"] == 1
    whatsapp = await run(app, "34600111222")
    assert whatsapp.status_code == 200, whatsapp.text
    assert sends(provider) == [("telegram", 555001), ("whatsapp", "34600111222")]


@pytest.mark.parametrize(
    ("contact_id", "said"),
    [
        ("whatsapp:34600111222", "whatsapp is this tenant's `channel`, whose contacts' ids have"),
        ("webchat:visit-1", "this tenant has no webchat channel"),
    ],
    ids=["own-channels-prefix", "a-kind-it-lacks"],
)
async def test_an_id_naming_the_wrong_kind_is_refused_unsent(
    app: ChatClient, provider: FakeProvider, contact_id: str, said: str
) -> None:
    response = await run(app, contact_id)
    assert response.status_code == 422
    assert said in response.text
    assert sends(provider) == []


async def test_conversations_and_health_name_each_channel(app: ChatClient) -> None:
    assert (await run(app, "telegram:555001")).status_code == 200
    assert (await run(app, "34600111222")).status_code == 200
    listed = await app.http.get("/conversations", headers=AUTH)
    assert listed.status_code == 200
    channels = {c["contact_id"]: c["channel"] for c in listed.json()["conversations"]}
    assert channels == {"telegram:555001": "telegram", "34600111222": "whatsapp"}
    health = (await app.http.get("/health")).json()
    assert health["channels"] == ["whatsapp", "telegram"]


async def test_a_bare_id_of_a_more_channels_contact_is_refused_naming_the_id(
    app: ChatClient, provider: FakeProvider
) -> None:
    assert (await run(app, "telegram:555001")).status_code == 200
    bare = await run(app, "555001")  # as Telegram names the chat: here, a WhatsApp number
    assert bare.status_code == 422
    assert "its telegram contact is 'telegram:555001'" in bare.text
    assert sends(provider) == [("telegram", 555001)]
    # A number the tenant's channel knows, or has never seen, is its channel's as before.
    assert (await run(app, "34600111222")).status_code == 200


async def test_tasks_of_a_bare_id_of_a_more_channels_contact_are_refused_naming_the_id(
    app: ChatClient,
) -> None:
    assert (await run(app, "telegram:555001")).status_code == 200  # its conversation begins
    bare = await app.http.get("/tasks", params={"contact_id": "555001"}, headers=AUTH)
    # Not an empty list, which would read as "no reminder pending" for that contact.
    assert bare.status_code == 422
    assert "its telegram contact is 'telegram:555001'" in bare.text
    named = await app.http.get("/tasks", params={"contact_id": "telegram:555001"}, headers=AUTH)
    assert named.status_code == 200
    assert named.json()["tasks"] == []
    unknown = await app.http.get("/tasks", params={"contact_id": "999"}, headers=AUTH)
    assert (unknown.status_code, unknown.json()["count"]) == (200, 0)


@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_bare_id_of_a_more_channels_contact_is_not_exported_or_erased_as_no_one(
    app: ChatClient, method: str
) -> None:
    # An erasure asked with the id Telegram names the chat by found no one and answered zeros,
    # which read as done, while the contact's conversation stayed under `telegram:555001`.
    assert (await run(app, "telegram:555001")).status_code == 200
    bare = await app.http.request(method, "/contacts/555001", headers=AUTH)
    assert bare.status_code == 422, bare.text
    assert "its telegram contact is 'telegram:555001'" in bare.json()["detail"]
    kept = await app.http.get("/contacts/telegram:555001", headers=AUTH)
    assert kept.json()["conversation"] is not None
    assert len(kept.json()["messages_sent"]) == 1
    # A number nothing is held under, on no channel, answers as before: nothing held.
    unknown = await app.http.request(method, "/contacts/34600999888", headers=AUTH)
    assert unknown.status_code == 200, unknown.text
