"""`GET /v1/audit?actor=` keeps one caller's entries (``admin``, ``apikey:<key id>``): what a
leaked key did, in the database's query (pages stay full, ``before_id`` pages on). A tenant
key still sees its own tenant's entries only.

There was no such filter: finding one key's changes meant reading every entry of the tenant.
"""

from __future__ import annotations

from typing import Any

from cp_harness import TINY_FLOW, ControlPlane


async def _key(cp: ControlPlane, tenant_id: str, name: str, role: str = "owner") -> dict[str, Any]:
    response = await cp.client.post(
        f"/v1/tenants/{tenant_id}/api-keys", json={"name": name, "role": role}, headers=cp.admin
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _upload(cp: ControlPlane, tenant_id: str, key: str, label: str) -> None:
    response = await cp.client.post(
        f"/v1/tenants/{tenant_id}/flows",
        content=TINY_FLOW.format(v=label),
        headers={**cp.auth(key), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text


async def _audit(cp: ControlPlane, key: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await cp.client.get("/v1/audit", params=params, headers=key)
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def test_the_audit_lists_what_one_key_did(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    await cp.create_tenant("globex")
    leaked = await _key(cp, "acme", "leaked", "editor")
    other = await _key(cp, "acme", "other", "editor")
    globex = await _key(cp, "globex", "theirs", "editor")
    for label in ("1", "2", "3"):
        await _upload(cp, "acme", leaked["key"], label)
    await _upload(cp, "acme", other["key"], "4")
    await _upload(cp, "globex", globex["key"], "5")

    actor = f"apikey:{leaked['id']}"
    by_the_admin = await _audit(cp, cp.admin, actor=actor)
    assert [(e["actor"], e["action"], e["target"]) for e in by_the_admin] == [
        (actor, "flow.upload", "3"),
        (actor, "flow.upload", "2"),
        (actor, "flow.upload", "1"),
    ]
    # Paging over the filtered entries: full pages, then on from the last id.
    first = await _audit(cp, cp.admin, actor=actor, limit=2)
    rest = await _audit(cp, cp.admin, actor=actor, limit=2, before_id=first[-1]["id"])
    assert [e["id"] for e in first + rest] == [e["id"] for e in by_the_admin]
    # With the other filters.
    assert await _audit(cp, cp.admin, actor=actor, tenant_id="globex") == []
    assert len(await _audit(cp, cp.admin, actor=actor, action="flow.upload")) == 3

    admins = await _audit(cp, cp.admin, actor="admin")
    assert admins and {e["actor"] for e in admins} == {"admin"}
    assert {"tenant.create", "api_key.create"} <= {e["action"] for e in admins}

    # A tenant key filters within its own tenant only.
    other_key = cp.auth(other["key"])
    assert [e["target"] for e in await _audit(cp, other_key, actor=actor)] == ["3", "2", "1"]
    theirs = await _audit(cp, other_key, actor=f"apikey:{globex['id']}")
    assert theirs == []
    refused = await cp.client.get(
        "/v1/audit", params={"actor": actor, "tenant_id": "globex"}, headers=other_key
    )
    assert refused.status_code == 404


async def test_an_actor_not_shaped_as_the_audit_names_callers_is_422(cp: ControlPlane) -> None:
    for actor in ("apikey:", "apikey:XYZ", "bfk_0123456789ab_secret", "Admin", "apikey:%", ""):
        response = await cp.client.get("/v1/audit", params={"actor": actor}, headers=cp.admin)
        assert response.status_code == 422, (actor, response.text)
        assert "actor" in response.text
