"""Every route in the OpenAPI spec refuses a missing key, a wrong key and another tenant's key.

The routes are read from /openapi.json, so a new route without authentication fails here.
Routes that take a request body need a sample in `BODIES`; a new one without it fails too.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from cp_harness import TINY_FLOW, ControlPlane

from botfleet.control_plane.api.health import PUBLIC_PATHS

BOOT_PATH = "/v1/boot/{tenant_id}"

# A valid body per (method, path), so a 403/404 comes from authorization, not validation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v1/tenants"): {"json": {"id": "intruder-made", "name": "X"}},
    ("patch", "/v1/tenants/{tenant_id}"): {"json": {"name": "Renamed"}},
    ("post", "/v1/tenants/{tenant_id}/api-keys"): {"json": {"name": "stolen"}},
    ("post", "/v1/tenants/{tenant_id}/flows"): {"json": {"yaml": TINY_FLOW.format(v="x")}},
    ("post", "/v1/tenants/{tenant_id}/flows/rollback"): {"json": {"version": 1}},
    ("post", "/v1/tenants/{tenant_id}/knowledge"): {"json": {"text": "# Hours\n9-5"}},
    ("post", "/v1/tenants/{tenant_id}/knowledge/rollback"): {"json": {"version": 1}},
    ("put", "/v1/tenants/{tenant_id}/credentials/{scope}"): {"json": {"api_key": "x"}},
    ("post", "/v1/tenants/{tenant_id}/tasks/run"): {
        "json": {"task": "team_reply", "contact_id": "34600111222", "data": {"text": "Hi"}}
    },
}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    ops = [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    # Deletions last (and the tenant's own deletion very last) so controls can run in order.
    return sorted(ops, key=lambda o: (o[0] == "delete", o[1] == "/v1/tenants/{tenant_id}"))


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _query(op: dict[str, Any]) -> dict[str, str]:
    query = {}
    for param in op.get("parameters", []):
        if param["in"] == "query" and param.get("required"):
            kind = param["schema"].get("type")
            query[param["name"]] = "1" if kind == "integer" else "x"
    return query


async def _setup_victim(cp: ControlPlane) -> tuple[str, dict[str, str]]:
    boot_token = await cp.create_tenant("victim")
    assert (await cp.upload_flow("victim", publish=True)).status_code == 201
    knowledge = await cp.client.post(
        "/v1/tenants/victim/knowledge?publish=true", json={"text": "# Hi"}, headers=cp.admin
    )
    assert knowledge.status_code == 201
    put = await cp.client.put(
        "/v1/tenants/victim/credentials/llm", json={"api_key": "s3cret"}, headers=cp.admin
    )
    assert put.status_code == 200
    key = await cp.client.post(
        "/v1/tenants/victim/api-keys", json={"name": "own"}, headers=cp.admin
    )
    values = {
        "tenant_id": "victim",
        "version": "1",
        "scope": "llm",
        "key_id": key.json()["id"],
        "contact_id": "34600111222",
        "job_id": "once:team_reply:34600111222",
    }
    return boot_token, values


async def _call(
    cp: ControlPlane, method: str, path: str, op: dict[str, Any], values: dict[str, str],
    headers: dict[str, str],
) -> httpx.Response:  # fmt: skip
    if "requestBody" in op:
        assert (method, path) in BODIES, f"add a sample body for {method.upper()} {path} to BODIES"
    kwargs = BODIES.get((method, path), {})
    return await cp.client.request(
        method, _url(path, values), params=_query(op), headers=headers, **kwargs
    )


async def test_every_route_refuses_missing_wrong_and_foreign_credentials(cp: ControlPlane) -> None:
    victim_boot, values = await _setup_victim(cp)
    await cp.create_tenant("intruder")
    intruder_key = await cp.tenant_key("intruder")
    intruder_boot = (
        await cp.client.post("/v1/tenants/intruder/boot-token/rotate", headers=cp.admin)
    ).json()["boot_token"]
    spec = (await cp.client.get("/openapi.json")).json()
    operations = [op for op in _operations(spec) if op[1] not in PUBLIC_PATHS]
    assert len(operations) > 20, "the walk should cover the whole API"

    for method, path, op in operations:
        where = f"{method.upper()} {path}"
        missing = await _call(cp, method, path, op, values, {})
        assert missing.status_code == 401, f"{where} without credentials: {missing.status_code}"
        for wrong in ("wrong-key", "bfk_000000000000_forged", victim_boot[:-2] + "xx"):
            bad = await _call(cp, method, path, op, values, cp.auth(wrong))
            assert bad.status_code == 401, f"{where} with a wrong key: {bad.status_code}"
        if path == BOOT_PATH:
            for foreign in (intruder_boot, intruder_key, cp.admin["Authorization"][7:]):
                refused = await _call(cp, method, path, op, values, cp.auth(foreign))
                assert refused.status_code == 401, f"{where} with another credential"
            continue
        foreign = await _call(cp, method, path, op, values, cp.auth(intruder_key))
        if "{tenant_id}" in path:
            assert foreign.status_code in (403, 404), f"{where} with another tenant's key"
        else:
            assert foreign.status_code in (200, 403), f"{where}: {foreign.status_code}"
            assert "victim" not in foreign.text, f"{where} leaked another tenant's data"

    # Nothing the intruder tried changed the victim.
    victim = (await cp.client.get("/v1/tenants/victim", headers=cp.admin)).json()
    assert victim["name"] == "Victim"
    assert victim["published_flow_version"] == 1
    boot = await cp.client.get("/v1/boot/victim", headers=cp.auth(victim_boot))
    assert boot.status_code == 200
    assert boot.json()["llm"]["api_key"] == "s3cret"


async def test_every_route_works_for_a_rightful_caller(cp: ControlPlane) -> None:
    """Control for the walk above: the same requests succeed with the right credential, so
    the refusals there are about authorization, not about malformed requests."""
    boot_token, values = await _setup_victim(cp)
    spec = (await cp.client.get("/openapi.json")).json()
    for method, path, op in _operations(spec):
        if path in PUBLIC_PATHS:
            continue
        key = boot_token if path == BOOT_PATH else cp.admin["Authorization"][7:]
        response = await _call(cp, method, path, op, values, cp.auth(key))
        assert response.status_code < 400 or response.status_code == 409, (
            f"{method.upper()} {path}: {response.status_code} {response.text[:200]}"
        )
        if path.endswith("/boot-token/rotate"):
            boot_token = response.json()["boot_token"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/tenants/{tenant_id}/disable"),
        ("post", "/v1/tenants/{tenant_id}/enable"),
        ("delete", "/v1/tenants/{tenant_id}"),
        ("get", "/v1/fleet"),
        ("post", "/v1/admin/rotate-keys"),
        ("post", "/v1/tenants"),
    ],
)
async def test_admin_only_routes_refuse_the_tenants_own_key(
    cp: ControlPlane, method: str, path: str
) -> None:
    await cp.create_tenant("acme")
    key = await cp.tenant_key("acme")
    kwargs = BODIES.get((method, path), {})
    response = await cp.client.request(
        method, _url(path, {"tenant_id": "acme"}), headers=cp.auth(key), **kwargs
    )
    assert response.status_code == 403, response.text
    assert "admin" in response.json()["detail"]


async def test_x_api_key_header_and_revocation(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    created = await cp.client.post(
        "/v1/tenants/acme/api-keys", json={"name": "ops"}, headers=cp.admin
    )
    key, key_id = created.json()["key"], created.json()["id"]
    assert (await cp.client.get("/v1/tenants/acme", headers={"X-API-Key": key})).status_code == 200
    listed = await cp.client.get("/v1/tenants/acme/api-keys", headers=cp.admin)
    assert key not in listed.text
    assert "key_hash" not in listed.text
    revoke = await cp.client.delete(f"/v1/tenants/acme/api-keys/{key_id}", headers=cp.auth(key))
    assert revoke.status_code == 204
    after = await cp.client.get("/v1/tenants/acme", headers={"X-API-Key": key})
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"] == "Bearer"


async def test_openapi_documents_the_security_of_every_route(cp: ControlPlane) -> None:
    spec = (await cp.client.get("/openapi.json")).json()
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "ApiKeyHeader", "BootToken"}
    for method, path, op in _operations(spec):
        schemes = {name for requirement in op.get("security", []) for name in requirement}
        if path == "/health":
            assert not schemes
        elif path == BOOT_PATH:
            assert schemes == {"BootToken"}
        else:
            assert schemes == {"ApiKey", "ApiKeyHeader"}, f"{method.upper()} {path}"
    docs = await cp.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_another_tenants_key_gets_404_before_its_body_is_read(cp: ControlPlane) -> None:
    """As for an unknown tenant: a 422 about the body told the key the route was its to call."""
    await cp.create_tenant("victim")
    await cp.create_tenant("intruder")
    intruder = cp.auth(await cp.tenant_key("intruder"))
    for method, path, body in [
        ("PATCH", "/v1/tenants/victim", {"timezone": 42}),
        ("POST", "/v1/tenants/victim/api-keys", {"name": ""}),
        ("PUT", "/v1/tenants/victim/credentials/llm", {"api_key": 5}),
    ]:
        answer = await cp.client.request(method, path, json=body, headers=intruder)
        assert answer.status_code == 404, (path, answer.text)
        unknown = await cp.client.request(
            method, path.replace("victim", "nobody"), json=body, headers=intruder
        )
        assert unknown.status_code == 404, (path, unknown.text)
