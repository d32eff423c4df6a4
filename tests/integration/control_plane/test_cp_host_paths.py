"""A tenant key cannot set `credentials_path` (a file on the data plane's host, read as a Google
service-account key): on a machine running several tenants it could name another tenant's key
file. The admin can; the tenant stores `service_account_info` as a credential instead."""

from __future__ import annotations

from typing import Any

from cp_harness import ControlPlane

GOOGLE = {"type": "google_calendar", "calendar_id": "shop@group.calendar.google.com"}


def _calendar(**settings: Any) -> dict[str, Any]:
    return {"connectors": {"calendar": {**GOOGLE, **settings}}}


async def test_a_tenant_key_cannot_name_a_key_file_on_the_host(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = cp.auth(await cp.tenant_key("acme"))
    other = "/var/fleet/bravo/data/google-sa.json"

    refused = await cp.client.patch(
        "/v1/tenants/acme", json=_calendar(credentials_path=other), headers=key
    )

    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert "connectors.calendar.credentials_path" in detail
    assert "admin API key" in detail and "service_account_info" in detail
    tenant = (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).json()
    assert tenant["connectors"] == {}, "nothing changed"
    # Without a path (the key as a credential) the tenant key may bind the calendar.
    allowed = await cp.client.patch("/v1/tenants/acme", json=_calendar(), headers=key)
    assert allowed.status_code == 200, allowed.text


async def test_the_admin_sets_it_and_the_tenant_may_send_it_back_unchanged(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("acme")
    path = "/etc/botfleet/acme-sa.json"
    by_admin = await cp.client.patch(
        "/v1/tenants/acme", json=_calendar(credentials_path=path), headers=cp.admin
    )
    assert by_admin.status_code == 200, by_admin.text
    key = cp.auth(await cp.tenant_key("acme"))

    same = await cp.client.patch(
        "/v1/tenants/acme",
        json=_calendar(credentials_path=path, slot_duration_min=45),
        headers=key,
    )
    assert same.status_code == 200, same.text
    moved = await cp.client.patch(
        "/v1/tenants/acme", json=_calendar(credentials_path="/etc/passwd"), headers=key
    )
    assert moved.status_code == 403, moved.text
