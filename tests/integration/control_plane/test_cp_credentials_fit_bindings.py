"""Stored credentials always fit the binding they are merged into at boot (SQLite, PostgreSQL):
a put must hold every secret the binding requires, and a binding change that would leave
stored names the new binding does not take is refused (409 naming them) or, on request,
drops them."""

from __future__ import annotations

from typing import Any

import httpx
from cp_harness import ControlPlane

WHATSAPP = {"type": "whatsapp", "phone_number_id": "42"}
WHATSAPP_SECRETS = {
    "access_token": "EAA-fit-secret-111",
    "app_secret": "fit-app-secret-222",
    "verify_token": "fit-verify-333",
}
TELEGRAM_SECRETS = {"bot_token": "123:" + "a" * 30, "secret_token": "fit-hook-444"}
CALDAV = {"type": "caldav", "url": "https://dav.example/cal"}
ALL_VALUES = [*WHATSAPP_SECRETS.values(), *TELEGRAM_SECRETS.values(), "caldav-fit-555"]


async def _put(cp: ControlPlane, scope: str, body: dict[str, Any]) -> httpx.Response:
    return await cp.client.put(f"/v1/tenants/acme/credentials/{scope}", json=body, headers=cp.admin)


async def _patch(cp: ControlPlane, body: dict[str, Any], **params: str) -> httpx.Response:
    return await cp.client.patch("/v1/tenants/acme", json=body, params=params, headers=cp.admin)


async def _stored(cp: ControlPlane) -> dict[str, list[str]]:
    listed = (await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)).json()
    return {c["scope"]: c["key_names"] for c in listed}


async def _boot(cp: ControlPlane, token: str) -> dict[str, Any]:
    answer = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert answer.status_code == 200, answer.text
    payload: dict[str, Any] = answer.json()
    return payload


def _no_secret_in(response: httpx.Response) -> None:
    for value in ALL_VALUES:
        assert value not in response.text


async def test_a_put_missing_a_required_secret_is_refused_naming_it(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme", channel=WHATSAPP)
    await cp.upload_flow("acme", publish=True)
    assert (await _put(cp, "channel", WHATSAPP_SECRETS)).status_code == 200

    partial = {k: v for k, v in WHATSAPP_SECRETS.items() if k != "verify_token"}
    answer = await _put(cp, "channel", partial)

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (
        "body: missing required secret(s) verify_token; channel (type 'whatsapp') requires "
        "access_token, app_secret, verify_token (a put replaces all of the scope's secrets: "
        "give every required one)"
    )
    _no_secret_in(answer)
    # The refused put replaced nothing: the data plane still boots with all three.
    assert (await _boot(cp, token))["channel"]["verify_token"] == "fit-verify-333"
    only_one = await _put(cp, "channel", {"app_secret": "x"})
    assert "missing required secret(s) access_token, verify_token;" in only_one.json()["detail"]


async def test_required_secrets_follow_the_type_and_accept_aliases(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", channel={"type": "telegram"}, connectors={"calendar": CALDAV})
    missing = await _put(cp, "channel", {"bot_token": TELEGRAM_SECRETS["bot_token"]})
    assert missing.status_code == 422
    assert "missing required secret(s) webhook_secret;" in missing.json()["detail"]
    # `secret_token` is an alias of webhook_secret: it counts as given.
    assert (await _put(cp, "channel", TELEGRAM_SECRETS)).status_code == 200
    # CalDAV's password and the LLM's api_key are optional: a put may hold them alone.
    assert (await _put(cp, "connector:calendar", {"password": "caldav-fit-555"})).status_code == 200
    assert (await _put(cp, "llm", {"api_key": "sk-fit"})).status_code == 200


async def test_a_type_change_that_strands_stored_secrets_is_refused_naming_them(
    cp: ControlPlane,
) -> None:
    token = await cp.create_tenant("acme", channel=WHATSAPP)
    await cp.upload_flow("acme", publish=True)
    assert (await _put(cp, "channel", WHATSAPP_SECRETS)).status_code == 200

    refused = await _patch(cp, {"channel": {"type": "telegram"}, "name": "Renamed"})

    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert (
        "credentials 'channel' hold access_token, app_secret, verify_token, which channel "
        "(type 'telegram') does not take (it takes bot_token, webhook_secret)"
    ) in detail
    assert "DELETE /v1/tenants/acme/credentials/channel" in detail
    assert "?drop_stale_credentials=true" in detail
    _no_secret_in(refused)
    tenant = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert (tenant["channel"], tenant["name"]) == (WHATSAPP, "Acme"), "nothing changed"
    assert (await _boot(cp, token))["channel"]["access_token"] == "EAA-fit-secret-111"
    # A change of the same type whose secrets still fit passes.
    same_type = await _patch(cp, {"channel": {**WHATSAPP, "phone_number_id": "43"}})
    assert same_type.status_code == 200, same_type.text
    assert await _stored(cp) == {"channel": sorted(WHATSAPP_SECRETS)}


async def test_drop_stale_credentials_deletes_them_with_the_change(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme", channel=WHATSAPP)
    await cp.upload_flow("acme", publish=True)
    assert (await _put(cp, "channel", WHATSAPP_SECRETS)).status_code == 200
    assert (await _put(cp, "llm", {"api_key": "sk-kept"})).status_code == 200

    changed = await _patch(cp, {"channel": {"type": "telegram"}}, drop_stale_credentials="true")

    assert changed.status_code == 200, changed.text
    assert changed.json()["channel"] == {"type": "telegram"}
    assert await _stored(cp) == {"llm": ["api_key"]}, "only the stale scope went"
    audit = (await cp.client.get("/v1/audit?action=credentials.delete", headers=cp.admin)).json()
    assert [(e["target"], e["details"]) for e in audit] == [
        ("channel", {"keys": sorted(WHATSAPP_SECRETS), "reason": "stale after tenant.update"})
    ]
    assert (await _put(cp, "channel", TELEGRAM_SECRETS)).status_code == 200
    boot = await _boot(cp, token)
    assert boot["channel"]["type"] == "telegram"
    assert "access_token" not in boot["channel"]
    assert boot["channel"]["secret_token"] == "fit-hook-444"


async def test_connector_bindings_are_checked_against_their_stored_secrets(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme", connectors={"calendar": CALDAV})
    assert (await _put(cp, "connector:calendar", {"password": "caldav-fit-555"})).status_code == 200
    mock = {"calendar": {"type": "mock"}}

    refused = await _patch(cp, {"connectors": mock})
    assert refused.status_code == 409, refused.text
    assert (
        "credentials 'connector:calendar' hold password, which connectors.calendar "
        "(type 'mock') does not take (it takes no secrets)"
    ) in refused.json()["detail"]
    # Same type, another URL: the password still fits.
    moved = {"calendar": {**CALDAV, "url": "https://dav.example/other"}}
    assert (await _patch(cp, {"connectors": moved})).status_code == 200
    # Unbinding the category leaves its secrets unused (boot merges them only into it) ...
    assert (await _patch(cp, {"connectors": {}})).status_code == 200
    assert await _stored(cp) == {"connector:calendar": ["password"]}
    # ... and binding it again checks them against the new type.
    again = await _patch(cp, {"connectors": mock})
    assert again.status_code == 409
    assert "credentials 'connector:calendar' hold password" in again.json()["detail"]
