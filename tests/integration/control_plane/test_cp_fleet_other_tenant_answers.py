"""The fleet view does not report a tenant as up on the word of another tenant's data plane.

With the local orchestrator every data plane listens on a port of one machine; a tenant's
`data_plane_url` left pointing at a port that another tenant's data plane now holds (ports
swapped, a tenant moved) used to show `"status": "ok"` with the other tenant's health.
"""

from __future__ import annotations

import httpx
from cp_harness import Database, make_settings, running_control_plane

TOKENS = {"alpha": "alpha-internal-token-1", "beta": "beta-internal-token-22"}
#: Which tenant's data plane listens behind each host.
RUNS = {"dp-alpha": "alpha", "dp-beta": "beta", "dp-old": "alpha"}


def _data_plane(request: httpx.Request) -> httpx.Response:
    tenant = RUNS[request.url.host]
    if request.url.path == "/health":
        named = {} if request.url.host == "dp-old" else {"tenant_id": tenant}
        health = {"flow_id": "demo", "knowledge_version": "", "busy_contacts": 0}
        body = {"status": "ok", **named, "flow_version": "v1", **health, "connectors": {}}
        return httpx.Response(200, json=body)
    if request.headers.get("authorization") != f"Bearer {TOKENS[tenant]}":
        return httpx.Response(401, json={"detail": "missing or wrong internal token"})
    if request.url.path == "/usage":
        return httpx.Response(200, json={**_USAGE, "tenant_id": tenant, "total_tokens": 7})
    return httpx.Response(200, json={"tasks": [], "count": 0, "truncated": False})


#: A data plane's /usage answer (`data_plane/api/usage.py`), but its tenant and total.
_USAGE = {
    "month": "2026-01", "timezone": "UTC", "llm_enabled": False, "llm_unavailable": None,
    "provider": "mock_llm", "model": "mock", "knowledge_version": "", "input_tokens": 7,
    "output_tokens": 0, "cached_tokens": 0, "quota_monthly_tokens": None,
    "remaining_tokens": None, "requests": 1,
    "questions": {"answered": 1, "out_of_scope": 0, "errors": 0, "over_quota": 0},
}  # fmt: skip


async def test_an_answer_from_another_tenants_data_plane_is_not_ok(database: Database) -> None:
    async with running_control_plane(make_settings(database), _data_plane) as cp:
        await cp.create_tenant("alpha", data_plane_url="http://dp-alpha:8002")
        await cp.create_tenant("beta", data_plane_url="http://dp-alpha:8002")  # alpha's port
        await cp.create_tenant("gamma", data_plane_url="http://dp-old:8002")  # no tenant_id
        for tenant, token in TOKENS.items():
            stored = await cp.client.put(
                f"/v1/tenants/{tenant}/credentials/data_plane",
                json={"internal_token": token},
                headers=cp.admin,
            )
            assert stored.status_code == 200

        fleet = await cp.client.get("/v1/fleet", headers=cp.admin)
        assert fleet.status_code == 200
        by_id = {t["tenant_id"]: t for t in fleet.json()["tenants"]}
        assert by_id["alpha"]["status"] == "ok"
        assert by_id["alpha"]["usage"]["total_tokens"] == 7

        beta = by_id["beta"]
        assert beta["status"] == "unreachable"
        assert beta["health"] is None and beta["usage"] is None and beta["tasks"] is None
        assert "answers as tenant 'alpha'" in beta["errors"][0]
        assert "http://dp-alpha:8002" in beta["errors"][0]

        single = await cp.client.get("/v1/tenants/beta/status", headers=cp.admin)
        assert single.json()["status"] == "unreachable"
        assert TOKENS["beta"] not in fleet.text + single.text
        # beta's token was never sent to alpha's data plane.
        sent = [r.headers.get("authorization") for r in cp.data_plane_requests]
        assert f"Bearer {TOKENS['beta']}" not in sent

        # A data plane whose /health names no tenant (an older release) is taken at its word.
        assert by_id["gamma"]["status"] == "ok"
        assert by_id["gamma"]["health"]["tenant_id"] is None
