"""Oversized and deeply nested bodies on the control plane's write routes: 413 / 422 before any
parser runs (never a 500 or a `RecursionError`), nothing stored, and the next request works."""

from __future__ import annotations

import time

from cp_harness import ControlPlane

from botfleet.http_guards import MAX_DEPTH

#: Larger than any limit the control plane can be configured with by default (2 x 512 KiB + 64 KiB).
HUGE = b'{"yaml": "' + b"x" * (8 * 1024 * 1024) + b'"}'
DEEP_JSON = b'{"yaml": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_YAML = b"id: x\nstates: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"
JUST_TOO_DEEP = b'{"id": "t", "name": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}"


async def test_write_routes_refuse_oversized_and_deep_bodies_early(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    cases = [
        ("/v1/tenants/acme/flows", HUGE, "application/json", 413),
        ("/v1/tenants/acme/flows", DEEP_JSON, "application/json", 422),
        ("/v1/tenants/acme/flows", DEEP_YAML, "application/yaml", 422),
        ("/v1/tenants/acme/knowledge", HUGE, "application/json", 413),
        ("/v1/tenants/acme/knowledge", DEEP_JSON, "application/json", 422),
        ("/v1/tenants", JUST_TOO_DEEP, "application/json", 422),
        ("/v1/tenants", HUGE, "application/json", 413),
    ]
    for path, body, media_type, status in cases:
        started = time.perf_counter()
        response = await cp.client.post(
            path, content=body, headers={**cp.admin, "content-type": media_type}
        )
        assert time.perf_counter() - started < 2, path
        assert response.status_code == status, (path, response.text)
        detail = response.json()["detail"]
        assert "over the limit" in detail or f"deeper than {MAX_DEPTH}" in detail

    flows = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    knowledge = (await cp.client.get("/v1/tenants/acme/knowledge", headers=cp.admin)).json()
    tenants = (await cp.client.get("/v1/tenants", headers=cp.admin)).json()
    assert flows["versions"] == [] and knowledge["versions"] == []
    assert [t["id"] for t in tenants] == ["acme"]
    normal = await cp.client.post(
        "/v1/tenants/acme/knowledge", json={"text": "# FAQ"}, headers=cp.admin
    )
    assert normal.status_code == 201, normal.text
