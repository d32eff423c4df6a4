"""`POST /v1/tenants/{id}/tasks/run` and `GET /v1/tenants/{id}/tasks` relayed to a real data
plane (in process): the team answers a contact through the bot (a task sending
``{{ data.text }}``) with the tenant's own key, the token goes only after `/health` named the
tenant, the run is audited without the contact; another tenant's key gets 404 without reaching
the data plane; a disabled tenant's key may list but not run; an unknown task is a 404 naming
it; a task that failed on the data plane is a 200 saying so; the pending jobs are listed as the
data plane lists them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cp_harness import ControlPlane, Database, FakeDns, make_settings

from botfleet.control_plane.app import create_app
from botfleet.flows.effects import ScheduleTask
from botfleet.flows.state import ConversationState
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app
from botfleet.testing.runtime import make_settings as data_plane_settings
from botfleet.testing.scheduling import ManualScheduler
from botfleet.testing.stores import InMemoryTenantStore

TOKEN = "tasks-relay-internal-token-0123456789"
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
ANA = "34600111222"
FLOW: dict[str, Any] = {
    "id": "handoff_relay",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [{"action": "send_text", "text": "Hi! How can we help?"}],
            "fallback": "MENU",
        },
    },
    "tasks": {
        "team_reply": [{"action": "send_text", "text": "{{ data.text }}"}],
        "team_done": [{"action": "send_text", "text": "Thanks for talking to us!"}],
    },
}
RUN = "/v1/tenants/acme/tasks/run"
TASKS = "/v1/tenants/acme/tasks"
#: What the team writes: sent as written (data, never a template).
REPLY = "Hi Ana, this is Marta. Your invoice is on its way {{ 7 * 7 }}."


class BrokenCommitStore(InMemoryTenantStore):
    """A store whose turns never commit: every task run fails on the data plane."""

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        raise RuntimeError("disk on fire")


@contextlib.asynccontextmanager
async def acme_planes(
    database: Database, tmp_path: Path, **fakes: Any
) -> AsyncIterator[tuple[ControlPlane, ChatClient]]:
    """acme's data plane running for real (`fakes`: its `Overrides`), and a control plane
    reaching it over ASGI, recording each request it sends there."""
    config = make_tenant_config(FLOW, tenant_id="acme")
    state = None if "stores" in fakes else tmp_path / "state.db"
    dp_settings = data_plane_settings(state, internal_token=TOKEN)
    async with running_app(config, settings=dp_settings, **fakes) as chat:
        seen: list[httpx.Request] = []
        to_data_plane = httpx.ASGITransport(app=chat.app)

        class Recording(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                seen.append(request)
                return await to_data_plane.handle_async_request(request)

        dns = FakeDns()
        app = create_app(make_settings(database), data_plane_transport=Recording(), resolver=dns)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://cp.test") as http:
                cp = ControlPlane(client=http, app=app, data_plane_requests=seen, dns=dns)
                await cp.create_tenant("acme", data_plane_url="http://dp-acme:8002")
                stored = await http.put(
                    "/v1/tenants/acme/credentials/data_plane",
                    json={"internal_token": TOKEN},
                    headers=cp.admin,
                )
                assert stored.status_code == 200, stored.text
                yield cp, chat


async def _task_audit(cp: ControlPlane) -> list[dict[str, Any]]:
    entries = await cp.client.get("/v1/audit", params={"tenant_id": "acme"}, headers=cp.admin)
    assert entries.status_code == 200, entries.text
    assert ANA[3:9] not in entries.text  # never the contact, nor a run of its digits
    return [e for e in entries.json() if e["action"].startswith("task.")]


async def test_the_team_answers_a_contact_through_the_bot_with_the_tenants_key(
    database: Database, tmp_path: Path
) -> None:
    async with acme_planes(database, tmp_path) as (cp, chat):
        await chat.say(ANA, "I have a question about my invoice")
        before = len(await chat.messages(ANA))
        key = await cp.tenant_key("acme")
        run = {"task": "team_reply", "contact_id": ANA, "data": {"text": REPLY}}

        answer = await cp.client.post(RUN, json=run, headers=cp.auth(key))

        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert body["run_id"].startswith("manual:team_reply@")
        assert body == {
            "status": "done",
            "task": "team_reply",
            "contact_id": ANA,
            "run_id": body["run_id"],
            "sent": 1,
            "failed": 0,
            "contact_hash": body["contact_hash"],
            "warnings": [],
        }
        assert len(body["contact_hash"]) == 12  # the data plane's keyed log hash
        sent = await chat.messages(ANA)
        assert [m["output"]["text"] for m in sent[before:]] == [REPLY]
        # The token went only after /health named the tenant, with the run as asked.
        health, ran = cp.data_plane_requests
        assert (health.method, health.url.path) == ("GET", "/health")
        assert health.headers.get("authorization") is None
        assert (ran.method, ran.url.path) == ("POST", "/run-task")
        assert ran.headers["authorization"] == f"Bearer {TOKEN}"
        assert json.loads(ran.content) == run

        [entry] = await _task_audit(cp)
        assert entry["action"] == "task.run"
        assert entry["actor"] == f"apikey:{key.split('_')[1]}"
        assert entry["details"] == {
            "task": "team_reply",
            "status": "done",
            "run_id": body["run_id"],
            "sent": 1,
            "failed": 0,
            "contact_hash": body["contact_hash"],
            "outcome": "done",
        }


async def test_another_tenants_key_gets_404_and_never_reaches_the_data_plane(
    database: Database, tmp_path: Path
) -> None:
    async with acme_planes(database, tmp_path) as (cp, chat):
        await chat.say(ANA, "hello")
        before = len(await chat.messages(ANA))
        await cp.create_tenant("other")
        foreign = cp.auth(await cp.tenant_key("other"))
        run = {"task": "team_reply", "contact_id": ANA, "data": {"text": "phishing"}}

        refused = await cp.client.post(RUN, json=run, headers=foreign)
        listed = await cp.client.get(TASKS, headers=foreign)

        for answer in (refused, listed):
            assert answer.status_code == 404, answer.text
            assert answer.json() == {"detail": "tenant 'acme' not found"}
        assert cp.data_plane_requests == [], "another tenant's key reached the data plane"
        assert len(await chat.messages(ANA)) == before
        assert await _task_audit(cp) == []


async def test_an_unknown_task_is_404_naming_it_runs_nothing_and_is_audited_refused(
    database: Database, tmp_path: Path
) -> None:
    async with acme_planes(database, tmp_path) as (cp, chat):
        run = {"task": "team_replied", "contact_id": ANA, "data": {"text": "x"}}

        answer = await cp.client.post(RUN, json=run, headers=cp.admin)

        assert answer.status_code == 404, answer.text
        detail = answer.json()["detail"]
        assert detail.startswith("POST /run-task on the data plane at http://dp-acme:8002: ")
        assert "the flow it runs has no task 'team_replied'" in detail
        assert "unknown task 'team_replied' in flow handoff_relay" in detail
        assert await chat.messages(ANA) == []
        [entry] = await _task_audit(cp)
        assert entry["details"] == {
            "task": "team_replied",
            "status": None,
            "run_id": None,
            "sent": None,
            "failed": None,
            "contact_hash": None,
            "outcome": "refused",
            "http_status": 404,
        }


async def test_a_task_that_failed_is_answered_200_failed_and_audited(
    database: Database, tmp_path: Path
) -> None:
    async with acme_planes(database, tmp_path, stores=BrokenCommitStore()) as (cp, chat):
        run = {"task": "team_reply", "contact_id": ANA, "data": {"text": "lost"}}

        answer = await cp.client.post(RUN, json=run, headers=cp.admin)

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["status"], body["sent"], body["failed"]) == ("failed", None, None)
        assert await chat.messages(ANA) == []
        [entry] = await _task_audit(cp)
        assert entry["details"]["status"] == "failed"
        assert entry["details"]["run_id"] == body["run_id"]


async def test_a_disabled_tenants_key_may_list_but_not_run(
    database: Database, tmp_path: Path
) -> None:
    async with acme_planes(database, tmp_path) as (cp, chat):
        key = cp.auth(await cp.tenant_key("acme"))
        disabled = await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)
        assert disabled.status_code == 200, disabled.text
        run = {"task": "team_done", "contact_id": ANA}

        refused = await cp.client.post(RUN, json=run, headers=key)

        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == (
            "tenant 'acme' is disabled: its API keys cannot run its tasks; an admin can enable "
            "it (POST /v1/tenants/acme/enable)"
        )
        assert cp.data_plane_requests == []
        assert (await cp.client.get(TASKS, headers=key)).status_code == 200
        by_admin = await cp.client.post(RUN, json=run, headers=cp.admin)
        assert by_admin.status_code == 200, by_admin.text
        assert [m["output"]["text"] for m in await chat.messages(ANA)] == [
            "Thanks for talking to us!"
        ]


async def test_the_pending_jobs_are_listed_as_the_data_plane_lists_them(
    database: Database, tmp_path: Path
) -> None:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="acme")
    async with acme_planes(database, tmp_path, clock=clock, scheduler=scheduler) as (cp, chat):
        for key, contact, task, hours in [
            ("a", ANA, "team_reply", 1),
            ("b", "34600999888", "team_reply", 2),
            ("c", ANA, "team_done", 3),
        ]:
            job = ScheduleTask(task, NOW + timedelta(hours=hours), key, contact, {"n": hours})
            await scheduler.schedule(job)
        own = cp.auth(await cp.tenant_key("acme"))
        internal = {"Authorization": f"Bearer {TOKEN}"}

        everything = await cp.client.get(TASKS, headers=own)

        assert everything.status_code == 200, everything.text
        assert everything.headers["cache-control"] == "no-store"
        direct = await chat.http.get("/tasks", headers=internal)
        assert everything.json() == direct.json()
        assert [t["key"] for t in everything.json()["tasks"]] == ["a", "b", "c"]
        assert dict(cp.data_plane_requests[-1].url.params) == {"limit": "200"}

        query = {
            "contact_id": ANA,
            "task": "team_reply",
            "due_after": "2024-05-06T09:30:00+02:00",
            "due_before": "2024-05-06T11:00:00+02:00",
            "limit": "5",
        }
        filtered = await cp.client.get(TASKS, params=query, headers=own)
        assert filtered.status_code == 200, filtered.text
        assert (
            filtered.json()
            == (await chat.http.get("/tasks", params=query, headers=internal)).json()
        )
        assert [t["key"] for t in filtered.json()["tasks"]] == ["a"]
        assert dict(cp.data_plane_requests[-1].url.params) == query
        # A listing is not audited.
        assert await _task_audit(cp) == []
