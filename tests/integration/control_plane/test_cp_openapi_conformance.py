"""Real answers against the published OpenAPI schema: a client generated from `/openapi.json`
must be able to read every answer the control plane gives, errors included.

Each answer of a walk through the API (the happy paths and the refusals the docs describe) is
checked for: a status the operation lists, a content type it lists for that status, and a JSON
body valid against that schema, date-time formats included (`jsonschema_rs`, which schemathesis
brings). The schemathesis fuzz checks only for 500s; this checks the shapes.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from cp_harness import TINY_FLOW, ControlPlane, Database
from cp_real_data_plane import INTERNAL, acme_with_a_data_plane

from botfleet.control_plane.api.errors import CONCURRENT_CHANGE
from botfleet.control_plane.contact_models import ContactExportView
from botfleet.control_plane.db.repositories import TenantRepository

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


#: Places of a 2xx answer's schema that may say nothing of their value: maps whose shape is
#: published elsewhere or is the caller's own.
FREE_FORM = frozenset(
    {
        "TenantView.channel",  # the bindings: their schemas are GET /v1/binding-schemas
        "TenantView.connectors",
        "TenantView.llm",
        "TenantView.more_channels[]",
        "TenantUpdated.channel",  # a PATCH's answer: the tenant, and the fields it replaced
        "TenantUpdated.connectors",
        "TenantUpdated.llm",
        "TenantUpdated.more_channels[]",
        "TenantUpdated.before",
        "AuditView.details",  # per action
        "TaskView.data",  # what the flow gave the task
        "ConversationStateView.data",  # what the flow collected
        "ResumeView.overlay",  # the turn's own `set_data` so far
        "ContactMessageView.extra",  # the provider's details of a message
        "InboundMessageView.extra",
        "GET /v1/binding-schemas{}",  # JSON Schemas
    }
)


def open_places(spec: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """The places in `schema` that say nothing of their value (``{}``, or an object with
    neither properties nor a schema for its values): a client generated from the schema gets
    an untyped map there. Named ``Model.field`` (``[]`` an array's item, ``{}`` a map's)."""
    components = spec["components"]["schemas"]
    seen: set[str] = set()

    def walk(node: dict[str, Any], at: str) -> list[str]:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            if name in seen:
                return []
            seen.add(name)
            return walk(components[name], name)
        found = [
            p for key in ("anyOf", "oneOf", "allOf") for n in node.get(key, []) for p in walk(n, at)
        ]
        if node.get("type") == "array":
            found += walk(node.get("items", {}), f"{at}[]")
        for name, member in node.get("properties", {}).items():
            found += walk(member, f"{at}.{name}")
        values = node.get("additionalProperties")
        if isinstance(values, dict) and values:
            found += walk(values, f"{at}{{}}")
        said = ("$ref", "anyOf", "oneOf", "allOf", "properties", "items", "enum", "const")
        typed = any(key in node for key in said) or node.get("type") not in (None, "object")
        if not typed and not (isinstance(values, dict) and values):
            found.append(at)
        return found

    return walk(schema, where)


def untyped_answers(spec: dict[str, Any], responses: list[httpx.Response]) -> list[str]:
    """The places the schemas of these 2xx JSON answers leave untyped, but FREE_FORM."""
    places: set[str] = set()
    for response in responses:
        if not 200 <= response.status_code < 300 or not response.content:
            continue
        method, path = response.request.method, response.request.url.path
        template, operation = _operation(spec, method, path)
        content = operation["responses"][str(response.status_code)].get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            places.update(open_places(spec, schema, f"{method} {template}"))
    return sorted(places - FREE_FORM)


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
    exported = await call("GET", f"{A}/export", 200)

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
    assert untyped_answers(spec, [response for response, _ in answers]) == []
    # The export's schema names every part it has, and each is filled in here.
    export = spec["components"]["schemas"]["TenantExport"]
    assert set(exported.json()) == set(export["properties"]) == set(export["required"])
    assert all(exported.json()[part] for part in ("flows", "knowledge", "api_keys", "audit"))
    assert exported.json()["exported_at"].endswith("+00:00")


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


async def test_a_real_data_planes_status_matches_the_schema_as_it_answered(
    database: Database, tmp_path: Path
) -> None:
    """`health`, `usage` and `tasks` of a tenant's status are typed in the schema, and hold
    the data plane's own answers unchanged."""
    async with acme_with_a_data_plane(database, tmp_path) as (cp, chat):
        spec = (await cp.client.get("/openapi.json")).json()
        status = await cp.client.get("/v1/tenants/acme/status", headers=cp.admin)
        fleet = await cp.client.get("/v1/fleet", headers=cp.admin)
        direct = {
            part: (await chat.http.get(f"/{part}", headers=INTERNAL)).json()
            for part in ("health", "usage", "tasks")
        }
    assert status.status_code == fleet.status_code == 200, status.text
    body = status.json()
    assert (body["status"], body["errors"]) == ("ok", [])
    assert {part: body[part] for part in direct} == direct
    assert body["usage"]["questions"]["answered"] == 1 and body["tasks"]["count"] == 2
    assert fleet.json()["tenants"] == [{**body, "checked_at": fleet.json()["checked_at"]}]
    assert schema_problems(spec, status) + schema_problems(spec, fleet) == []
    assert untyped_answers(spec, [status, fleet]) == []


