"""Strict task runs through the control plane: `"strict": true` in `POST .../tasks/run` and
`?strict=true` on `POST .../tasks/{job_id}/run` reach the tenant's (real, in-process) data
plane, whose refusal (a template lacks a value: nothing sent) comes back as a 422 with the
run's `warnings` and a `detail`, audited as a run with `status: refused`; a job so refused stays
pending. `strict` is sent only when asked for (a data plane of an earlier release refuses a run
body with a field it does not know), and such a data plane's 422 is a 502 saying to upgrade."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cp_harness import Database, make_settings, running_control_plane
from test_cp_tasks_data_plane_errors import _acme, data_plane
from test_cp_tasks_run import ANA, NOW, _task_audit, acme_planes

from botfleet.control_plane.path_segments import path_segment
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.scheduling import ManualScheduler

RUN = "/v1/tenants/acme/tasks/run"
TASKS = "/v1/tenants/acme/tasks"
KEY = f"team_reply:{ANA}"
JOB = f"once:{KEY}"
MISSING = [
    {
        "code": "template_missing_value",
        "message": "missing value 'text'",
        "where": "tasks.team_reply[0].text",
    }
]


async def test_a_strict_run_refused_is_a_422_with_its_warnings_and_nothing_sent(
    database: Database, tmp_path: Path
) -> None:
    async with acme_planes(database, tmp_path) as (cp, chat):
        run = {"task": "team_reply", "contact_id": ANA, "strict": True}

        answer = await cp.client.post(RUN, json=run, headers=cp.admin)

        assert answer.status_code == 422, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        assert (body["status"], body["sent"], body["failed"]) == ("refused", 0, 0)
        assert body["warnings"] == MISSING
        assert "nothing was sent" in body["detail"]
        assert await chat.messages(ANA) == []
        sent = cp.data_plane_requests[-1]
        assert json.loads(sent.content) == {**run, "data": {}}
        [entry] = await _task_audit(cp)
        assert entry["details"]["status"] == "refused"
        assert entry["details"]["outcome"] == "done"

        with_text = {**run, "data": {"text": "Olá Bia"}}
        ran = await cp.client.post(RUN, json=with_text, headers=cp.admin)
        assert ran.status_code == 200, ran.text
        assert (ran.json()["status"], ran.json()["sent"]) == ("done", 1)
        assert [m["output"]["text"] for m in await chat.messages(ANA)] == ["Olá Bia"]


async def test_strict_is_sent_only_when_asked(database: Database, tmp_path: Path) -> None:
    async with acme_planes(database, tmp_path) as (cp, _):
        for run in (
            {"task": "team_done", "contact_id": ANA},
            {"task": "team_done", "contact_id": ANA, "strict": False},
        ):
            answer = await cp.client.post(RUN, json=run, headers=cp.admin)
            assert answer.status_code == 200, answer.text
            assert "strict" not in json.loads(cp.data_plane_requests[-1].content)


async def test_a_strict_job_run_refused_is_a_422_and_the_job_stays_pending(
    database: Database, tmp_path: Path
) -> None:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="acme")
    async with acme_planes(database, tmp_path, clock=clock, scheduler=scheduler) as (cp, chat):
        await scheduler.schedule(ScheduleTask("team_reply", NOW + timedelta(hours=2), KEY, ANA))
        url = f"{TASKS}/{path_segment(JOB)}/run"

        answer = await cp.client.post(url, params={"strict": "true"}, headers=cp.admin)

        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert (body["status"], body["job_id"], body["warnings"]) == ("refused", JOB, MISSING)
        assert "nothing was sent" in body["detail"]
        assert cp.data_plane_requests[-1].url.params["strict"] == "true"
        assert await chat.messages(ANA) == []
        listed = await cp.client.get(TASKS, headers=cp.admin)
        assert [t["job_id"] for t in listed.json()["tasks"]] == [JOB]

        # Not strict: it runs with its own (incomplete) data, as it would fire.
        ran = await cp.client.post(url, headers=cp.admin)
        assert ran.status_code == 200, ran.text
        assert "strict" not in cp.data_plane_requests[-1].url.params
        assert ran.json()["warnings"] == MISSING


async def test_a_data_plane_without_strict_runs_is_a_502_saying_to_upgrade(
    database: Database,
) -> None:
    def earlier_release(request: httpx.Request) -> httpx.Response:
        problem = {"loc": ["body", "strict"], "msg": "Extra inputs are not permitted"}
        return httpx.Response(422, json={"detail": [problem]})

    async with running_control_plane(make_settings(database), data_plane(earlier_release)) as cp:
        await _acme(cp)
        run: dict[str, Any] = {"task": "team_reply", "contact_id": ANA, "strict": True}
        answer = await cp.client.post(RUN, json=run, headers=cp.admin)
    assert answer.status_code == 502
    assert "does not take strict runs (HTTP 422): upgrade it" in answer.json()["detail"]


async def test_the_data_planes_word_on_the_contact_is_relayed_as_a_422(
    database: Database,
) -> None:
    said = 'this tenant has no telegram channel (docs/channels.md, "Several channels")'

    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": f"contact_id: {said}"})

    async with running_control_plane(make_settings(database), data_plane(refusing)) as cp:
        await _acme(cp)
        for strict in (True, False):
            run: dict[str, Any] = {
                "task": "team_reply",
                "contact_id": "telegram:555",
                "strict": strict,
            }
            answer = await cp.client.post(RUN, json=run, headers=cp.admin)
            assert answer.status_code == 422, answer.text
            assert answer.json()["detail"] == f"contact_id: {said}"


async def test_the_data_planes_word_on_a_listed_contact_is_relayed_as_a_422(
    database: Database,
) -> None:
    said = (
        "'555001' is no whatsapp contact of this tenant; its telegram contact is 'telegram:555001'"
    )

    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": f"contact_id: {said}"})

    async with running_control_plane(make_settings(database), data_plane(refusing)) as cp:
        await _acme(cp)
        answer = await cp.client.get(TASKS, params={"contact_id": "555001"}, headers=cp.admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == f"contact_id: {said}"
