"""A tenant key may not delete or replace stored credentials holding a URL it could not store
again (SQLite, PostgreSQL): an operator's internal webhook `url` or a service account's
`token_uri`, taken away by a `DELETE`, a `PUT` replacing the scope or a `PATCH` with
``?drop_stale_credentials=true``, could never be put back by the tenant (a tenant key may only
store public URLs): locked out of its own connector until an operator came. The admin key may,
so may any key under `CP_TENANT_URL_POLICY=any`, and a URL that only does not resolve (a
lapsed domain) may go."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
from cp_harness import ControlPlane, Database, make_settings, running_control_plane
from service_account_key import service_account

INTERNAL_HOOK = "http://10.0.0.5:8080/hook"
PUBLIC_HOOK = "https://hooks.acme-shop.com/in"
HOOK = {"type": "webhook", "format": "json"}
NOTIFY = "/v1/tenants/acme/credentials/connector:notification"
CALENDAR = "/v1/tenants/acme/credentials/connector:calendar"
#: The deletes here are of secrets their binding requires: `force`, as the URL rules are tested.
FORCE = {"force": "true"}


async def _acme_with_hook(cp: ControlPlane, url: str) -> dict[str, str]:
    """The tenant with a webhook whose `url` (and signing secret) the operator stored."""
    await cp.create_tenant("acme", connectors={"notification": HOOK})
    stored = await cp.client.put(NOTIFY, json={"url": url, "secret": "whsec-1"}, headers=cp.admin)
    assert stored.status_code == 200, stored.text
    return cp.auth(await cp.tenant_key("acme"))


def _held(response: httpx.Response, place: str, why: str) -> None:
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(f"{place}: holds a URL this API key could not set again ("), detail
    assert why in detail and "CP_TENANT_URL_POLICY=public" in detail, detail
    assert "removing or changing it needs the admin API key" in detail, detail
    assert "10.0.0.5" not in response.text and "169.254" not in response.text


async def _scopes(cp: ControlPlane) -> list[list[str]]:
    listed = await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)
    return [row["key_names"] for row in listed.json()]


async def test_a_tenant_key_cannot_delete_an_internal_hook_url(cp: ControlPlane) -> None:
    key = await _acme_with_hook(cp, INTERNAL_HOOK)

    deleted = await cp.client.delete(NOTIFY, params=FORCE, headers=key)

    _held(deleted, "credentials.connector:notification.url", "private-network address")
    assert await _scopes(cp) == [["secret", "url"]]
    admin = await cp.client.delete(NOTIFY, params=FORCE, headers=cp.admin)
    assert admin.status_code == 204, admin.text
    assert await _scopes(cp) == []


async def test_nor_replace_it_with_a_put(cp: ControlPlane) -> None:
    key = await _acme_with_hook(cp, INTERNAL_HOOK)

    replaced = await cp.client.put(NOTIFY, json={"url": PUBLIC_HOOK, "secret": "w2"}, headers=key)

    _held(replaced, "credentials.connector:notification.url", "private-network address")
    assert "leave these credentials as they are to keep it" in replaced.json()["detail"]
    assert await _scopes(cp) == [["secret", "url"]]
    assert cp.dns.asked == ["hooks.acme-shop.com"]  # the new URL; the stored one by its form


async def test_nor_drop_it_moving_the_url_into_the_binding(cp: ControlPlane) -> None:
    key = await _acme_with_hook(cp, INTERNAL_HOOK)
    bound = {"connectors": {"notification": {**HOOK, "url": PUBLIC_HOOK}}}

    dropped = await cp.client.patch(
        "/v1/tenants/acme", json=bound, params={"drop_stale_credentials": "true"}, headers=key
    )

    _held(dropped, "credentials.connector:notification.url", "private-network address")
    assert "leave the binding as it is to keep it" in dropped.json()["detail"]
    assert await _scopes(cp) == [["secret", "url"]]
    tenant = await cp.client.get("/v1/tenants/acme", headers=key)
    assert tenant.json()["connectors"] == {"notification": HOOK}


async def test_nor_delete_an_internal_token_uri(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors={"calendar": {"type": "google_calendar"}})
    account = service_account(token_uri="http://169.254.169.254/token")
    stored = await cp.client.put(
        CALENDAR, json={"service_account_info": json.dumps(account)}, headers=cp.admin
    )
    assert stored.status_code == 200, stored.text
    key = cp.auth(await cp.tenant_key("acme"))

    deleted = await cp.client.delete(CALENDAR, params=FORCE, headers=key)

    _held(
        deleted,
        "credentials.connector:calendar.service_account_info.token_uri",
        "link-local address",
    )
    assert await _scopes(cp) == [["service_account_info"]]


async def test_public_and_lapsed_hook_urls_are_the_tenants_to_remove(cp: ControlPlane) -> None:
    cp.dns.table["hooks.lapsed-shop.com"] = socket.gaierror(socket.EAI_NONAME, "not known")
    key = await _acme_with_hook(cp, "https://hooks.lapsed-shop.com/in")

    replaced = await cp.client.put(NOTIFY, json={"url": PUBLIC_HOOK, "secret": "w2"}, headers=key)
    assert replaced.status_code == 200, replaced.text
    deleted = await cp.client.delete(NOTIFY, params=FORCE, headers=key)
    assert deleted.status_code == 204, deleted.text
    assert await _scopes(cp) == []


async def test_with_policy_any_a_tenant_key_may_delete_it(database: Database) -> None:
    settings = make_settings(database, tenant_url_policy="any")
    async with running_control_plane(settings) as cp:
        key = await _acme_with_hook(cp, INTERNAL_HOOK)
        body: dict[str, Any] = {"url": "http://10.0.0.6/hook", "secret": "w2"}
        replaced = await cp.client.put(NOTIFY, json=body, headers=key)
        assert replaced.status_code == 200, replaced.text
        deleted = await cp.client.delete(NOTIFY, params=FORCE, headers=key)
        assert deleted.status_code == 204, deleted.text
        assert cp.dns.asked == []
