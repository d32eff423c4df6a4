"""A password written in a binding URL would be stored in clear, shown to every tenant key
(GET /v1/tenants/{id}, /export) and cached unencrypted by the data plane: it is refused like
`data_plane_url` refuses one, naming the field and never echoing the URL."""

from __future__ import annotations

import pytest
from cp_harness import ControlPlane

PASSWORD = "S3cretCalDavPass"
CALDAV = {"type": "caldav", "url": f"https://bob:{PASSWORD}@dav.example/cal"}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"connectors": {"calendar": CALDAV}}, "connectors.calendar.url"),
        ({"connectors": {"llm": {"type": "openai_compatible",
                                 "base_url": f"https://k:{PASSWORD}@llm.example/v1"}}},
         "connectors.llm.base_url"),
        ({"llm": {"enabled": True, "base_url": f"https://k:{PASSWORD}@llm.example/v1"}},
         "llm.base_url"),
        ({"channel": {"type": "telegram", "api_base_url": f"https://b:{PASSWORD}@tg.example/"}},
         "channel.api_base_url"),
    ],
)  # fmt: skip
async def test_create_refuses_a_password_in_a_binding_url(
    cp: ControlPlane, fields: dict[str, object], named: str
) -> None:
    response = await cp.client.post(
        "/v1/tenants", json={"id": "acme", "name": "Acme", **fields}, headers=cp.admin
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith(named)
    assert "must not carry credentials" in response.text
    assert PASSWORD not in response.text
    assert (await cp.client.get("/v1/tenants/acme", headers=cp.admin)).status_code == 404


async def test_update_refuses_it_and_keeps_the_stored_binding(cp: ControlPlane) -> None:
    plain = {"type": "caldav", "url": "https://dav.example/cal", "username": "bob"}
    await cp.create_tenant("acme", connectors={"calendar": plain})
    key = await cp.tenant_key("acme")
    response = await cp.client.patch(
        "/v1/tenants/acme", json={"connectors": {"calendar": CALDAV}}, headers=cp.auth(key)
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("connectors.calendar.url")
    view = await cp.client.get("/v1/tenants/acme", headers=cp.auth(key))
    export = await cp.client.get("/v1/tenants/acme/export", headers=cp.auth(key))
    assert view.json()["connectors"]["calendar"] == plain
    assert PASSWORD not in view.text and PASSWORD not in export.text


async def test_the_password_belongs_in_the_credentials(cp: ControlPlane) -> None:
    """The documented way: `username` in the binding, `password` as credentials (boot only)."""
    token = await cp.create_tenant(
        "acme", connectors={"calendar": {"type": "caldav", "url": "https://dav.example/cal",
                                         "username": "bob"}},
    )  # fmt: skip
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/connector:calendar",
        json={"password": PASSWORD},
        headers=cp.admin,
    )
    assert put.status_code == 200
    await cp.upload_flow("acme", publish=True)
    boot = (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).json()
    assert boot["connectors"]["calendar"]["password"] == PASSWORD
    assert "connectors.calendar.password" in boot["secret_paths"]
    view = await cp.client.get("/v1/tenants/acme", headers=cp.admin)
    assert PASSWORD not in view.text