async def test_a_real_contact_export_matches_the_schema_as_the_data_plane_answered(
    database: Database, tmp_path: Path
) -> None:
    """The contact export's conversation, messages both ways and tasks are typed in the
    schema, and the control plane answers the data plane's JSON unchanged."""
    async with acme_with_a_data_plane(database, tmp_path) as (cp, chat):
        spec = (await cp.client.get("/openapi.json")).json()
        relayed = await cp.client.get("/v1/tenants/acme/contacts/34600111222", headers=cp.admin)
        direct = await chat.http.get("/contacts/34600111222", headers=INTERNAL)
    assert relayed.status_code == direct.status_code == 200, relayed.text
    assert relayed.json() == direct.json()
    body = relayed.json()
    assert body["conversation"]["node"] == "MENU"
    assert [m["message"]["text"] for m in body["messages_received"]] == [
        "hi",
        "When do you open?",
    ]
    assert body["messages_received"][1]["replies"] == [{"type": "text", "text": "At 10."}]
    assert len(body["messages_sent"]) >= 2 and len(body["scheduled_tasks"]) == 2
    assert schema_problems(spec, relayed) == []
    assert untyped_answers(spec, [relayed]) == []


#: An output of each kind the data plane stores, as it stores them: a template without a
#: header keeps no `header_param`, and a kind this release does not know is relayed whole.
OUTPUTS: list[dict[str, Any]] = [
    {"type": "text", "text": "Hi"},
    {"type": "buttons", "text": "Pick", "buttons": [{"id": "a", "title": "A"}]},
    {
        "type": "list",
        "text": "Pick",
        "button_label": "Open",
        "sections": [{"title": "", "rows": [{"id": "a", "title": "A", "description": ""}]}],
    },
    {"type": "template", "name": "reminder", "language": "es", "params": ["Ana"], "text": "Hi"},
    {
        "type": "template",
        "name": "reminder",
        "language": "es",
        "params": [],
        "text": "Hi",
        "header_param": "May",
        "buttons": [{"index": 0, "sub_type": "quick_reply", "value": "yes", "title": "Yes"}],
    },
    {"type": "carousel", "cards": [{"title": "x"}]},
]


def test_every_kind_of_output_is_relayed_as_stored(cp_spec: dict[str, Any]) -> None:
    """Each output matches exactly one of the schema's kinds, and comes out as it went in."""
    answer = {
        "contact_id": "c",
        "contact_hash": "h",
        "conversation": None,
        "messages_received": [],
        "messages_sent": [
            {"seq": n, "at": "2024-05-06T07:00:00Z", "output": output}
            for n, output in enumerate(OUTPUTS, 1)
        ],
        "scheduled_tasks": [],
        "truncated": False,
        "appointments": [],
        "moves": [],
    }
    # As the route relays it: what the data plane sent, nothing added.
    relayed = ContactExportView.model_validate(answer).model_dump(mode="json", exclude_unset=True)
    assert relayed == answer
    request = httpx.Request("GET", "http://cp.test/v1/tenants/acme/contacts/c")
    assert schema_problems(cp_spec, httpx.Response(200, json=relayed, request=request)) == []
    kinds = cp_spec["components"]["schemas"]["SentMessageView"]["properties"]["output"]["oneOf"]
    assert len(kinds) == 5


#: A calendar's answer as `list_appointments` gives it, and one that could not be read.
APPOINTMENTS: list[dict[str, Any]] = [
    {
        "connector": "calendar",
        "appointments": [
            {
                "event_id": "ev1",
                "date": "2024-05-07",
                "time": "10:00",
                "start": "2024-05-07T10:00:00+02:00",
                "end": "2024-05-07T10:30:00+02:00",
                "duration_min": 30,
                "service": "cut",
                "service_name": "Haircut",
                "contact_id": "c",
                "contact_name": "Ana",
                "slot": "slot_2024-05-07T10:00",
                "title": "Tue 7 May 10:00 - Haircut",
            }
        ],
        "error": None,
    },
    {"connector": "calendar.room", "appointments": None, "error": "calendar unavailable"},
]


