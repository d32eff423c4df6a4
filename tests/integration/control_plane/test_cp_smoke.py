"""Smoke: the app starts, creates a tenant and serves its boot payload."""

from __future__ import annotations

from cp_harness import ControlPlane


async def test_tenant_flow_and_boot_round_trip(cp: ControlPlane) -> None:
    token = await cp.create_tenant("acme")
    response = await cp.upload_flow("acme", publish=True)
    assert response.status_code == 201, response.text
    boot = await cp.client.get("/v1/boot/acme", headers=cp.auth(token))
    assert boot.status_code == 200, boot.text
    assert boot.json()["flow"]["version"] == 1
