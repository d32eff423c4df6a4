"""A run relayed to the data plane whose answer is lost after the request went out (the
connection broke before the answer was read) or comes back unusable (not JSON, over the relay's
bound) is a 502 saying the task may have run, and is audited as ``task.run`` with an
``unknown: ...`` outcome and the 502: the data plane may have sent the messages, and the audit
is where an operator looks for what was done. A request the data plane refused before running
anything (a contact id of a channel it lacks: 422) stays unaudited, as one that never reached it.

And a standing job's run through the control plane while one of it is under way on a real data
plane is the data plane's 409, relayed in its words and audited ``refused``: its messages go
once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, FakeDns, make_settings, running_control_plane
from test_cp_tasks_data_plane_errors import (
    CONTACT,
    ORIGIN,
    RUN,
    RUN_PATH,
    TOKEN,
    _acme,
    answering,
    data_plane,
)

from botfleet.control_plane.app import create_app
from botfleet.control_plane.path_segments import path_segment
from botfleet.control_plane.services.data_plane_tasks import MAX_RUN_BYTES
from botfleet.testing.clock import FrozenClock
from botfleet.testing.gated_runner import GatedRunner as Gate
from botfleet.testing.runtime import ChatClient, make_tenant_config, running_app
from botfleet.testing.runtime import make_settings as data_plane_settings
from botfleet.testing.scheduling import ManualScheduler

JOB = "once:reminder:booking-41"
JOB_RUN = f"/v1/tenants/acme/tasks/{path_segment(JOB)}/run"
Handler = Callable[[httpx.Request], httpx.Response]


def broken(error: type[httpx.TransportError]) -> Handler:
    """A data plane whose connection breaks once it has the request (a crash after the send)."""

    def handle(request: httpx.Request) -> httpx.Response:
        raise error("Server disconnected without sending a response.", request=request)

    return handle


def too_large(request: httpx.Request) -> httpx.Response:
    body = b'{"status": "done", "x": "' + b"a" * MAX_RUN_BYTES + b'"}'
    return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})


LOSSES = [
    pytest.param(broken(httpx.RemoteProtocolError), "unknown: answer lost", id="disconnected"),
    pytest.param(broken(httpx.ReadError), "unknown: answer lost", id="read-error"),
    pytest.param(
        answering(200, None, text="<html>a proxy</html>"),
        "unknown: unreadable answer",
        id="not-json",
    ),
    pytest.param(too_large, "unknown: unreadable answer", id="too-large"),
]


async def _task_audit(cp: ControlPlane) -> list[dict[str, Any]]:
    entries = await cp.client.get("/v1/audit", headers=cp.admin)
    assert entries.status_code == 200, entries.text
    for secret in (TOKEN, CONTACT, "/base/path"):
        assert secret not in entries.text, secret
    return [e for e in entries.json() if e["action"].startswith("task.")]


@pytest.mark.parametrize(("routes", "outcome"), LOSSES)
async def test_a_task_run_whose_answer_is_lost_is_502_and_audited_unknown(
    database: Database, routes: Handler, outcome: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(routes)) as cp:
        await _acme(cp)

        answer = await cp.client.post(RUN_PATH, json=RUN, headers=cp.admin)

        [entry] = await _task_audit(cp)
    assert answer.status_code == 502, answer.text
    detail = answer.json()["detail"]
    assert detail.startswith(f"POST /run-task on the data plane at {ORIGIN}: ")
    assert "The task may have run once the contact's turn came" in detail
    assert [r.method for r in cp.data_plane_requests] == ["GET", "POST"]  # it was asked
    assert entry["action"] == "task.run"
    assert entry["tenant_id"] == "acme"
    assert entry["details"] == {
        "task": "team_reply",
        "status": None,
        "run_id": None,
        "sent": None,
        "failed": None,
        "contact_hash": None,
        "outcome": outcome,
        "http_status": 502,
    }


@pytest.mark.parametrize(("routes", "outcome"), LOSSES)
async def test_a_job_run_whose_answer_is_lost_is_502_and_audited_unknown(
    database: Database, routes: Handler, outcome: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(routes)) as cp:
        await _acme(cp)

        answer = await cp.client.post(JOB_RUN, headers=cp.admin)

        [entry] = await _task_audit(cp)
    assert answer.status_code == 502, answer.text
    assert "The job may have run once the contact's turn came" in answer.json()["detail"]
    assert entry["action"] == "task.run"
    details = entry["details"]
    assert (details["outcome"], details["http_status"]) == (outcome, 502)
    assert (details["job_id"], details["run_id"], details["status"]) == (JOB, None, None)


async def test_a_run_refused_before_it_ran_is_not_audited_but_a_lost_answer_after_it_is(
    database: Database,
) -> None:
    refused = answering(422, {"detail": "contact_id: 'tg:1' names no channel of this tenant"})
    answers = iter([refused, broken(httpx.RemoteProtocolError)])

    def routes(request: httpx.Request) -> httpx.Response:
        return next(answers)(request)

    async with running_control_plane(make_settings(database), data_plane(routes)) as cp:
        await _acme(cp)

        first = await cp.client.post(RUN_PATH, json=RUN, headers=cp.admin)
        assert await _task_audit(cp) == []  # nothing ran: nothing to audit
        second = await cp.client.post(RUN_PATH, json=RUN, headers=cp.admin)
        audited = await _task_audit(cp)
    assert first.status_code == 422, first.text
    assert second.status_code == 502, second.text
    assert [e["details"]["outcome"] for e in audited] == ["unknown: answer lost"]


# --- a standing job's run under way, through the control plane -------------------------------

STANDING = "standing:morning"
STANDING_RUN = f"/v1/tenants/acme/tasks/{path_segment(STANDING)}/run"
DIGEST = "Aulas de hoje"
FLOW: dict[str, Any] = {
    "id": "yoga_relay",
    "initial_state": "IDLE",
    "tasks": {"digest": [{"action": "send_text", "text": DIGEST}]},
    "standing_schedules": {"morning": {"task": "digest", "cron": "0 8 * * *", "contact_id": "ops"}},
    "states": {"IDLE": {"fallback": "IDLE"}},
}


@contextlib.asynccontextmanager
async def studio_planes(
    database: Database, tmp_path: Path, gate: Gate
) -> AsyncIterator[tuple[ControlPlane, ChatClient]]:
    """acme's data plane (a standing digest, its runs held by `gate`) and a control plane
    reaching it over ASGI."""
    clock = FrozenClock(datetime(2024, 5, 6, 5, 0, tzinfo=UTC))
    scheduler = ManualScheduler(clock, tenant_id="acme")
    config = make_tenant_config(FLOW, tenant_id="acme")
    settings = data_plane_settings(tmp_path / "state.db", internal_token=TOKEN)
    async with running_app(config, settings=settings, clock=clock, scheduler=scheduler) as chat:
        gate.chat = chat
        scheduler.bind(gate.run)
        app = create_app(
            make_settings(database),
            data_plane_transport=httpx.ASGITransport(app=chat.app),
            resolver=FakeDns(),
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://cp.test") as http:
                cp = ControlPlane(client=http, app=app)
                await cp.create_tenant("acme", data_plane_url="http://dp-acme:8002")
                stored = await http.put(
                    "/v1/tenants/acme/credentials/data_plane",
                    json={"internal_token": TOKEN},
                    headers=cp.admin,
                )
                assert stored.status_code == 200, stored.text
                try:
                    yield cp, chat
                finally:
                    gate.open.set()


async def test_a_standing_job_run_while_one_is_under_way_is_the_data_planes_409(
    database: Database, tmp_path: Path
) -> None:
    gate = Gate()
    async with studio_planes(database, tmp_path, gate) as (cp, chat):
        first = asyncio.create_task(cp.client.post(STANDING_RUN, headers=cp.admin))
        await gate.entered.wait()

        again = await gate.alone(cp.client.post(STANDING_RUN, headers=cp.admin))

        assert again.status_code == 409, again.text
        gate.open.set()
        ran = await first
        assert ran.status_code == 200, ran.text
        sent = [m["output"]["text"] for m in await chat.messages("ops")]
        audited = await _task_audit(cp)
    assert sent == [DIGEST]
    detail = again.json()["detail"]
    assert detail.startswith("POST /tasks/{job_id}/run on the data plane at http://dp-acme:8002")
    assert f"(HTTP 409: {STANDING!r} is running already" in detail
    by_outcome = {e["details"]["outcome"]: e for e in audited}
    assert sorted(by_outcome) == ["done", "refused"]
    refusal, done = by_outcome["refused"], by_outcome["done"]
    assert (refusal["details"]["http_status"], refusal["details"]["job_id"]) == (409, STANDING)
    assert (done["details"]["status"], done["details"]["sent"]) == ("done", 1)
