"""Calls to a tenant's data plane about its flow's tasks: `POST /run-task` (run one now for a
contact) and `GET /tasks` (the pending jobs), through the relay (`data_plane_relay`).

`POST /run-task` answers 500 with its usual body when the task failed (its turn raised, nothing
was committed) and 404 naming the flow for a task its flow does not have. Both are what the data
plane did, not a failure to reach it: the first is returned as an answer (`status: failed`),
the second is a 404 naming the task. Any other 404 or 500 is the relay's 502.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botfleet.control_plane.errors import PayloadTooLarge
from botfleet.control_plane.services.data_plane_relay import (
    DataPlaneRelay,
    RelayCall,
    answer_json,
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
        detail = json_field(answer.body, "detail") or ""
        if answer.status == 404 and detail.startswith("unknown task "):
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


def _failed_run(body: bytes) -> bool:
    """The data plane's answer to a run whose task failed (not some other server error)."""
    return json_field(body, "status") == "failed" and json_field(body, "run_id") is not None
