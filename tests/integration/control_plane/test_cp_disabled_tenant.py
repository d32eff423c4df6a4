"""A disabled tenant is frozen for its own keys (SQLite and PostgreSQL): they can still read and
export it, and revoke their keys, but every change answers 403 saying the tenant is disabled.
The admin can still change it (to fix it before enabling it), enable it and delete it."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from cp_harness import ADMIN_KEY, TINY_FLOW, ControlPlane

from botfleet.control_plane.services import versions

REFUSED = (
    "tenant 'acme' is disabled: its API keys can read it but not change it; an admin can "
    "enable it (POST /v1/tenants/acme/enable)"
)
YAML = {"Content-Type": "application/yaml"}
# Every change a tenant key could otherwise make, with a body that would be accepted.
CHANGES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/v1/tenants/acme/flows", {"content": TINY_FLOW.format(v="new")}),
    ("POST", "/v1/tenants/acme/flows?publish=true", {"content": TINY_FLOW.format(v="new")}),
    ("POST", "/v1/tenants/acme/flows/2/publish", {}),
    ("POST", "/v1/tenants/acme/flows/rollback", {}),
    ("POST", "/v1/tenants/acme/knowledge?publish=true", {"json": {"text": "# New"}}),
    ("POST", "/v1/tenants/acme/knowledge/rollback", {"json": {"version": 1}}),
    ("POST", "/v1/tenants/acme/knowledge/2/publish", {}),
    ("PATCH", "/v1/tenants/acme", {"json": {"name": "Taken back"}}),
    ("PUT", "/v1/tenants/acme/credentials/llm", {"json": {"api_key": "sk-while-disabled"}}),
    ("DELETE", "/v1/tenants/acme/credentials/llm", {}),
    ("POST", "/v1/tenants/acme/api-keys", {"json": {"name": "another"}}),
    ("POST", "/v1/tenants/acme/boot-token/rotate", {}),
]
READS = [
    "/v1/tenants",
    "/v1/tenants/acme",
    "/v1/tenants/acme/flows",
    "/v1/tenants/acme/flows/1",
    "/v1/tenants/acme/knowledge",
    "/v1/tenants/acme/credentials",
    "/v1/tenants/acme/api-keys",
    "/v1/tenants/acme/export",
    "/v1/audit",
]


async def _send(
    cp: ControlPlane, method: str, path: str, key: str, extra: dict[str, Any]
) -> httpx.Response:
    headers = {**cp.auth(key), **(YAML if "content" in extra else {})}
    return await cp.client.request(method, path, headers=headers, **extra)


async def _snapshot(cp: ControlPlane) -> dict[str, Any]:
    paths = [p for p in READS if p not in ("/v1/audit", "/v1/tenants/acme/export")]
    snapshot = {path: (await cp.client.get(path, headers=cp.admin)).json() for path in paths}
    # When a key was last used is bookkeeping of its use (the refused requests used it), not
    # a change of the tenant.
    for key in snapshot["/v1/tenants/acme/api-keys"]:
        key.pop("last_used_at")
    return snapshot


async def _disabled_tenant(cp: ControlPlane) -> tuple[str, str]:
    """acme with two flows (1 published), one knowledge version (published), llm credentials
    and a tenant key; disabled. Returns (boot token, tenant key)."""
    token = await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    assert (await cp.upload_flow("acme", "one", publish=True)).status_code == 201
    assert (await cp.upload_flow("acme", "two")).status_code == 201
    knowledge = await cp.client.post(
        "/v1/tenants/acme/knowledge?publish=true", json={"text": "# FAQ"}, headers=cp.admin
    )
    assert knowledge.status_code == 201
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": "sk-before"}, headers=cp.admin
    )
    assert put.status_code == 200
    disabled = await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)
    assert disabled.json()["status"] == "disabled"
    return token, key


async def test_a_disabled_tenants_keys_can_read_but_not_change_it(cp: ControlPlane) -> None:
    _token, key = await _disabled_tenant(cp)
    before = await _snapshot(cp)

    for method, path, extra in CHANGES:
        answer = await _send(cp, method, path, key, extra)
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["detail"] == REFUSED, (method, path)

    assert await _snapshot(cp) == before, "nothing changed"
    for path in READS:
        assert (await cp.client.get(path, headers=cp.auth(key))).status_code == 200, path
    diff = await cp.client.get(
        "/v1/tenants/acme/flows/diff", params={"from": 1, "to": 2}, headers=cp.auth(key)
    )
    assert diff.status_code == 200


async def test_a_disabled_tenants_key_can_still_revoke_keys(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme", "main")
    # Made by the tenant's key: one the admin made, only the admin may revoke.
    made = await cp.client.post(
        "/v1/tenants/acme/api-keys", json={"name": "leaked"}, headers=cp.auth(key)
    )
    leaked = made.json()["key"]
    await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)
    leaked_id = leaked.split("_")[1]

    revoked = await cp.client.delete(f"/v1/tenants/acme/api-keys/{leaked_id}", headers=cp.auth(key))

    assert revoked.status_code == 204, revoked.text
    assert (await cp.client.get("/v1/tenants/acme", headers=cp.auth(leaked))).status_code == 401


async def test_the_admin_still_changes_enables_and_deletes_a_disabled_tenant(
    cp: ControlPlane,
) -> None:
    _token, key = await _disabled_tenant(cp)
    for method, path, extra in CHANGES:
        answer = await _send(cp, method, path, ADMIN_KEY, extra)
        assert answer.status_code < 300, (method, path, answer.text)
    token = answer.json()["boot_token"]  # the last change rotated it
    # Still disabled: changed, but not booting.
    assert (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).status_code == 403

    assert (await cp.client.post("/v1/tenants/acme/enable", headers=cp.admin)).status_code == 200
    assert (await cp.client.get("/v1/boot/acme", headers=cp.auth(token))).status_code == 200
    # Enabled again, its keys change it again.
    renamed = await cp.client.patch(
        "/v1/tenants/acme", json={"name": "Acme again"}, headers=cp.auth(key)
    )
    assert renamed.status_code == 200, renamed.text
    assert (await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)).status_code == 200
    assert (await cp.client.delete("/v1/tenants/acme", headers=cp.admin)).status_code == 204


async def test_a_change_in_progress_finishes_before_a_disable(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disable waits for a tenant key's upload that holds the tenant (and the next one,
    arriving after it, is refused): the status is read under the tenant's lock."""
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    numbered = versions.next_version
    holding = asyncio.Event()  # the upload holds the tenant's lock

    async def slow_next_version(*args: Any) -> int:
        number = await numbered(*args)
        holding.set()
        await asyncio.sleep(0.3)
        return number

    monkeypatch.setattr(versions, "next_version", slow_next_version)
    upload = asyncio.create_task(
        _send(cp, "POST", "/v1/tenants/acme/flows", key, {"content": TINY_FLOW.format(v="1")})
    )
    # Not a fixed sleep: on a loaded machine the upload took longer than one to get there.
    await asyncio.wait_for(holding.wait(), timeout=30)
    disabled = await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)
    uploaded = await upload
    assert (uploaded.status_code, disabled.status_code) == (201, 200), uploaded.text
    later = await _send(
        cp, "POST", "/v1/tenants/acme/flows", key, {"content": TINY_FLOW.format(v="2")}
    )
    assert later.status_code == 403
    audit = (await cp.client.get("/v1/audit?tenant_id=acme", headers=cp.admin)).json()
    assert [e["action"] for e in audit][:2] == ["tenant.disable", "flow.upload"]