def test_appointments_are_relayed_as_the_published_schema_says(cp_spec: dict[str, Any]) -> None:
    answer = {
        "contact_id": "c",
        "contact_hash": "h",
        "conversation": None,
        "messages_received": [],
        "messages_sent": [],
        "scheduled_tasks": [],
        "truncated": False,
        "appointments": APPOINTMENTS,
        "moves": [{"old_contact_id": "-100", "new_contact_id": "-1001234567890"}],
    }
    # As the route relays it: what the data plane sent, nothing added.
    relayed = ContactExportView.model_validate(answer).model_dump(mode="json", exclude_unset=True)
    assert relayed == answer
    request = httpx.Request("GET", "http://cp.test/v1/tenants/acme/contacts/c")
    assert schema_problems(cp_spec, httpx.Response(200, json=relayed, request=request)) == []
    # Published, not merely let through as an extra key.
    published = cp_spec["components"]["schemas"]["ContactExportView"]["properties"]
    assert "appointments" in published and "moves" in published
    assert untyped_answers(cp_spec, [httpx.Response(200, json=relayed, request=request)]) == []


#: The contact export and its parts.
CONTACT_EXPORT = (
    "ContactExportView",
    "ConversationStateView",
    "TurnView",
    "ResumeView",
    "InboundMessageView",
    "ContactMessageView",
    "ReceivedMessageView",
    "SentMessageView",
    "OptionView",
    "ButtonView",
    "ListSectionView",
    "TemplateButtonView",
    "TextOutput",
    "ButtonsOutput",
    "ListOutput",
    "TemplateOutput",
    "OtherOutput",
    "CalendarAppointmentsView",
    "AppointmentView",
    "ContactMoveView",
)


def test_the_status_and_export_parts_are_described(cp_spec: dict[str, Any]) -> None:
    """Every field of the status, of what it relays, and of the exports says what it holds."""
    schemas = cp_spec["components"]["schemas"]
    names = ("TenantStatus", "FleetView", "DataPlaneHealth", "DataPlaneUsage", "QuestionCounts")
    undescribed = [
        f"{name}.{field}"
        for name in (*names, "PendingTasks", "TaskView", "TenantExport", *CONTACT_EXPORT)
        for field, member in schemas[name]["properties"].items()
        if not member.get("description")
    ]
    assert undescribed == []


@pytest.fixture
async def cp_spec(cp: ControlPlane) -> dict[str, Any]:
    spec: dict[str, Any] = (await cp.client.get("/openapi.json")).json()
    return spec


async def test_a_tenant_registered_twice_at_once_gets_the_published_409(
    cp: ControlPlane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both requests find the id free before either stores it: the database refuses the
    second, which answers the 409 of an id taken, as the schema lists it for the route (not
    the concurrent-change 409: retrying would only answer this)."""
    spec = (await cp.client.get("/openapi.json")).json()
    looked_up = TenantRepository.get

    async def slow_lookup(self: TenantRepository, tenant_id: str) -> Any:
        found = await looked_up(self, tenant_id)
        await asyncio.sleep(0.2)  # the other request looks it up meanwhile
        return found

    monkeypatch.setattr(TenantRepository, "get", slow_lookup)
    body = {"id": "acme", "name": "Acme"}
    answers = await asyncio.gather(
        *(cp.client.post("/v1/tenants", json=body, headers=cp.admin) for _ in range(2))
    )

    assert sorted(a.status_code for a in answers) == [201, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json() == {"detail": "tenant 'acme' already exists"}
    assert [p for answer in answers for p in schema_problems(spec, answer)] == []
    listed = spec["paths"]["/v1/tenants"]["post"]["responses"]["409"]["description"]
    assert CONCURRENT_CHANGE in listed and "a tenant with this id exists" in listed


def test_only_registering_a_tenant_lists_the_concurrent_change(cp_spec: dict[str, Any]) -> None:
    """The 409 of a write the database refuses is listed where it can happen. Every other
    write takes the tenant's lock first and waits for a concurrent one
    (`test_cp_concurrency.py`); registering has no tenant row to lock yet."""
    listing = [
        f"{method.upper()} {path}"
        for path, operations in cp_spec["paths"].items()
        for method, operation in operations.items()
        if CONCURRENT_CHANGE in operation["responses"].get("409", {}).get("description", "")
    ]
    assert listing == ["POST /v1/tenants"]
