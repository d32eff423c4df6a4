"""Oversized and deeply nested bodies on the control plane's write routes: 413 / 422 before any
parser runs (never a 500 or a `RecursionError`), nothing stored, and the next request works."""

from __future__ import annotations

import json
import time

from cp_harness import TINY_FLOW, ControlPlane, Database, make_settings, running_control_plane

from botfleet.http_guards import MAX_DEPTH

#: Larger than any body the control plane reads by default (6 x 512 KiB + 64 KiB).
HUGE = b'{"yaml": "' + b"x" * (8 * 1024 * 1024) + b'"}'
DEEP_JSON = b'{"yaml": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_YAML = b"id: x\nstates: " + b"[" * 50_000 + b"]" * 50_000 + b"\n"
JUST_TOO_DEEP = b'{"id": "t", "name": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}"


async def test_write_routes_refuse_oversized_and_deep_bodies_early(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    cases = [
        ("/v1/tenants/acme/flows", HUGE, "application/json", 413),
        ("/v1/tenants/acme/flows", DEEP_JSON, "application/json", 422),
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
        # Refused before any parser runs: quick even on a busy machine (a parser's pass over
        # these bodies took minutes).
        assert time.perf_counter() - started < 10, path
        assert response.status_code == status, (path, response.text)
        detail = response.json()["detail"]
        assert "over the limit" in detail or f"deeper than {MAX_DEPTH}" in detail

    # YAML is not held to the JSON bracket limit (a comment may hold any number): its reader
    # bounds its own depth, and says so, quickly.
    started = time.perf_counter()
    deep_yaml = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=DEEP_YAML,
        headers={**cp.admin, "content-type": "application/yaml"},
    )
    assert time.perf_counter() - started < 10
    assert deep_yaml.status_code == 422, deep_yaml.text
    assert "nested too deeply" in deep_yaml.text

    flows = (await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)).json()
    knowledge = (await cp.client.get("/v1/tenants/acme/knowledge", headers=cp.admin)).json()
    tenants = (await cp.client.get("/v1/tenants", headers=cp.admin)).json()
    assert flows["versions"] == [] and knowledge["versions"] == []
    assert [t["id"] for t in tenants] == ["acme"]
    normal = await cp.client.post(
        "/v1/tenants/acme/knowledge", json={"text": "# FAQ"}, headers=cp.admin
    )
    assert normal.status_code == 201, normal.text


async def test_the_flow_limit_applies_to_the_flow_not_to_its_json_escaping(
    database: Database,
) -> None:
    limit = 8 * 1024
    settings = make_settings(database, max_flow_bytes=limit, max_knowledge_bytes=1024)
    # Quotes and backslashes double when escaped as JSON; an emoji (4 bytes) takes 12.
    padding = "# " + '"\\' * 1000 + "\U0001f600" * 1000 + "\n"
    start = TINY_FLOW.format(v="1") + padding
    fits = start + "#" * (limit - len(start.encode()) - 20)
    too_big = fits + "#" * 100 + "\n"
    assert len(fits.encode()) <= limit < len(too_big.encode())
    async with running_control_plane(settings) as cp:
        await cp.create_tenant("acme")
        body = json.dumps({"yaml": fits})
        assert len(body) > 2 * limit
        answer = await cp.client.post(
            "/v1/tenants/acme/flows",
            content=body,
            headers={**cp.admin, "Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text
        stored = await cp.client.get("/v1/tenants/acme/flows/1", headers=cp.admin)
        assert stored.json()["yaml"] == fits
        refused = await cp.client.post(
            "/v1/tenants/acme/flows", json={"yaml": too_big}, headers=cp.admin
        )
        assert refused.status_code == 413
        size = len(too_big.encode())
        assert refused.json()["detail"] == f"flow is {size} bytes; the limit is {limit}"
        as_text = await cp.client.post(
            "/v1/tenants/acme/flows",
            content=too_big,
            headers={**cp.admin, "Content-Type": "application/yaml"},
        )
        assert as_text.status_code == 413
        assert as_text.json()["detail"] == f"flow is {size} bytes; the limit is {limit}"
        listed = await cp.client.get("/v1/tenants/acme/flows", headers=cp.admin)
        assert [v["version"] for v in listed.json()["versions"]] == [1]


async def test_brackets_in_a_flows_text_or_a_document_are_not_nesting(cp: ControlPlane) -> None:
    """The bracket limit is JSON's: a flow's comment or a document's text may hold any number."""
    await cp.create_tenant("acme")
    flow = TINY_FLOW.format(v="1") + "# ascii art " + "[" * (MAX_DEPTH + 10) + "\n"
    uploaded = await cp.client.post(
        "/v1/tenants/acme/flows",
        content=flow.encode(),
        headers={**cp.admin, "content-type": "application/yaml"},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = "# Prices\n" + "{" * (MAX_DEPTH + 16) + " our logo\n"
    stored = await cp.client.post(
        "/v1/tenants/acme/knowledge",
        content=document.encode(),
        headers={**cp.admin, "content-type": "text/markdown"},
    )
    assert stored.status_code == 201, stored.text
    versions = (await cp.client.get("/v1/tenants/acme/knowledge/1", headers=cp.admin)).json()
    assert versions["text"] == document
