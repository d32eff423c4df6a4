"""A pending job run or cancelled through the control plane is audited whatever the data plane
answered, with an `outcome`: `done`, `refused` (it answered that it did not do it), or
`unknown: ...` when the answer was lost (504) or, for a cancel, the data plane was busy (503):
those may have been carried out, so the audit shows the attempt. Job ids are recorded with
any phone number in them scrubbed, in whatever format the flow's key wrote it."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane
from test_cp_tasks_data_plane_errors import _acme, answering, data_plane

from botfleet.control_plane.path_segments import path_segment

#: A key the flow built from `data.phone`, in the contact's own format.
JOB = "once:call:+34 600 111 222"
JOB_URL = f"/v1/tenants/acme/tasks/{path_segment(JOB)}"
SCRUBBED = "once:call:<number>"


async def _task_audit(cp: ControlPlane) -> list[dict[str, Any]]:
    entries = await cp.client.get("/v1/audit", headers=cp.admin)
    assert entries.status_code == 200, entries.text
    # No run of the number's digits, in any format; the entries' times are left out, whose
    # microseconds hold "600" one time in a few hundred ("04:41:45.600614Z" failed a CI run).
    untimed = [{k: v for k, v in e.items() if k != "at"} for e in entries.json()]
    assert "600" not in json.dumps(untimed)
    return [e for e in entries.json() if e["action"].startswith("task.")]


def slow(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


@pytest.mark.parametrize(
    ("method", "path", "action"),
    [("POST", f"{JOB_URL}/run", "task.run"), ("DELETE", JOB_URL, "task.cancel")],
)
async def test_a_job_call_without_an_answer_is_audited_as_unknown(
    database: Database, method: str, path: str, action: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(slow)) as cp:
        await _acme(cp)

        answer = await cp.client.request(method, path, headers=cp.admin)

        assert answer.status_code == 504, answer.text
        [entry] = await _task_audit(cp)
    assert entry["action"] == action
    details = entry["details"]
    assert (details["outcome"], details["http_status"]) == ("unknown: no answer", 504)
    assert details["job_id"] == SCRUBBED
    assert (details["task"], details["contact_hash"]) == (None, None)


@pytest.mark.parametrize(
    ("method", "path", "status", "body", "outcome"),
    [
        ("DELETE", JOB_URL, 409, {"detail": f"{JOB!r} is the flow's standing schedule"}, "refused"),
        ("POST", f"{JOB_URL}/run", 503, {"detail": "busy"}, "refused"),  # a busy run ran nothing
        ("DELETE", JOB_URL, 503, {"detail": "busy"}, "unknown: data plane busy"),
    ],
)
async def test_a_refused_or_busy_job_call_is_audited_with_its_outcome(
    database: Database, method: str, path: str, status: int, body: Any, outcome: str
) -> None:
    routes = answering(status, body, headers={"Retry-After": "3"})
    async with running_control_plane(make_settings(database), data_plane(routes)) as cp:
        await _acme(cp)

        answer = await cp.client.request(method, path, headers=cp.admin)

        assert answer.status_code == status, answer.text
        [entry] = await _task_audit(cp)
    assert (entry["details"]["outcome"], entry["details"]["http_status"]) == (outcome, status)
    assert entry["details"]["job_id"] == SCRUBBED


async def test_a_job_run_answered_is_audited_done_with_its_key_scrubbed(
    database: Database,
) -> None:
    ran = {
        "status": "done", "job_id": JOB, "kind": "one_off", "task": "call",
        "contact_id": "web-ana-1", "contact_hash": "5ed3d90e59d5",
        "run_id": f"{JOB}@20240506T090000Z", "sent": 1, "failed": 0,
    }  # fmt: skip
    async with running_control_plane(
        make_settings(database), data_plane(answering(200, ran))
    ) as cp:
        await _acme(cp)

        answer = await cp.client.post(f"{JOB_URL}/run", headers=cp.admin)

        assert answer.status_code == 200, answer.text
        [entry] = await _task_audit(cp)
    assert entry["details"] == {
        "task": "call",
        "status": "done",
        "run_id": f"{SCRUBBED}@20240506T090000Z",
        "job_id": SCRUBBED,
        "sent": 1,
        "failed": 0,
        "contact_hash": "5ed3d90e59d5",
        "outcome": "done",
    }


async def test_a_call_that_never_reached_the_data_plane_is_not_audited(
    database: Database,
) -> None:
    health = httpx.Response(200, json={"status": "ok", "tenant_id": "beta"})
    async with running_control_plane(
        make_settings(database), data_plane(slow, health=health)
    ) as cp:
        await _acme(cp)

        answer = await cp.client.delete(JOB_URL, headers=cp.admin)

        assert answer.status_code == 502, answer.text
        assert await _task_audit(cp) == []  # the token was never sent: nothing was done
