"""A tenant's more channels in the control plane: created, replaced by a PATCH, read back;
each checked as `channel` is and all beside it as the data plane checks them; their secrets
stored under ``channel:<kind>`` and merged into the boot payload's bindings only."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane

from botfleet.data_plane.config_source.convert import tenant_config_from_boot
from botfleet.domain.tenants import BootPayload

WHATSAPP = {"type": "whatsapp", "phone_number_id": "106540352242922"}
TELEGRAM = {"type": "telegram", "bot_username": "bikes_bot"}
WEBCHAT = {"type": "webchat", "embed_origins": ["https://bikes.example"]}
BOT_TOKEN = "5551234567:AAbbCCddEEffGGhhIIjjKKllMMnnOOpp"
WEBHOOK_SECRET = "telegram-hook-secret-1"
LOOPBACK = "http://127.0.0.1:18404"


async def _tenant(cp: ControlPlane, **fields: Any) -> str:
    return await cp.create_tenant(
        "bikes", **{"channel": WHATSAPP, "more_channels": [TELEGRAM, WEBCHAT], **fields}
    )


async def _patch(
    cp: ControlPlane, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/bikes", json=body, headers=headers or cp.admin)


async def _put(cp: ControlPlane, scope: str, values: dict[str, Any]) -> httpx.Response:
    return await cp.client.put(
        f"/v1/tenants/bikes/credentials/{scope}", json=values, headers=cp.admin
    )


async def test_more_channels_are_created_replaced_and_read_back(cp: ControlPlane) -> None:
    await _tenant(cp)
    tenant = (await cp.client.get("/v1/tenants/bikes", headers=cp.admin)).json()
    assert tenant["channel"] == WHATSAPP
    assert tenant["more_channels"] == [TELEGRAM, WEBCHAT]

    replaced = await _patch(cp, {"more_channels": [{**TELEGRAM, "answer_callbacks": False}]})

    assert replaced.status_code == 200, replaced.text
    answer = replaced.json()
    assert answer["more_channels"] == [{**TELEGRAM, "answer_callbacks": False}]
    assert answer["before"] == {"more_channels": [TELEGRAM, WEBCHAT]}
    assert answer["channel"] == WHATSAPP
    listed = (await cp.client.get("/v1/tenants", headers=cp.admin)).json()
    assert listed[0]["more_channels"] == [{**TELEGRAM, "answer_callbacks": False}]
    audit = (await cp.client.get("/v1/audit?action=tenant.update", headers=cp.admin)).json()
    assert audit[0]["details"] == {"fields": ["more_channels"]}
    # A tenant created without them has none.
    await cp.create_tenant("plain")
    plain = (await cp.client.get("/v1/tenants/plain", headers=cp.admin)).json()
    assert plain["more_channels"] == []


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"more_channels": [{"type": "fax"}]}, "more_channels[0].type: unknown type 'fax'"),
        ({"more_channels": [TELEGRAM, {"type": "whatsapp"}]}, "more_channels[1].phone_number_id"),
        ({"more_channels": [{**TELEGRAM, "bot_token": BOT_TOKEN}]},
         "more_channels[0].bot_token: secrets are not allowed in bindings"),
        ({"more_channels": [{**TELEGRAM, "colour": "red"}]}, "more_channels[0].colour"),
        ({"more_channels": [TELEGRAM, TELEGRAM]},
         "more_channels[1].type: 'telegram' is already the tenant's channel in more_channels[0]"),
        ({"more_channels": [TELEGRAM, {"type": "http_dev"}]}, "more_channels[1].type: 'http_dev'"),
        ({"more_channels": [WHATSAPP]}, "more_channels[0].type: 'whatsapp' is already"),
        ({"channel": {"type": "http_dev"}, "more_channels": [TELEGRAM]},
         "channel.type: 'http_dev'"),
    ],
    ids=["unknown-type", "settings", "secret", "unknown-field", "twice", "http-dev", "primary's",
         "http-dev-primary"],
)  # fmt: skip
async def test_each_more_channel_is_checked_and_errors_name_its_place(
    cp: ControlPlane, fields: dict[str, Any], named: str
) -> None:
    body = {"id": "bikes", "name": "Bikes", "channel": WHATSAPP, **fields}
    response = await cp.client.post("/v1/tenants", json=body, headers=cp.admin)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(named), response.json()["detail"]
    assert (await cp.client.get("/v1/tenants/bikes", headers=cp.admin)).status_code == 404


async def test_a_channel_change_clashing_with_the_stored_more_channels_is_refused(
    cp: ControlPlane,
) -> None:
    await _tenant(cp)

    clash = await _patch(cp, {"channel": {"type": "telegram"}})

    assert clash.status_code == 422, clash.text
    detail = clash.json()["detail"]
    assert detail.startswith("more_channels[0].type: 'telegram' is already the tenant's channel")
    assert "the tenant's stored more_channels" in detail
    stored = (await cp.client.get("/v1/tenants/bikes", headers=cp.admin)).json()
    assert (stored["channel"], stored["more_channels"]) == (WHATSAPP, [TELEGRAM, WEBCHAT])
    # Swapped in one change, the two would fit; but the tenant's channel keeps its kind: its
    # unprefixed contacts (WhatsApp numbers) would become Telegram's, and its data plane
    # refuses such a start.
    swapped = await _patch(cp, {"channel": TELEGRAM, "more_channels": [WHATSAPP, WEBCHAT]})
    assert swapped.status_code == 422, swapped.text
    assert swapped.json()["detail"].startswith(
        "channel.type: a tenant with more channels keeps the kind of its channel ('whatsapp')"
    )
    stored = (await cp.client.get("/v1/tenants/bikes", headers=cp.admin)).json()
    assert (stored["channel"], stored["more_channels"]) == (WHATSAPP, [TELEGRAM, WEBCHAT])
    # With one channel, a tenant may change it (tried on the web chat, live on WhatsApp).
    assert (await _patch(cp, {"more_channels": []})).status_code == 200
    assert (await _patch(cp, {"channel": TELEGRAM})).status_code == 200


async def test_a_more_channels_secrets_reach_its_binding_in_the_boot_payload_only(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = await _tenant(cp, more_channels=[WEBCHAT])
    await cp.upload_flow("bikes", publish=True)
    secrets = {"bot_token": BOT_TOKEN, "webhook_secret": WEBHOOK_SECRET}
    # Before the tenant has a Telegram channel its secrets could not be checked nor used.
    early = await _put(cp, "channel:telegram", secrets)
    assert early.status_code == 409, early.text
    assert "has no more channel of kind 'telegram'" in early.json()["detail"]
    assert (await _patch(cp, {"more_channels": [WEBCHAT, TELEGRAM]})).status_code == 200

    put = await _put(cp, "channel:telegram", secrets)

    assert put.status_code == 200, put.text
    assert put.json()["key_names"] == ["bot_token", "webhook_secret"]
    boot = await cp.client.get("/v1/boot/bikes", headers=cp.auth(token))
    payload = BootPayload.model_validate(boot.json())
    assert payload.channel["type"] == "whatsapp"
    assert payload.channel == WHATSAPP
    assert payload.more_channels == [WEBCHAT, {**TELEGRAM, **secrets}]
    assert sorted(payload.secret_paths) == [
        "more_channels[1].bot_token",
        "more_channels[1].webhook_secret",
    ]
    config = tenant_config_from_boot(payload)
    assert config.channel.model_dump() == WHATSAPP
    assert [b.type for b in config.more_channels] == ["webchat", "telegram"]
    assert config.more_channels[1].settings()["bot_token"] == BOT_TOKEN
    bodies = [put.text]
    for path in ("/v1/tenants/bikes", "/v1/tenants", "/v1/tenants/bikes/export", "/v1/audit"):
        bodies.append((await cp.client.get(path, headers=cp.admin)).text)
    for text in [*bodies, caplog.text]:
        assert BOT_TOKEN not in text and WEBHOOK_SECRET not in text
    # Removed, the channel leaves its secrets stored, merged nowhere.
    assert (await _patch(cp, {"more_channels": [WEBCHAT]})).status_code == 200
    again = (await cp.client.get("/v1/boot/bikes", headers=cp.auth(token))).json()
    assert again["more_channels"] == [WEBCHAT]
    assert again["secret_paths"] == []
    scopes = (await cp.client.get("/v1/tenants/bikes/credentials", headers=cp.admin)).json()
    assert [c["scope"] for c in scopes] == ["channel:telegram"]


async def test_a_tenant_without_more_channels_boots_as_before(cp: ControlPlane) -> None:
    token = await cp.create_tenant("bikes", channel=WHATSAPP)
    await cp.upload_flow("bikes", publish=True)
    payload = (await cp.client.get("/v1/boot/bikes", headers=cp.auth(token))).json()
    assert payload["channel"] == WHATSAPP


@pytest.mark.parametrize(
    ("scope", "values", "status", "named"),
    [
        ("channel:http_dev", {"bot_token": BOT_TOKEN}, 422, "scope: a more channel's scope is one"),
        ("channel:fax", {"bot_token": BOT_TOKEN}, 422, "scope: a more channel's scope is one"),
        ("channel:telegram", {"access_token": "EAA-x"}, 422, "body.access_token: unknown field"),
        ("channel:telegram", {"bot_token": BOT_TOKEN}, 422, "body: missing required secret(s) "
         "webhook_secret; more_channels[0] (type 'telegram') requires"),
        ("channel:telegram", {"bot_token": "1:x", "webhook_secret": "s"}, 422, "body.bot_token"),
        ("channel:whatsapp", {"access_token": "EAA-x"}, 409, "tenant 'bikes' has no more channel "
         "of kind 'whatsapp' (its channel is 'whatsapp': its secrets are the scope 'channel')"),
    ],
    ids=["http-dev", "unknown-kind", "unknown-name", "missing", "bad-value", "its-channel"],
)  # fmt: skip
async def test_a_more_channels_secrets_are_checked_as_the_channels_are(
    cp: ControlPlane, scope: str, values: dict[str, Any], status: int, named: str
) -> None:
    await _tenant(cp)
    response = await _put(cp, scope, values)
    assert response.status_code == status, response.text
    assert response.json()["detail"].startswith(named), response.json()["detail"]


async def test_a_tenant_key_keeps_its_more_channels_urls_to_public_hosts(cp: ControlPlane) -> None:
    await _tenant(cp)
    key = cp.auth(await cp.tenant_key("bikes"))
    internal = [WEBCHAT, {**TELEGRAM, "api_base_url": LOOPBACK}]

    refused = await _patch(cp, {"more_channels": internal}, key)

    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith("more_channels[1].api_base_url: ")
    assert (await _patch(cp, {"more_channels": internal})).status_code == 200  # the admin may
    # The web chat is the tenant's to remove; the operator's loopback URL is not.
    dropped = await _patch(cp, {"more_channels": [TELEGRAM]}, key)
    assert dropped.status_code == 422, dropped.text
    assert dropped.json()["detail"].startswith(
        "more_channels[1].api_base_url: holds a URL this API key could not set again"
    )
    # Moved in the list, unchanged, it is neither a new URL nor a removed one.
    moved = await _patch(cp, {"more_channels": internal[::-1]}, key)
    assert moved.status_code == 200, moved.text


async def test_a_tenant_key_may_not_send_the_operators_secrets_to_another_host(
    cp: ControlPlane,
) -> None:
    await _tenant(cp, more_channels=[WEBCHAT, TELEGRAM])
    key = cp.auth(await cp.tenant_key("bikes"))
    secrets = {"bot_token": BOT_TOKEN, "webhook_secret": WEBHOOK_SECRET}
    assert (await _put(cp, "channel:telegram", secrets)).status_code == 200
    elsewhere = {**TELEGRAM, "api_base_url": "https://telegram.tenant-example.net"}

    moved = await _patch(cp, {"more_channels": [WEBCHAT, elsewhere]}, key)

    assert moved.status_code == 409, moved.text
    assert moved.json()["detail"].startswith(
        "more_channels[1].api_base_url: credentials 'channel:telegram' were stored by an operator"
    )
    reordered = await _patch(cp, {"more_channels": [TELEGRAM, WEBCHAT]}, key)
    assert reordered.status_code == 200, reordered.text
