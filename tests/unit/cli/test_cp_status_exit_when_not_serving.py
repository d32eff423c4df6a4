"""`botfleet cp status` and `cp fleet` exit 1 when an active tenant's data plane is unreachable
or degraded, with a `note:` line on stderr naming the tenant and why; stdout stays the answer's
JSON. A disabled tenant's is noted and not counted. As `botfleet fleet status` does for a data
plane not serving: a cron check reads the exit status, not the JSON.

They exited 0 and said nothing on stderr, whatever the data planes' state.
"""

from __future__ import annotations

import json
from typing import Any

import respx
from typer.testing import CliRunner, Result

from botfleet.cli.main import app

URL = "http://cp.test"
DOWN = "GET http://dp:8002/health: ConnectError: [Errno 111] Connection refused"


def status(tenant_id: str, state: str, **fields: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "tenant_status": "active",
        "status": state,
        "data_plane_url": "http://dp:8002",
        "published_flow_version": 1,
        "published_knowledge_version": None,
        "checked_at": "2026-12-07T10:05:00Z",
        "errors": [],
        "notes": [],
        **fields,
    }


def health(state: str, **fields: Any) -> dict[str, Any]:
    return {
        "status": state,
        "tenant_id": "bikes",
        "flow_id": "f",
        "flow_version": "v1",
        "knowledge_version": "",
        "busy_contacts": 0,
        "connectors": {},
        **fields,
    }


def cp(*args: str) -> Result:
    env = {"BOTFLEET_CP_URL": URL, "BOTFLEET_API_KEY": "bf_tenant_key"}
    return CliRunner().invoke(app, ["cp", *args], env=env)


def tenant_status(answer: dict[str, Any]) -> Result:
    with respx.mock(base_url=URL) as mock:
        mock.get(f"/v1/tenants/{answer['tenant_id']}/status").respond(json=answer)
        return cp("status", answer["tenant_id"])


def fleet(*tenants: dict[str, Any]) -> Result:
    with respx.mock(base_url=URL) as mock:
        mock.get("/v1/fleet").respond(
            json={"checked_at": "2026-12-07T10:05:00Z", "tenants": list(tenants)}
        )
        return cp("fleet")


def test_status_of_an_unreachable_data_plane_exits_1_naming_the_tenant() -> None:
    answer = status("bikes", "unreachable", errors=[DOWN])
    result = tenant_status(answer)
    assert result.exit_code == 1, result.output
    printed = json.loads(result.stdout)  # the JSON as it was
    assert {name: printed[name] for name in answer} == answer
    assert result.stderr == f"note: bikes: data plane unreachable: {DOWN}\n"


def test_status_of_a_degraded_data_plane_says_what_its_health_said() -> None:
    # Its /usage refused the token too: the note is about /health, which made it degraded.
    answer = status(
        "bikes",
        "degraded",
        health=health("degraded", store="unavailable: database is locked"),
        errors=["GET http://dp:8002/usage: HTTP 401"],
        notes=["restart required: llm.model"],
    )
    result = tenant_status(answer)
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        "note: restart required: llm.model",
        "note: bikes: data plane degraded: its /health says status degraded, store "
        "unavailable: database is locked",
    ]


def test_status_ok_or_unconfigured_exits_0_with_no_note() -> None:
    for answer in (status("bikes", "ok", health=health("ok")), status("bikes", "unconfigured")):
        result = tenant_status(answer)
        assert (result.exit_code, result.stderr) == (0, ""), result.output


def test_fleet_exits_1_naming_each_tenant_not_serving() -> None:
    result = fleet(
        status("bikes", "ok", health=health("ok")),
        status("clinic", "unreachable", errors=[DOWN]),
        status("salon", "degraded", errors=["GET http://dp:8002/health: HTTP 500"]),
        status("shop", "unconfigured"),
    )
    assert result.exit_code == 1, result.output
    printed = json.loads(result.stdout)
    assert [t["tenant_id"] for t in printed["tenants"]] == ["bikes", "clinic", "salon", "shop"]
    assert result.stderr.splitlines() == [
        f"note: clinic: data plane unreachable: {DOWN}",
        "note: salon: data plane degraded: GET http://dp:8002/health: HTTP 500",
    ]


def test_a_disabled_tenants_data_plane_is_noted_not_counted() -> None:
    result = fleet(
        status("bikes", "ok", health=health("ok")),
        status("gone", "unreachable", tenant_status="disabled", errors=[DOWN]),
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "note: gone: data plane unreachable (the tenant is disabled: not counted in the exit "
        f"status): {DOWN}\n"
    )


def test_a_data_planes_words_reach_the_note_made_safe() -> None:
    answer = status("bikes", "unreachable", errors=["GET http://dp:8002/health: \x1b]0;owned\x07"])
    result = tenant_status(answer)
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr and "\\x1b]0;owned\\x07" in result.stderr


def test_audit_actor_is_sent_as_the_audit_names_callers() -> None:
    with respx.mock(base_url=URL) as mock:
        route = mock.get("/v1/audit").respond(json=[])
        named = cp("audit", "--actor", "apikey:4f4fa677afd1")
        bare = cp("audit", "--actor", "4f4fa677afd1", "--tenant", "acme")
        admin = cp("audit", "--actor", "admin")
    assert [r.exit_code for r in (named, bare, admin)] == [0, 0, 0]
    sent = [dict(call.request.url.params) for call in route.calls]
    assert sent == [
        {"limit": "100", "actor": "apikey:4f4fa677afd1"},
        {"limit": "100", "tenant_id": "acme", "actor": "apikey:4f4fa677afd1"},
        {"limit": "100", "actor": "admin"},
    ]


def test_an_audit_actor_of_another_shape_is_a_usage_error_before_any_request() -> None:
    with respx.mock(base_url=URL, assert_all_called=False) as mock:
        route = mock.get("/v1/audit").respond(json=[])
        results = [
            cp("audit", "--actor", value)
            for value in ("bfk_4f4fa677afd1_thesecret", "apikey:zz", "root", "")
        ]
    assert [r.exit_code for r in results] == [2, 2, 2, 2]
    assert all("--actor" in r.stderr for r in results)
    assert "thesecret" not in results[0].stderr
    assert not route.called
