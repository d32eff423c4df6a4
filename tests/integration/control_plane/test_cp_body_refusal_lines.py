"""A body refused before any route (too large, too deep, not UTF-8...) is logged as the control
plane's other lines are, JSON naming the route's template and the tenant, and counted in the
metrics under that route, not as `<unmatched>` (which is for paths no route serves).

It was a plain-text structlog line naming the path's first segment (`path=/v1`), and the
metrics counted it with the 404s.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

from botfleet.http_guards import MAX_DEPTH

PHONE = "34600111222"
DEEP = b'{"a": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}"


def _requests(metrics: str) -> dict[tuple[str, str, str], float]:
    found = re.findall(
        r'^botfleet_cp_http_requests_total\{method="([^"]*)",route="([^"]*)",status="(\d+)"\} '
        r"(\S+)$",
        metrics,
        re.MULTILINE,
    )
    return {(method, route, status): float(n) for method, route, status, n in found}


def _refusal_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = []
    for record in caplog.records:
        message = record.getMessage()
        if "request_body_refused" in message:
            lines.append(json.loads(message))  # JSON, as every line of the control plane
    return lines


async def test_a_refused_body_is_a_json_line_naming_the_route_and_the_tenant(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = make_settings(database, max_flow_bytes=1024, max_knowledge_bytes=1024)
    async with running_control_plane(settings) as cp:
        await cp.create_tenant("acme")
        limit = 6 * 1024 + 64 * 1024  # `json_body_limit` of 1 KiB documents
        big = await cp.client.post(
            "/v1/tenants/acme/flows",
            content=b'{"yaml": "' + b"x" * limit + b'"}',
            headers={**cp.admin, "Content-Type": "application/json"},
        )
        deep = await cp.client.request(
            "DELETE",
            f"/v1/tenants/acme/contacts/{PHONE}",
            content=DEEP,
            headers={**cp.admin, "Content-Type": "application/json"},
        )
        nowhere = await cp.client.post(f"/v1/nowhere/{PHONE}", content=DEEP, headers=cp.admin)
        metrics = (await cp.client.get("/metrics")).text

    assert (big.status_code, deep.status_code, nowhere.status_code) == (413, 422, 422)
    too_large, too_deep, unmatched = _refusal_lines(caplog)
    assert too_large["route"] == "/v1/tenants/{tenant_id}/flows"
    assert too_large["tenant_id"] == "acme"
    assert too_large["reason"] == "too_large" and too_large["status"] == 413
    assert too_large["limit"] == limit and too_large["size"] > limit
    assert too_large["level"] == "warning" and too_large["method"] == "POST"
    assert too_deep["route"] == "/v1/tenants/{tenant_id}/contacts/{contact_id:path}"
    assert too_deep["tenant_id"] == "acme" and too_deep["reason"] == "too_deep"
    assert unmatched["route"] == "<unmatched>" and "tenant_id" not in unmatched
    assert all("path" not in line for line in (too_large, too_deep, unmatched))
    own = [r.getMessage() for r in caplog.records if r.name.startswith("botfleet.control_plane")]
    assert PHONE not in "".join(own)

    counted = _requests(metrics)
    assert counted[("POST", "/v1/tenants/{tenant_id}/flows", "413")] == 1
    assert counted[("DELETE", "/v1/tenants/{tenant_id}/contacts/{contact_id:path}", "422")] == 1
    assert counted[("POST", "<unmatched>", "422")] == 1


@pytest.mark.parametrize("tenant", ["NOT%20AN%20ID", "acme%0A"])
async def test_a_malformed_tenant_id_in_the_path_is_not_logged(
    cp: ControlPlane, caplog: pytest.LogCaptureFixture, tenant: str
) -> None:
    # ("acme\n": a well-formed id but for a line break, which `$` alone would let by)
    caplog.set_level(logging.DEBUG)
    refused = await cp.client.post(
        f"/v1/tenants/{tenant}/flows",
        content=DEEP,
        headers={**cp.admin, "Content-Type": "application/json"},
    )
    assert refused.status_code == 422
    (line,) = _refusal_lines(caplog)
    assert line["route"] == "/v1/tenants/{tenant_id}/flows"
    assert "tenant_id" not in line


async def test_refusals_of_the_json_body_guard_count_under_their_route(cp: ControlPlane) -> None:
    await cp.create_tenant("acme")
    json_headers = {**cp.admin, "Content-Type": "application/json"}
    not_utf8 = await cp.client.patch("/v1/tenants/acme", content=b"\xff\xfe{", headers=json_headers)
    surrogate = await cp.client.patch(
        "/v1/tenants/acme", content=b'{"name": "\\ud800"}', headers=json_headers
    )
    latin = await cp.client.patch(
        "/v1/tenants/acme",
        content=b'{"name": "x"}',
        headers={**cp.admin, "Content-Type": "application/json; charset=latin-1"},
    )
    assert (not_utf8.status_code, surrogate.status_code, latin.status_code) == (422, 422, 415)

    counted = _requests((await cp.client.get("/metrics")).text)
    assert counted[("PATCH", "/v1/tenants/{tenant_id}", "422")] == 2
    assert counted[("PATCH", "/v1/tenants/{tenant_id}", "415")] == 1
    assert not any(route == "<unmatched>" for _, route, _ in counted)
