"""Many registrations of one tenant id at once: one is created, every other answers that the
tenant exists (not "retry": a retry would only answer that)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cp_harness import ControlPlane

from botfleet.control_plane.db.repositories import TenantRepository


async def test_ten_registrations_of_one_id_at_once(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up = TenantRepository.get

    async def slow_lookup(self: TenantRepository, tenant_id: str) -> Any:
        found = await looked_up(self, tenant_id)
        await asyncio.sleep(0.2)  # every request finds the id free before any stores it
        return found

    monkeypatch.setattr(TenantRepository, "get", slow_lookup)
    body = {"id": "race", "name": "Race"}
    answers = await asyncio.gather(
        *(cp.client.post("/v1/tenants", json=body, headers=cp.admin) for _ in range(10))
    )

    assert sorted(a.status_code for a in answers) == [201] + [409] * 9
    refused = [a.json() for a in answers if a.status_code == 409]
    assert refused == [{"detail": "tenant 'race' already exists"}] * 9
    monkeypatch.undo()
    tenants = (await cp.client.get("/v1/tenants", headers=cp.admin)).json()
    assert [t["id"] for t in tenants] == ["race"]
    audit = (await cp.client.get("/v1/audit", headers=cp.admin)).json()
    assert [e["action"] for e in audit] == ["tenant.create"]
