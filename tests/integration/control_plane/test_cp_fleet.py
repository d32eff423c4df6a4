"""Observability: tenant status and the fleet view read the data planes, never failing."""

from __future__ import annotations

import httpx
from cp_harness import FERNET_KEY, ControlPlane, Database, make_settings, running_control_plane
from cryptography.fernet import Fernet

INTERNAL_TOKEN = "dp-internal-token-777"


def _data_plane(request: httpx.Request) -> httpx.Response:
    host, path = request.url.host, request.url.path
    if path in ("/usage", "/tasks") and request.headers.get("authorization") != (
        f"Bearer {INTERNAL_TOKEN}"
    ):
        return httpx.Response(401, json={"detail": "missing or wrong internal token"})
    if host == "dp-down":
        raise httpx.ConnectTimeout("timed out", request=request)
    if host == "dp-sick" and path == "/health":
        return httpx.Response(503, json={"status": "degraded"})
    if path == "/health":
        return httpx.Response(200, json={"status": "ok", "flow_version": 1})
    if path == "/usage":
        return httpx.Response(200, json={"messages_in": 12, "llm_tokens": 345})
    if path == "/tasks":
        return httpx.Response(200, json=[{"id": "reminder:1", "run_at": "2026-01-01T10:00:00Z"}])
    return httpx.Response(404)


async def test_status_and_fleet_aggregate_each_data_plane(database: Database) -> None:
    async with running_control_plane(make_settings(database), _data_plane) as cp:
        for tenant, url in (
            ("healthy", "http://dp-ok:8002"),
            ("down", "http://dp-down:8002"),
            ("sick", "http://dp-sick:8002"),
            ("nowhere", None),
        ):
            await cp.create_tenant(tenant, data_plane_url=url)
        key = await cp.tenant_key("healthy")
        stored = await cp.client.put(
            "/v1/tenants/healthy/credentials/data_plane",
            json={"internal_token": INTERNAL_TOKEN},
            headers=cp.auth(key),
        )
        assert stored.status_code == 200
        status = await cp.client.get("/v1/tenants/healthy/status", headers=cp.auth(key))
        assert status.status_code == 200
        body = status.json()
        assert body["status"] == "ok"
        assert body["health"] == {"status": "ok", "flow_version": 1}
        assert body["usage"]["messages_in"] == 12
        assert body["tasks"][0]["id"] == "reminder:1"
        assert body["errors"] == []
        assert INTERNAL_TOKEN not in status.text

        fleet = await cp.client.get("/v1/fleet", headers=cp.admin)
        assert fleet.status_code == 200
        by_id = {t["tenant_id"]: t for t in fleet.json()["tenants"]}
        assert {k: v["status"] for k, v in by_id.items()} == {
            "healthy": "ok", "down": "unreachable", "sick": "degraded", "nowhere": "unconfigured",
        }  # fmt: skip
        assert "ConnectTimeout" in by_id["down"]["errors"][0]
        assert by_id["sick"]["health"] is None
        assert "GET http://dp-sick:8002/usage: HTTP 401" in by_id["sick"]["errors"]
        assert INTERNAL_TOKEN not in fleet.text
        requested = {(r.url.host, r.url.path) for r in cp.data_plane_requests}
        assert ("dp-ok", "/usage") in requested
        assert ("dp-ok", "/tasks") in requested


async def test_unreachable_data_plane_is_reported_not_raised(cp: ControlPlane) -> None:
    await cp.create_tenant("acme", data_plane_url="http://127.0.0.1:9")
    status = await cp.client.get("/v1/tenants/acme/status", headers=cp.admin)
    assert status.status_code == 200
    assert status.json()["status"] == "unreachable"


async def test_one_undecryptable_credential_does_not_break_the_fleet(database: Database) -> None:
    """A `data_plane` token sealed with a key no longer configured: that tenant is probed
    without it and the error is in its `errors`; the other tenants are unaffected."""
    async with running_control_plane(make_settings(database), _data_plane) as cp:
        for tenant in ("lost", "fine"):
            await cp.create_tenant(tenant, data_plane_url=f"http://dp-{tenant}:8002")
            stored = await cp.client.put(
                f"/v1/tenants/{tenant}/credentials/data_plane",
                json={"internal_token": INTERNAL_TOKEN},
                headers=cp.admin,
            )
            assert stored.status_code == 200
    other_key = Fernet.generate_key().decode()
    async with running_control_plane(
        make_settings(database, fernet_keys=f"{other_key},{FERNET_KEY}"), _data_plane
    ) as cp:
        # Re-seal "fine" with the new key, then drop the old one: "lost" becomes unreadable.
        assert (await cp.client.put(
            "/v1/tenants/fine/credentials/data_plane", json={"internal_token": INTERNAL_TOKEN},
            headers=cp.admin,
        )).status_code == 200  # fmt: skip
    async with running_control_plane(
        make_settings(database, fernet_keys=other_key), _data_plane
    ) as cp:
        fleet = await cp.client.get("/v1/fleet", headers=cp.admin)
        assert fleet.status_code == 200
        by_id = {t["tenant_id"]: t for t in fleet.json()["tenants"]}
        assert by_id["fine"]["status"] == "ok" and by_id["fine"]["errors"] == []
        assert by_id["fine"]["usage"]["messages_in"] == 12
        lost = by_id["lost"]
        assert lost["status"] == "ok", "its data plane answers /health"
        assert lost["errors"][0].startswith("lost/data_plane: cannot decrypt")
        assert "GET http://dp-lost:8002/usage: HTTP 401" in lost["errors"]
        single = await cp.client.get("/v1/tenants/lost/status", headers=cp.admin)
        assert single.status_code == 200
        assert single.json()["errors"][0].startswith("lost/data_plane: cannot decrypt")
        assert INTERNAL_TOKEN not in fleet.text + single.text
