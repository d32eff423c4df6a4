"""Calls to a tenant's data plane about its flow's tasks: `POST /run-task` (run one now for a
contact), `GET /tasks` (the pending jobs), `POST /tasks/{job_id}/run` (run a pending job now)
and `DELETE /tasks/{job_id}` (cancel one), through the relay (`data_plane_relay`).

A run or a cancel of a job id the data plane has no pending job of answers 404 ``no pending
job ...``: relayed as a 404 naming the job. A standing job cannot be cancelled (409, relayed).
A data plane of an earlier release has no such routes: its plain 404 is the relay's 502 "upgrade
the data plane".

`POST /run-task` answers 500 with its usual body when the task failed (its turn raised, nothing
was committed) and 404 naming the flow for a task its flow does not have. Both are what the data
plane did, not a failure to reach it: the first is returned as an answer (`status: failed`),
the second is a 404 naming the task. Any other 404 or 500 is the relay's 502.

A strict run (`strict`) refused answers 422 with its usual body (`status: refused`): returned as
an answer too. `strict` is sent only when asked for: a data plane of an earlier release refuses
a run's body with a field it does not know (a 502 here saying to upgrade it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botfleet.control_plane.errors import PayloadTooLarge
from botfleet.control_plane.path_segments import path_segment
from botfleet.control_plane.services.data_plane_relay import (
    DataPlaneError,
    DataPlaneRelay,
    RelayAnswer,
    RelayCall,
    answer_json,
    contact_refused,
    detail_of,
    json_field,
    origin,
    refusal,
    their_detail,
)
from botfleet.http_guards import MAX_BODY_BYTES

#: A run's answer is a few hundred bytes.
MAX_RUN_BYTES = 64 * 1024
#: A list of jobs: at most 1,000, each with the data its flow gave it.
MAX_TASKS_BYTES = 4 * 1024 * 1024
#: The largest body the data plane reads (`POST /run-task`), as the control plane sends it.
MAX_RUN_BODY_BYTES = MAX_BODY_BYTES

_RUN_WAITS = " (it waits for the contact's turns under way, then runs the task)"
_JOB_MAY_HAVE_RUN = (
    " The job may have run once the contact's turn came (a one-off job is no longer pending "
    "then): list the pending jobs, and export the contact's data to see what was sent."
)
_CANCEL_AGAIN = " The job may have been cancelled: list the pending jobs to see."
_MAY_HAVE_RUN = (
    " The task may have run once the contact's turn came: export the contact's data to see what "
    "was sent before running it again."
)


class DataPlaneTasks:
    """A flow task run now on a tenant's data plane, and its list of pending jobs."""

    def __init__(self, relay: DataPlaneRelay) -> None:
        self._relay = relay

    async def run_task(
        self, base_url: str, token: str, *, tenant_id: str, run: dict[str, Any]
    ) -> Any:
        """The data plane's JSON answer to ``POST /run-task`` with `run` (``task``,
        ``contact_id``, ``data``), a failed task's included; a 404 naming the task when the
        data plane's flow has none of that name."""
        if not run.get("strict"):
            run = {name: value for name, value in run.items() if name != "strict"}
        body = json.dumps(run, ensure_ascii=False, separators=(",", ":")).encode()
        if len(body) > MAX_RUN_BODY_BYTES:
            # Refused here: the data plane would answer 413, relayed as a mere 502.
            what = "the run (task, contact_id and data) as JSON"
            raise PayloadTooLarge(what, len(body), MAX_RUN_BODY_BYTES)
        call = RelayCall(
            "POST", "/run-task", origin(base_url), tenant_id, waits=_RUN_WAITS,
            too_large="a data plane answers a run in a few hundred bytes: check the tenant's "
            "data_plane_url.", timed_out=_MAY_HAVE_RUN,
        )  # fmt: skip
        url = f"{base_url}/run-task"
        answer = await self._relay.exchange(call, base_url, url, token, MAX_RUN_BYTES, body=body)
        if answer.status == 200:
            return answer_json(call, answer)
        if answer.status == 500 and _failed_run(answer.body):
            return answer_json(call, answer)
        if answer.status == 422 and _refused_run(answer.body):
            return answer_json(call, answer)
        refused = contact_refused(answer)
        if refused is not None:
            raise refused
        if answer.status == 422 and run.get("strict"):
            raise call.error(
                502,
                "the data plane does not take strict runs (HTTP 422): upgrade it to a release "
                "with them, or run the task without strict",
            )
        if answer.status == 404 and detail_of(answer).startswith("unknown task "):
            said = their_detail(answer.body)
            raise call.error(
                404,
                f"the flow it runs has no task {run['task']!r} (HTTP 404{said}); a task is "
                "one of the flow's `tasks:`: check the name, or publish a flow that has it "
                "(the data plane takes it up on its next poll)",
            )
        raise refusal(call, answer)

    async def list_tasks(
        self,
        base_url: str,
        token: str,
        *,
        tenant_id: str,
        contact_id: str | None,
        task: str | None,
        due_after: datetime | None,
        due_before: datetime | None,
        limit: int,
    ) -> Any:
        """The data plane's JSON answer to ``GET /tasks`` (times aware, sent as given)."""
        call = RelayCall(
            "GET", "/tasks", origin(base_url), tenant_id,
            too_large="ask for fewer (a lower limit, or filters).",
        )  # fmt: skip
        params = {"limit": str(limit)}
        for name, value in (("contact_id", contact_id), ("task", task)):
            if value is not None:
                params[name] = value
        for name, moment in (("due_after", due_after), ("due_before", due_before)):
            if moment is not None:
                # As given, offset included: converting it (to UTC) could overflow near year 1.
                params[name] = moment.isoformat()
        url = f"{base_url}/tasks"
        return await self._relay.json(call, base_url, url, token, MAX_TASKS_BYTES, params=params)

    async def run_job(
        self, base_url: str, token: str, *, tenant_id: str, job_id: str, strict: bool = False
    ) -> Any:
        """The data plane's JSON answer to ``POST /tasks/{job_id}/run`` (``?strict=true`` when
        `strict`), a failed or refused run's included; a 404 naming the job when none of that
        id is pending."""
        call = RelayCall(
            "POST", "/tasks/{job_id}/run", origin(base_url), tenant_id, waits=_RUN_WAITS,
            too_large="a data plane answers a run in a few hundred bytes: check the tenant's "
            "data_plane_url.", timed_out=_JOB_MAY_HAVE_RUN,
        )  # fmt: skip
        url = f"{base_url}/tasks/{path_segment(job_id)}/run"
        params = {"strict": "true"} if strict else None
        answer = await self._relay.exchange(
            call, base_url, url, token, MAX_RUN_BYTES, params=params
        )
        if answer.status == 200:
            return answer_json(call, answer)
        if answer.status == 500 and _failed_run(answer.body):
            return answer_json(call, answer)
        if answer.status == 422 and _refused_run(answer.body):
            return answer_json(call, answer)
        raise _job_refusal(call, answer, job_id)

    async def cancel_job(self, base_url: str, token: str, *, tenant_id: str, job_id: str) -> Any:
        """The data plane's JSON answer to ``DELETE /tasks/{job_id}``; a 404 naming the job
        when none of that id is pending, a 409 for a standing job."""
        call = RelayCall(
            "DELETE", "/tasks/{job_id}", origin(base_url), tenant_id,
            timed_out=_CANCEL_AGAIN, busy=_CANCEL_AGAIN,
        )  # fmt: skip
        url = f"{base_url}/tasks/{path_segment(job_id)}"
        answer = await self._relay.exchange(call, base_url, url, token, MAX_RUN_BYTES)
        if answer.status == 200:
            return answer_json(call, answer)
        raise _job_refusal(call, answer, job_id)


def _job_refusal(call: RelayCall, answer: RelayAnswer, job_id: str) -> DataPlaneError:
    """The error for a job route's answer other than 200: the data plane's own 404 (no such
    pending job) and 409 (a standing job) as they are; anything else as `refusal`."""
    detail = detail_of(answer)
    said = their_detail(answer.body)
    if answer.status == 404 and detail.startswith("no pending job "):
        tenant = call.tenant_id
        return call.error(
            404,
            f"no pending job {job_id[:200]!r}: it ran, was cancelled, or never existed; "
            f"GET /v1/tenants/{tenant}/tasks (botfleet cp tasks list {tenant}) lists the "
            "pending ones with their job_id",
        )
    if answer.status == 409:
        return call.error(409, f"the data plane refused it (HTTP 409{said})")
    return refusal(call, answer)


def _refused_run(body: bytes) -> bool:
    """The data plane's answer to a strict run it refused (not some other 422)."""
    return json_field(body, "status") == "refused" and json_field(body, "run_id") is not None


def _failed_run(body: bytes) -> bool:
    """The data plane's answer to a run whose task failed (not some other server error)."""
    return json_field(body, "status") == "failed" and json_field(body, "run_id") is not None
