"""Real answers against the published OpenAPI schema: a client generated from `/openapi.json`
must be able to read every answer the control plane gives, errors included.

Each answer of a walk through the API (the happy paths and the refusals the docs describe) is
checked for: a status the operation lists, a content type it lists for that status, and a JSON
body valid against that schema, date-time formats included (`jsonschema_rs`, which schemathesis
brings). The schemathesis fuzz checks only for 500s; this checks the shapes.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs
from cp_harness import TINY_FLOW, ControlPlane

YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}
MARKDOWN = {"Content-Type": "text/markdown"}
CSV = {"Content-Type": "text/csv"}
A = "/v1/tenants/acme"
#: Calls a connector the tenants here do not bind, so publishing it is refused (409).
CALENDAR_FLOW = """\
id: calendar_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: invoke_connector
        connector: calendar
        operation: get_available_days
        result_key: days
    fallback: MENU
"""
INVALID_FLOW = "id: x\ninitial_state: MENU\nstates:\n  MENU:\n    transitions:\n      - target: X\n"


def _operation(spec: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec's operation serving `path`; a fixed segment (``/diff``) beats a parameter."""
    matches = []
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            fixed = len(re.sub(r"\{[^}]+\}", "", template))
            matches.append((fixed, template, operations[method.lower()]))
    assert matches, f"{method} {path} is not in the OpenAPI schema"
    _, template, operation = max(matches, key=lambda match: match[0])
    return template, operation


def schema_problems(spec: dict[str, Any], response: httpx.Response) -> list[str]:
    """What in `response` the published schema does not describe (empty when all is)."""
    method, path = response.request.method, response.request.url.path
    template, operation = _operation(spec, method, path)
    where = f"{method} {template} -> {response.status_code}"
    answers = operation["responses"]
    documented = answers.get(str(response.status_code)) or answers.get("default")
    if documented is None:
        return [f"{where}: status not in {sorted(answers)} ({response.text[:200]})"]
    content = documented.get("content") or {}
    if not content:
        return [f"{where}: a body the schema has none for"] if response.content else []
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type not in content:
        return [f"{where}: content type {media_type!r} not in {sorted(content)}"]
    schema = content[media_type].get("schema")
    if media_type != "application/json" or schema is None:
        return []
    validator = jsonschema_rs.validator_for(
        {**schema, "components": spec["components"]}, validate_formats=True
    )
    return [
        f"{where}: at {list(error.instance_path)}: {error.message[:200]}"
        for error in validator.iter_errors(response.json())
    ]


