"""A tenant key may not move a URL that stored credentials are sent with to another host.

The operator stores a tenant's LLM key (or a webhook token, a CalDAV password) with the admin
key; the tenant cannot read it back. If a tenant key could PATCH `llm.base_url` (or the
webhook's or CalDAV's `url`) to a host of its own, the data plane would send the secret there.
Such a change answers 409 naming the place and the credentials, never a URL; the same host
with another path passes, and so does the admin key, or the change once the credentials are
deleted or replaced by the tenant's own (which it may send anywhere: the control plane records
who stored each scope, see test_cp_credential_stored_by.py)."""

from __future__ import annotations

from typing import Any

from cp_harness import ControlPlane

LLM_BASE = "https://llm.operator-example.com/v1"
EVIL = "evil-tenant-host.example.net"
API_KEY = "sk-operator-secret-123"
DAV = "https://dav.operator-example.com/dav/"
HOOK = "https://hooks.operator-example.com/botfleet"
CALENDAR = {"type": "caldav", "url": DAV, "calendar_name": "salon", "username": "salon"}


async def _setup(cp: ControlPlane) -> dict[str, str]:
    await cp.create_tenant(
        "acme",
        connectors={
            "calendar": CALENDAR,
            "notification": {"type": "webhook", "url": HOOK},
        },
        llm={"enabled": True, "provider": "openai_compatible", "base_url": LLM_BASE},
    )
    for scope, values in (
        ("llm", {"api_key": API_KEY}),
        ("connector:calendar", {"password": "caldav-secret"}),
        ("connector:notification", {"token": "hook-token-secret"}),
    ):
        put = await cp.client.put(
            f"/v1/tenants/acme/credentials/{scope}", json=values, headers=cp.admin
        )
        assert put.status_code == 200, put.text
    return cp.auth(await cp.tenant_key("acme"))


async def _patch(cp: ControlPlane, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return await cp.client.patch("/v1/tenants/acme", json=body, headers=headers)


def _llm(base_url: str, **more: Any) -> dict[str, Any]:
    return {"llm": {"enabled": True, "provider": "openai_compatible", "base_url": base_url, **more}}


def _refused(response: Any, place: str, scope: str) -> None:
    assert response.status_code == 409, response.text
    detail = response.json()["detail"]
    assert detail.startswith(
        f"{place}: credentials {scope!r} were stored by an operator (admin API key)"
    ), detail
    assert "needs the admin API key" in detail
    assert f"PUT /v1/tenants/acme/credentials/{scope}" in detail
    assert f"DELETE /v1/tenants/acme/credentials/{scope}" in detail
    assert EVIL not in response.text
    assert "operator-example" not in response.text


async def test_a_tenant_key_cannot_send_the_operators_llm_key_elsewhere(cp: ControlPlane) -> None:
    key = await _setup(cp)

    for moved in (f"https://{EVIL}/v1", "http://llm.operator-example.com/v1",
                  "https://llm.operator-example.com:8443/v1"):  # fmt: skip
        _refused(await _patch(cp, _llm(moved), key), "llm.base_url", "llm")

    tenant = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert tenant["llm"]["base_url"] == LLM_BASE
    # The same host: another path, another case, the default port spelled out.
    same = "https://LLM.operator-example.com:443/v2"
    assert (await _patch(cp, _llm(same), key)).status_code == 200
    # Other settings, the URL sent back unchanged.
    assert (await _patch(cp, _llm(same, model="m2"), key)).status_code == 200


async def test_a_url_added_where_there_was_none_counts_as_a_move(cp: ControlPlane) -> None:
    key = await _setup(cp)
    assert (await _patch(cp, {"llm": {"enabled": True, "provider": "openai_compatible"}},
                         cp.admin)).status_code == 200  # fmt: skip

    _refused(await _patch(cp, _llm(f"https://{EVIL}/v1"), key), "llm.base_url", "llm")
    # Through the other section the LLM adapter reads, too.
    body = {"connectors": {
        "calendar": CALENDAR,
        "notification": {"type": "webhook", "url": HOOK},
        "llm": {"type": "openai_compatible", "base_url": f"https://{EVIL}/v1"},
    }}  # fmt: skip
    _refused(await _patch(cp, body, key), "llm.base_url", "llm")


async def test_connector_urls_are_held_the_same_way(cp: ControlPlane) -> None:
    key = await _setup(cp)
    calendar = CALENDAR
    hook = {"type": "webhook", "url": HOOK}

    moved_hook = {"connectors": {"calendar": calendar, "notification": {**hook,
                  "url": f"https://{EVIL}/x"}}}  # fmt: skip
    _refused(await _patch(cp, moved_hook, key), "connectors.notification.url",
             "connector:notification")  # fmt: skip
    moved_dav = {"connectors": {"calendar": {**calendar, "url": f"https://{EVIL}/dav/"},
                 "notification": hook}}  # fmt: skip
    _refused(await _patch(cp, moved_dav, key), "connectors.calendar.url", "connector:calendar")
    absolute_id = {"connectors": {"calendar": {**calendar, "calendar_id": f"https://{EVIL}/c/"},
                   "notification": hook}}  # fmt: skip
    _refused(await _patch(cp, absolute_id, key), "connectors.calendar.calendar_id",
             "connector:calendar")  # fmt: skip

    # The admin key may move it.
    assert (await _patch(cp, moved_hook, cp.admin)).status_code == 200


async def test_after_deleting_the_credentials_the_tenant_moves_the_url_and_stores_its_own(
    cp: ControlPlane,
) -> None:
    key = await _setup(cp)
    mine = f"https://{EVIL}/v1"
    _refused(await _patch(cp, _llm(mine), key), "llm.base_url", "llm")

    deleted = await cp.client.delete("/v1/tenants/acme/credentials/llm", headers=key)
    assert deleted.status_code == 204, deleted.text
    assert (await _patch(cp, _llm(mine), key)).status_code == 200
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": "sk-tenant-own"}, headers=key
    )
    assert put.status_code == 200, put.text
    # Its own secrets now: the tenant may move them back, or anywhere.
    assert (await _patch(cp, _llm(LLM_BASE), key)).status_code == 200
    assert (await _patch(cp, _llm(mine), key)).status_code == 200


async def test_without_stored_credentials_the_tenant_may_move_its_urls(cp: ControlPlane) -> None:
    await cp.create_tenant(
        "acme", llm={"enabled": True, "provider": "openai_compatible", "base_url": LLM_BASE}
    )
    key = cp.auth(await cp.tenant_key("acme"))
    assert (await _patch(cp, _llm(f"https://{EVIL}/v1"), key)).status_code == 200
