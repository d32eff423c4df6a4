"""Observability: tenant status and the fleet view read the data planes, never failing."""

from __future__ import annotations

import httpx
from cp_harness import FERNET_KEY, ControlPlane, Database, make_settings, running_control_plane
from cryptography.fernet import Fernet

from botfleet.control_plane.models import DataPlaneHealth, DataPlaneUsage
from botfleet.control_plane.services.fleet import notes_of

INTERNAL_TOKEN = "dp-internal-token-777"
#: Answers shaped as a data plane's (`data_plane/api/health.py`, `usage.py`, `tasks.py`).
HEALTH = {
    "status": "ok",
    "flow_id": "demo",
    "flow_version": "v1",
    "knowledge_version": "",
    "busy_contacts": 0,
    "store": "ok",
    "connectors": {"calendar": "closed"},
    "config": {
        "restart_required": [],
        "since": None,
        "control_plane": {"polls": "ok", "http_status": None, "since": None},
    },
}
USAGE = {
    "tenant_id": "healthy",
    "month": "2026-01",
    "timezone": "UTC",
    "llm_enabled": True,
    "llm_unavailable": None,
    "llm_last_error": None,
    "provider": "mock_llm",
    "model": "mock",
    "knowledge_version": "v1",
    "input_tokens": 300,
    "output_tokens": 45,
    "cached_tokens": 0,
    "total_tokens": 345,
    "quota_monthly_tokens": None,
    "remaining_tokens": None,
    "questions": {"answered": 12, "out_of_scope": 0, "errors": 0, "over_quota": 0},
    "requests": 12,
}
TASKS = {
    "tasks": [
        {
            "job_id": "once:reminder-1",
            "kind": "one_off",
            "task": "reminder",
            "contact_id": "34600111222",
            "key": "reminder-1",
            "next_run_at": "2026-01-01T10:00:00Z",
            "data": {},
        }
    ],
    "count": 1,
    "truncated": False,
}


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
    if host == "dp-waiting":
        return httpx.Response(200, json=WAITING[path])
    if path == "/health":
        tenant = "healthy" if host == "dp-ok" else host.removeprefix("dp-")
        return httpx.Response(200, json={**HEALTH, "tenant_id": tenant})
    if path == "/usage":
        return httpx.Response(200, json=USAGE)
    if path == "/tasks":
        return httpx.Response(200, json=TASKS)
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
        assert body["health"] == {**HEALTH, "tenant_id": "healthy"}
        assert (body["usage"], body["tasks"]) == (USAGE, TASKS)
        assert (body["errors"], body["notes"]) == ([], [])
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
        assert by_id["fine"]["usage"]["total_tokens"] == 345
        lost = by_id["lost"]
        assert lost["status"] == "ok", "its data plane answers /health"
        assert lost["errors"][0].startswith("lost/data_plane: cannot decrypt")
        assert "GET http://dp-lost:8002/usage: HTTP 401" in lost["errors"]
        single = await cp.client.get("/v1/tenants/lost/status", headers=cp.admin)
        assert single.status_code == 200
        assert single.json()["errors"][0].startswith("lost/data_plane: cannot decrypt")
        assert INTERNAL_TOKEN not in fleet.text + single.text


#: A data plane running without a published LLM change, whose provider refused a question
#: (the shapes of `data_plane/api/health.py` and `usage.py`).
WAITING = {
    "/health": {
        **HEALTH,
        "tenant_id": "waiting",
        "connectors": {"llm": "closed"},
        "config": {
            "restart_required": ["llm.model", "llm.quota_daily_questions_per_contact"],
            "since": "2026-12-07T10:00:00+00:00",
        },
    },
    "/usage": {
        **USAGE,
        "tenant_id": "waiting",
        "questions": {"answered": 0, "out_of_scope": 0, "errors": 3, "over_quota": 0},
        "llm_last_error": {
            "outcome": "rejected",
            "at": "2026-12-07T10:02:41.5+00:00",
            "detail": 'openai_compatible: request refused (HTTP 404): model "qwen2.5-7b" not '
            "found (check the model name, and that base_url is the API root up to /v1)",
            "resolved_at": None,
        },
    },
    "/tasks": TASKS,
}


async def test_a_pending_restart_and_the_llms_last_failure_are_relayed_and_said(
    database: Database,
) -> None:
    """What a tenant key cannot read in the data plane's log: the status relays it, and says
    it in `notes`, while the status stays ok (the bot runs)."""
    async with running_control_plane(make_settings(database), _data_plane) as cp:
        await cp.create_tenant("waiting", data_plane_url="http://dp-waiting:8002")
        key = await cp.tenant_key("waiting")
        stored = await cp.client.put(
            "/v1/tenants/waiting/credentials/data_plane",
            json={"internal_token": INTERNAL_TOKEN},
            headers=cp.auth(key),
        )
        assert stored.status_code == 200
        status = await cp.client.get("/v1/tenants/waiting/status", headers=cp.auth(key))
        fleet = await cp.client.get("/v1/fleet", headers=cp.admin)
    assert status.status_code == 200, status.text
    body = status.json()
    assert (body["status"], body["errors"]) == ("ok", [])
    assert body["health"]["config"]["restart_required"] == [
        "llm.model", "llm.quota_daily_questions_per_contact"
    ]  # fmt: skip
    assert body["usage"]["llm_last_error"]["outcome"] == "rejected"
    assert body["notes"] == [
        "restart required: llm.model, llm.quota_daily_questions_per_contact (changed "
        "2026-12-07T10:00Z); the new settings apply at the data plane's next start",
        "llm: last error 2026-12-07T10:02Z rejected: openai_compatible: request refused (HTTP "
        '404): model "qwen2.5-7b" not found (check the model name, and that base_url is the '
        "API root up to /v1)",
    ]
    [listed] = fleet.json()["tenants"]
    assert listed["notes"] == body["notes"]


def test_a_failure_the_provider_got_over_is_said_as_past() -> None:
    resolved = {**WAITING["/usage"]["llm_last_error"], "resolved_at": "2026-12-07T11:30:00Z"}
    usage = DataPlaneUsage.model_validate({**USAGE, "llm_last_error": resolved})
    health = DataPlaneHealth.model_validate({**HEALTH, "config": None})
    [note] = notes_of(health, usage)
    assert note.startswith("llm: last error 2026-12-07T10:02Z rejected: ")
    assert note.endswith("; the provider has answered since 2026-12-07T11:30Z")


def _not_a_data_plane(request: httpx.Request) -> httpx.Response:
    """Something else at the data plane's URL: JSON answers of other shapes."""
    answers = {
        "/health": {"status": "ok", "flow_version": 1},
        "/usage": {"messages_in": 12},
        "/tasks": [{"id": "reminder:1"}],
    }
    return httpx.Response(200, json=answers[request.url.path])


async def test_answers_not_shaped_as_a_data_planes_are_left_out_and_said(
    database: Database,
) -> None:
    """The status has the shape its schema publishes: an answer of another shape is null
    there, its URL in `errors`; a /health of another shape makes the status degraded."""
    async with running_control_plane(make_settings(database), _not_a_data_plane) as cp:
        await cp.create_tenant("odd", data_plane_url="http://dp-odd:8002")
        status = await cp.client.get("/v1/tenants/odd/status", headers=cp.admin)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["status"] == "degraded"
    assert (body["health"], body["usage"], body["tasks"]) == (None, None, None)
    assert body["errors"] == [
        f"GET http://dp-odd:8002/{path}: answered, but not as a data plane does ({n} problem(s))"
        for path, n in (("health", 5), ("usage", 15), ("tasks", 1))
    ]