async def test_real_answers_match_the_published_schema(cp: ControlPlane) -> None:
    spec = (await cp.client.get("/openapi.json")).json()
    answers: list[tuple[httpx.Response, int]] = []

    async def call(method: str, path: str, expect: int, **kwargs: Any) -> httpx.Response:
        headers = {**cp.admin, **kwargs.pop("headers", {})}
        response = await cp.client.request(method, path, headers=headers, **kwargs)
        answers.append((response, expect))
        return response

    created = await call(
        "POST", "/v1/tenants", 201, json={"id": "acme", "name": "Acme", "timezone": "UTC"}
    )
    boot_token = created.json()["boot_token"]
    await call("POST", "/v1/tenants", 409, json={"id": "acme", "name": "Acme"})
    await call("POST", "/v1/tenants", 201, json={"id": "beta", "name": "Beta"})
    first = await call("GET", "/v1/tenants?limit=1", 200)
    await call("GET", first.headers["link"].split(">")[0].lstrip("<"), 200)
    await call("GET", "/v1/tenants?limit=0", 422)
    await call("GET", "/v1/tenants?cursor=not-a-cursor", 422)
    await call("GET", "/v1/tenants/acme", 200)
    await call("GET", "/v1/tenants/nobody", 404)
    await call("GET", "/v1/tenants", 401, headers={"Authorization": "Bearer wrong-key-0123456"})
    await call("PATCH", "/v1/tenants/acme", 200, json={"data_plane_url": "http://127.0.0.1:9"})
    await call("PATCH", "/v1/tenants/acme", 422, json={"timezone": "Mars/Olympus"})
    await call("PATCH", "/v1/tenants/acme", 422, content=b"{not json", headers=YAML)
    await call("POST", "/v1/tenants/beta/disable", 200)
    await call("POST", "/v1/tenants/beta/enable", 200)

    for version in ("1", "2"):
        flow = TINY_FLOW.format(v=version)
        await call("POST", f"{A}/flows", 201, content=flow, headers=YAML)
    await call("POST", f"{A}/flows", 200, content=flow, headers=YAML)
    await call("POST", f"{A}/flows/rollback", 409)
    await call("POST", f"{A}/flows/1/publish", 200)
    await call("POST", f"{A}/flows/2/publish", 200)
    await call("POST", f"{A}/flows/rollback", 200)
    await call("POST", f"{A}/flows/rollback", 409, json={"version": 2})
    await call("POST", f"{A}/flows/rollback", 404, json={"version": 99})
    await call("GET", f"{A}/flows?limit=1", 200)
    await call("GET", f"{A}/flows/1", 200)
    await call("GET", f"{A}/flows/99", 404)
    await call("GET", f"{A}/flows/diff?from=1&to=2", 200)
    await call("GET", f"{A}/flows/diff?from=1&to=99", 404)
    await call("POST", f"{A}/flows", 422, content=INVALID_FLOW, headers=YAML)
    await call("POST", f"{A}/flows", 422, content=b"\xff", headers=YAML)
    await call("POST", f"{A}/flows", 422, content=b"{bad", headers=JSON)
    await call("POST", f"{A}/flows", 415, content=b"x", headers={"Content-Type": "application/pdf"})
    await call("POST", f"{A}/flows", 413, content=b"#" * (600 * 1024), headers=YAML)
    await call("POST", f"{A}/flows?publish=true", 409, content=CALENDAR_FLOW, headers=YAML)
    await call("POST", f"{A}/flows", 201, content=CALENDAR_FLOW, headers=YAML)
    await call("POST", f"{A}/flows/3/publish", 409)

    await call("POST", f"{A}/knowledge?publish=true", 201, json={"text": "# FAQ"})
    await call("POST", f"{A}/knowledge", 201, content="# FAQ 2", headers=MARKDOWN)
    await call("POST", f"{A}/knowledge/2/publish", 200)
    await call("POST", f"{A}/knowledge/rollback", 200)
    await call("POST", f"{A}/knowledge/rollback", 409, json={"version": 2})
    await call("GET", f"{A}/knowledge", 200)
    await call("GET", f"{A}/knowledge/2", 200)
    await call("GET", f"{A}/knowledge/diff?from=1&to=2", 200)

    await call("PUT", f"{A}/credentials/data_plane", 200, json={"internal_token": "t" * 32})
    await call("PUT", f"{A}/credentials/channel", 422, json={"access_token": "x"})
    await call("PUT", f"{A}/credentials/connector:calendar", 409, json={"x": "y"})
    await call("PUT", f"{A}/credentials/llm", 415, content=b"{}", headers=CSV)
    await call("GET", f"{A}/credentials", 200)
    await call("DELETE", f"{A}/credentials/llm", 404)

    made = await call("POST", f"{A}/api-keys", 201, json={"name": "owner", "expires_in_days": 30})
    tenant_key = made.json()["key"]
    await call("GET", f"{A}/api-keys?include_expired=true", 200)
    await call("GET", "/v1/fleet", 403, headers=cp.auth(tenant_key))
    await call("DELETE", f"{A}/api-keys/{made.json()['id']}", 204)
    await call("POST", f"{A}/boot-token/rotate", 200)
    await call("GET", f"{A}/export", 200)

    await call("GET", f"{A}/status", 200)
    await call("GET", "/v1/tenants/beta/status", 200)
    await call("GET", "/v1/fleet", 200)
    await call("GET", f"{A}/tasks", 502)
    await call("GET", f"{A}/tasks?due_after=2024-05-06T09:00:00", 422)
    await call("GET", "/v1/tenants/beta/conversations", 409)
    await call("GET", f"{A}/contacts/ana", 502)
    await call("POST", f"{A}/tasks/run", 422, json={"task": "t", "contact_id": "c", "x": 1})

    await call("GET", "/v1/audit?limit=3", 200)
    await call("GET", "/v1/audit?before_id=99999999999", 422)
    await call("GET", "/v1/binding-schemas", 200)
    await call("GET", "/v1/admin/tenant-urls", 200)
    await call("POST", "/v1/admin/rotate-keys", 200)
    await call("GET", "/health", 200)
    await call("GET", "/v1/boot/acme", 401, headers=cp.auth(boot_token))
    await call("DELETE", "/v1/tenants/beta", 204)

    unexpected = [
        f"{r.request.method} {r.request.url.path}: {r.status_code}, not {expect}: {r.text[:200]}"
        for r, expect in answers
        if r.status_code != expect
    ]
    assert unexpected == []
    problems = [problem for response, _ in answers for problem in schema_problems(spec, response)]
    assert problems == []


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_the_checker_sees_a_body_the_schema_does_not_describe() -> None:
    """The check itself: a 422 whose `detail` is a number, a status the operation does not list
    and a date-time without its offset are each reported."""
    spec = {
        "paths": {
            "/v1/things/{id}": {
                "get": {
                    "responses": {
                        "200": {"content": {"application/json": {"schema": _ref("Thing")}}},
                        "422": {"content": {"application/json": {"schema": _ref("Err")}}},
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Thing": {"properties": {"at": {"type": "string", "format": "date-time"}}},
                "Err": {"properties": {"detail": {"type": "string"}}, "required": ["detail"]},
            }
        },
    }
    request = httpx.Request("GET", "http://cp.test/v1/things/1")

    def problems(status: int, **body: Any) -> list[str]:
        return schema_problems(spec, httpx.Response(status, request=request, **body))

    assert problems(200, json={"at": "2024-05-06T09:00:00Z"}) == []
    assert "at ['at']" in problems(200, json={"at": "2024-05-06T09:00:00"})[0]
    assert "at ['detail']" in problems(422, json={"detail": 3})[0]
    assert "status not in ['200', '422']" in problems(409, json={"detail": "x"})[0]
    assert "content type 'text/plain'" in problems(200, text="x")[0]
