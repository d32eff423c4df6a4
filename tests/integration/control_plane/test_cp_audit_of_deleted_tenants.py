"""A deleted tenant's id still finds its deletion in the audit log (`GET /v1/audit?tenant_id=`),
for the admin; a tenant registered later under the id neither sees it nor purges it."""

from __future__ import annotations

from typing import Any

from cp_harness import ControlPlane


async def _audit(cp: ControlPlane, headers: dict[str, str], **params: Any) -> list[Any]:
    answer = await cp.client.get("/v1/audit", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    entries: list[Any] = answer.json()
    return entries


async def test_the_deletion_of_a_tenant_is_found_by_its_id(cp: ControlPlane) -> None:
    await cp.create_tenant("tmpdel")
    await cp.create_tenant("other")
    assert (await cp.client.delete("/v1/tenants/tmpdel", headers=cp.admin)).status_code == 204

    (found,) = await _audit(cp, cp.admin, tenant_id="tmpdel")
    assert (found["action"], found["target"], found["actor"]) == (
        "tenant.delete",
        "tmpdel",
        "admin",
    )
    assert await _audit(cp, cp.admin, tenant_id="tmpdel", action="tenant.delete") == [found]
    assert await _audit(cp, cp.admin, tenant_id="tmpdel", action="tenant.create") == []
    assert await _audit(cp, cp.admin, tenant_id="tmpdel", before_id=found["id"]) == []
    assert [e["action"] for e in await _audit(cp, cp.admin, tenant_id="other")] == ["tenant.create"]


async def test_a_later_tenant_of_the_id_neither_sees_nor_purges_the_deletion(
    cp: ControlPlane,
) -> None:
    await cp.create_tenant("reused")
    await cp.client.delete("/v1/tenants/reused", headers=cp.admin)
    await cp.create_tenant("reused")
    key = cp.auth(await cp.tenant_key("reused"))

    own = await _audit(cp, key)
    assert [e["action"] for e in own] == ["api_key.create", "tenant.create"]
    assert await _audit(cp, key, tenant_id="reused") == own
    exported = (await cp.client.get("/v1/tenants/reused/export", headers=key)).json()
    assert [e["action"] for e in exported["audit"]] == ["tenant.create", "api_key.create"]

    await cp.client.delete("/v1/tenants/reused", headers=cp.admin)
    admin = await _audit(cp, cp.admin, tenant_id="reused")
    assert [e["action"] for e in admin] == ["tenant.delete", "tenant.delete"]
