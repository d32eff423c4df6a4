"""Deleting credentials a binding requires (SQLite, PostgreSQL): the data plane would not start
again without them, so the delete answers 409 saying so and keeps them, unless forced; a scope
no binding requires goes at once."""

from __future__ import annotations

from cp_harness import ControlPlane

TELEGRAM = {"type": "telegram"}
TOKENS = {"bot_token": "123456:AAH" + "x" * 30, "webhook_secret": "hook_secret-1"}
CHANNEL = "/v1/tenants/shop/credentials/channel"
HOOK = {"type": "webhook", "url": "https://hooks.example.com/botfleet"}
NOTIFY = "/v1/tenants/shop/credentials/connector:notification"


async def _scopes(cp: ControlPlane) -> list[str]:
    listed = await cp.client.get("/v1/tenants/shop/credentials", headers=cp.admin)
    return [c["scope"] for c in listed.json()]


async def test_a_channels_required_token_is_kept_unless_forced(cp: ControlPlane) -> None:
    await cp.create_tenant("shop", channel=TELEGRAM)
    key = cp.auth(await cp.tenant_key("shop"))
    stored = await cp.client.put(CHANNEL, json=TOKENS, headers=key)
    assert stored.status_code == 200, stored.text

    kept = await cp.client.delete(CHANNEL, headers=key)
    assert kept.status_code == 409, kept.text
    detail = kept.json()["detail"]
    assert "channel (type 'telegram') requires bot_token" in detail
    assert "would not start again" in detail and "?force=true" in detail
    assert TOKENS["bot_token"] not in kept.text
    assert await _scopes(cp) == ["channel"]

    forced = await cp.client.delete(CHANNEL, params={"force": "true"}, headers=key)
    assert forced.status_code == 204, forced.text
    assert await _scopes(cp) == []
    audit = (await cp.client.get("/v1/audit?tenant_id=shop", headers=cp.admin)).json()
    deletes = [e for e in audit if e["action"] == "credentials.delete"]
    assert [e["target"] for e in deletes] == ["channel"]


async def test_secrets_no_binding_requires_are_deleted_at_once(cp: ControlPlane) -> None:
    await cp.create_tenant("shop", connectors={"notification": HOOK})
    # The webhook's url is in its binding: its signing secret is optional.
    stored = await cp.client.put(NOTIFY, json={"secret": "whsec-1"}, headers=cp.admin)
    assert stored.status_code == 200, stored.text
    deleted = await cp.client.delete(NOTIFY, headers=cp.admin)
    assert deleted.status_code == 204, deleted.text
    assert await _scopes(cp) == []


async def test_the_data_planes_own_token_is_deleted_at_once(cp: ControlPlane) -> None:
    """No binding takes it: the data plane starts without it (with `DP_INTERNAL_TOKEN`)."""
    await cp.create_tenant("shop")
    scope = "/v1/tenants/shop/credentials/data_plane"
    stored = await cp.client.put(scope, json={"internal_token": "dp-token-1"}, headers=cp.admin)
    assert stored.status_code == 200, stored.text
    deleted = await cp.client.delete(scope, headers=cp.admin)
    assert deleted.status_code == 204, deleted.text
    assert await _scopes(cp) == []
