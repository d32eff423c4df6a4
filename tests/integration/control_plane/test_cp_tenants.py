"""Tenants: create, list, get, update, bindings validated, disable, export, delete."""

from __future__ import annotations

import pytest
from cp_harness import ControlPlane

WHATSAPP = {"type": "whatsapp", "phone_number_id": "123456"}
CALENDAR = {
    "type": "mock_calendar",
    "timezone": "Europe/Madrid",
    "schedule": {"mon": ["10:00-14:00"]},
}


async def test_create_and_read_a_tenant(cp: ControlPlane) -> None:
    token = await cp.create_tenant(
        "peluqueria",
        timezone="Europe/Madrid",
        language="es",
        channel=WHATSAPP,
        connectors={"calendar": CALENDAR},
        llm={"enabled": True, "provider": "anthropic", "quota_monthly_tokens": 500000},
    )
    assert token.startswith("bfb_")
    tenant = (await cp.client.get("/v1/tenants/peluqueria", headers=cp.admin)).json()
    assert tenant["status"] == "active"
    assert tenant["channel"] == WHATSAPP
    assert tenant["connectors"]["calendar"]["schedule"] == {"mon": ["10:00-14:00"]}
    assert tenant["llm"]["quota_monthly_tokens"] == 500000
    assert token not in str(tenant)
    again = await cp.client.post(
        "/v1/tenants", json={"id": "peluqueria", "name": "Dup"}, headers=cp.admin
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"channel": {"type": "fax"}}, "channel.type"),
        ({"channel": {"type": "whatsapp"}}, "channel.phone_number_id"),
        ({"channel": {**WHATSAPP, "access_token": "EAA"}}, "channel.access_token"),
        ({"channel": {**WHATSAPP, "colour": "red"}}, "channel.colour"),
        ({"connectors": {"calendar": {"type": "outlook"}}}, "connectors.calendar.type"),
        ({"connectors": {"calendar": {"type": "caldav", "url": "x", "password": "p"}}},
         "connectors.calendar.password"),
        ({"connectors": {"calendar": {**CALENDAR, "schedule": {"mon": ["9-14"]}}}},
         "connectors.calendar.schedule"),
        ({"connectors": {"Calendar": CALENDAR}}, "connectors.Calendar"),
        ({"llm": {"provider": "skynet"}}, "llm.provider"),
        ({"llm": {"api_key": "sk-1"}}, "llm.api_key"),
        ({"llm": {"provider": "anthropic"}, "connectors": {"llm": {"type": "mock_llm"}}},
         "llm.provider"),
    ],
)  # fmt: skip
async def test_bindings_are_validated_and_errors_name_the_key(
    cp: ControlPlane, fields: dict[str, object], named: str
) -> None:
    response = await cp.client.post(
        "/v1/tenants", json={"id": "acme", "name": "Acme", **fields}, headers=cp.admin
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(named)
    assert (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).status_code == 404


async def test_bad_tenant_fields_are_refused(cp: ControlPlane) -> None:
    for body in (
        {"id": "Bad Id", "name": "x"},
        {"id": "ok", "name": "x", "timezone": "Mars/Olympus"},
        {"id": "ok", "name": "x", "data_plane_url": "http://user:pw@dp:8002"},
    ):
        response = await cp.client.post("/v1/tenants", json=body, headers=cp.admin)
        assert response.status_code == 422, body


async def test_update_changes_only_given_fields_and_is_audited(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", connectors={"calendar": CALENDAR})
    response = await cp.client.patch(
        "/v1/tenants/acme",
        json={"name": "Acme Ltd", "channel": {"type": "telegram"}},
        headers=cp.admin,
    )
    assert response.status_code == 200
    tenant = response.json()
    assert tenant["name"] == "Acme Ltd"
    assert tenant["channel"] == {"type": "telegram"}
    assert tenant["connectors"]["calendar"]["type"] == "mock_calendar"
    bad = await cp.client.patch(
        "/v1/tenants/acme", json={"channel": {"type": "telegram", "bot_token": "1:x"}},
        headers=cp.admin,
    )  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("channel.bot_token")
    audit = (await cp.client.get("/v1/audit?action=tenant.update", headers=cp.admin)).json()
    assert audit[0]["details"] == {"fields": ["channel", "name"]}


async def test_only_the_admin_points_the_cp_at_a_data_plane(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    refused = await cp.client.patch(
        "/v1/tenants/acme", json={"data_plane_url": "http://169.254.169.254"}, headers=cp.auth(key)
    )
    assert refused.status_code == 403
    allowed = await cp.client.patch(
        "/v1/tenants/acme", json={"data_plane_url": "http://dp-acme:8002/"}, headers=cp.admin
    )
    assert allowed.json()["data_plane_url"] == "http://dp-acme:8002"


async def test_tenant_key_lists_only_its_tenant(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await cp.create_tenant("globex")
    key = await cp.tenant_key("acme")
    mine = (await cp.client.get("/v1/tenants", headers=cp.auth(key))).json()
    assert [t["id"] for t in mine] == ["acme"]
    everyone = (await cp.client.get("/v1/tenants", headers=cp.admin)).json()
    assert [t["id"] for t in everyone] == ["acme", "globex"]


async def test_disabled_tenant_cannot_boot_until_enabled(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    disabled = await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)
    assert disabled.json()["status"] == "disabled"
    boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert boot.status_code == 403
    assert "disabled" in boot.json()["detail"]
    await cp.client.post("/v1/tenants/acme/enable", headers=cp.admin)
    assert (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).status_code == 200


async def test_export_then_delete_removes_every_row(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await cp.create_tenant("globex")
    key = await cp.tenant_key("acme")
    await cp.upload_flow("acme", publish=True)
    await cp.client.post("/v1/tenants/acme/knowledge", json={"text": "# FAQ"}, headers=cp.admin)
    await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": "sk-live-secret"}, headers=cp.admin
    )
    exported = await cp.client.get("/v1/tenants/acme/export", headers=cp.auth(key))
    assert exported.status_code == 200
    data = exported.json()
    assert data["tenant"]["id"] == "acme"
    assert [f["version"] for f in data["flows"]] == [1]
    assert "Hello from version 1" in data["flows"][0]["yaml"]
    assert data["knowledge"][0]["text"] == "# FAQ"
    assert data["credentials"] == [
        {
            "scope": "llm",
            "key_names": ["api_key"],
            "stored_by": "operator",
            "updated_at": data["credentials"][0]["updated_at"],
        }
    ]
    assert [a["action"] for a in data["audit"]][:2] == ["tenant.create", "api_key.create"]
    assert "sk-live-secret" not in exported.text
    assert key not in exported.text

    deleted = await cp.client.delete("/v1/tenants/acme", headers=cp.admin)
    assert deleted.status_code == 204
    assert (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).status_code == 404
    assert (await cp.client.get("/v1/tenants/acme", headers=cp.auth(key))).status_code == 401
    remaining = (await cp.client.get("/v1/audit", headers=cp.admin)).json()
    assert {e["tenant_id"] for e in remaining} == {"globex", None}
    assert remaining[0]["action"] == "tenant.delete"
    assert remaining[0]["target"] == "acme"
    # The id is free again, and nothing of the old tenant comes back.
    await cp.create_tenant("acme")
    flows = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    assert flows["versions"] == []
    creds = (await cp.client.get("/v1/tenants/acme/credentials", headers=cp.admin)).json()
    assert creds == []


async def test_text_the_database_cannot_store_is_a_422_on_every_backend(cp: ControlPlane) -> None:
    """PostgreSQL refuses NUL characters and over-long values; SQLite would take them."""
    nul_name = await cp.client.post(
        "/v1/tenants", json={"id": "acme", "name": "a\x00b"}, headers=cp.admin
    )
    assert nul_name.status_code == 422
    long_url = "http://dp.example/" + "x" * 600
    long = await cp.client.post(
        "/v1/tenants", json={"id": "acme", "name": "A", "data_plane_url": long_url},
        headers=cp.admin,
    )  # fmt: skip
    assert long.status_code == 422
    await cp.create_tenant("acme")
    key_name = await cp.client.post(
        "/v1/tenants/acme/api-keys", json={"name": "tab\there"}, headers=cp.admin
    )
    assert key_name.status_code == 422
    flow = await cp.client.post(
        "/v1/tenants/acme/flows",
        json={"yaml": 'id: "a\\0b"\ninitial_state: M\nstates:\n  M:\n    fallback: M\n'},
        headers=cp.admin,
    )
    assert flow.status_code == 422
    assert "NUL" in flow.json()["detail"]
