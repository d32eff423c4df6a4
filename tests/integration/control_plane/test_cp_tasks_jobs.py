"""`POST /v1/tenants/{id}/tasks/{job_id}/run` and `DELETE /v1/tenants/{id}/tasks/{job_id}`
relayed to a real data plane (in process): an agency runs a pending reminder now with the data
it was scheduled with, and cancels one a customer phoned about; neither fires later; both are
audited with the job's id as the data plane's log lines write it (the contact id in the
flow's default key hashed), never the contact; an unknown job is a 404 naming it; and a run's
`warnings` come through the relay.

The admin key is used: which tenant-key roles may call the routes is the access table's
(`api/access.py`), tested with the roles."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from cp_harness import ControlPlane, Database
from test_cp_tasks_run import ANA, NOW, acme_planes

from botfleet.control_plane.path_segments import path_segment
from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.scheduling import ManualScheduler

KEY = f"team_reply:{ANA}"
JOB = f"once:{KEY}"
DUE = NOW + timedelta(hours=2)
TEXT = "Lembrete: Vinyasa hoje às 18:00"
TASKS = "/v1/tenants/acme/tasks"
JOB_URL = f"{TASKS}/{path_segment(JOB)}"


async def _audit(cp: ControlPlane) -> list[dict[str, Any]]:
    entries = await cp.client.get("/v1/audit", params={"tenant_id": "acme"}, headers=cp.admin)
    assert entries.status_code == 200, entries.text
    assert ANA not in entries.text and ANA[3:9] not in entries.text
    return [e for e in entries.json() if e["action"].startswith("task.")]


async def _job_ids(cp: ControlPlane) -> list[str]:
    listed = await cp.client.get(TASKS, headers=cp.admin)
    assert listed.status_code == 200, listed.text
    return [t["job_id"] for t in listed.json()["tasks"]]


def _scheduled() -> tuple[FrozenClock, ManualScheduler]:
    clock = FrozenClock(NOW)
    return clock, ManualScheduler(clock, tenant_id="acme")


async def test_a_pending_reminder_runs_now_with_its_data_and_is_audited(
    database: Database, tmp_path: Path
) -> None:
    _, scheduler = _scheduled()
    async with acme_planes(database, tmp_path, clock=scheduler.clock, scheduler=scheduler) as (
        cp,
        chat,
    ):
        await scheduler.schedule(ScheduleTask("team_reply", DUE, KEY, ANA, {"text": TEXT}))

        answer = await cp.client.post(f"{JOB_URL}/run", headers=cp.admin)

        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        body = answer.json()
        run_id = f"{JOB}@20240506T090000Z"
        assert body == {
            "status": "done",
            "task": "team_reply",
            "contact_id": ANA,
            "run_id": run_id,
            "sent": 1,
            "failed": 0,
            "contact_hash": body["contact_hash"],
            "warnings": [],
            "job_id": JOB,
            "kind": "one_off",
        }
        assert [m["output"]["text"] for m in await chat.messages(ANA)] == [TEXT]
        ran = cp.data_plane_requests[-1]
        assert (ran.method, ran.url.raw_path.decode()) == (
            "POST",
            f"/tasks/{path_segment(JOB)}/run",
        )
        assert JOB not in await _job_ids(cp)
        assert await scheduler.advance(hours=3) == []
        assert len(await chat.messages(ANA)) == 1

        [entry] = await _audit(cp)
        hashed = f"<contact {body['contact_hash']}>"
        assert entry["action"] == "task.run"
        assert entry["details"] == {
            "task": "team_reply",
            "status": "done",
            "run_id": f"once:team_reply:{hashed}@20240506T090000Z",
            "job_id": f"once:team_reply:{hashed}",
            "sent": 1,
            "failed": 0,
            "contact_hash": body["contact_hash"],
            "outcome": "done",
        }


async def test_cancelling_a_reminder_removes_it_and_is_audited(
    database: Database, tmp_path: Path
) -> None:
    _, scheduler = _scheduled()
    async with acme_planes(database, tmp_path, clock=scheduler.clock, scheduler=scheduler) as (
        cp,
        chat,
    ):
        await scheduler.schedule(ScheduleTask("team_reply", DUE, KEY, ANA, {"text": TEXT}))

        answer = await cp.client.delete(JOB_URL, headers=cp.admin)

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body == {
            "job_id": JOB,
            "kind": "one_off",
            "task": "team_reply",
            "contact_id": ANA,
            "contact_hash": body["contact_hash"],
            "key": KEY,
            "next_run_at": "2024-05-06T09:00:00Z",
        }
        assert await _job_ids(cp) == []
        assert await scheduler.advance(hours=3) == []
        assert await chat.messages(ANA) == []
        [entry] = await _audit(cp)
        assert entry["action"] == "task.cancel"
        assert entry["details"] == {
            "job_id": f"once:team_reply:<contact {body['contact_hash']}>",
            "task": "team_reply",
            "kind": "one_off",
            "next_run_at": "2024-05-06T09:00:00+00:00",
            "contact_hash": body["contact_hash"],
            "outcome": "done",
        }


async def test_an_unknown_job_is_404_naming_it_and_audited_refused(
    database: Database, tmp_path: Path
) -> None:
    _, scheduler = _scheduled()
    async with acme_planes(database, tmp_path, clock=scheduler.clock, scheduler=scheduler) as (
        cp,
        _,
    ):
        for method, path in (("POST", f"{JOB_URL}/run"), ("DELETE", JOB_URL)):
            answer = await cp.client.request(method, path, headers=cp.admin)

            assert answer.status_code == 404, answer.text
            detail = answer.json()["detail"]
            assert detail.startswith(
                f"{method} /tasks/{{job_id}}{'/run' if method == 'POST' else ''} on the data "
                "plane at http://dp-acme:8002: no pending job "
            )
            assert "botfleet cp tasks list acme" in detail
        cancelled, ran = await _audit(cp)  # newest first
        assert (ran["action"], cancelled["action"]) == ("task.run", "task.cancel")
        for entry in (ran, cancelled):
            details = entry["details"]
            assert (details["outcome"], details["http_status"]) == ("refused", 404)
            # No answer gave the contact's hash: its number in the key is scrubbed all the same.
            assert details["job_id"] == "once:team_reply:<number>"
            assert details["contact_hash"] is None


async def test_a_runs_warnings_come_through_the_relay(database: Database, tmp_path: Path) -> None:
    async with acme_planes(database, tmp_path) as (cp, _):
        run = {"task": "team_reply", "contact_id": ANA, "data": {}}

        answer = await cp.client.post(f"{TASKS}/run", json=run, headers=cp.admin)

        assert answer.status_code == 200, answer.text
        assert answer.json()["warnings"] == [
            {
                "code": "template_missing_value",
                "message": "missing value 'text'",
                "where": "tasks.team_reply[0].text",
            }
        ]
