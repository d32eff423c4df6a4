"""The task routes (`POST .../tasks/run`, `GET .../tasks`) when the tenant's data plane cannot
be asked, refuses, or answers badly: each case gives a status and a message saying what to do,
names the data plane by its origin only, never sends the token to a data plane that does not
say it is the tenant's, and audits a run the data plane was asked for (answered, refused, or
left without a usable answer: it may have run), never one that never reached it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cp_harness import ControlPlane, Database, make_settings, running_control_plane

from botfleet.control_plane.services.data_plane_relay import RELAY_TIMEOUT_S
from botfleet.control_plane.services.data_plane_tasks import MAX_RUN_BODY_BYTES, MAX_RUN_BYTES

TOKEN = "tasks-errors-internal-token-0123456789"
#: A path under the origin: error messages name the origin only.
URL = "http://dp-acme:8002/base/path"
ORIGIN = "http://dp-acme:8002"
CONTACT = "34600111222"
RUN_PATH = "/v1/tenants/acme/tasks/run"
TASKS_PATH = "/v1/tenants/acme/tasks"
RUN: dict[str, Any] = {"task": "team_reply", "contact_id": CONTACT, "data": {"text": "Hi Ana"}}
DONE = {
    "status": "done",
    "task": "team_reply",
    "contact_id": CONTACT,
    "run_id": "manual:team_reply@20240506T090000Z",
    "sent": 1,
    "failed": 0,
}
LISTED = {
    "tasks": [
        {
            "job_id": "once:a",
            "kind": "one_off",
            "task": "team_done",
            "contact_id": CONTACT,
            "key": "a",
            "next_run_at": "2024-05-06T08:00:00Z",
            "data": {"n": 1},
        }
    ],
    "count": 1,
    "truncated": False,
}
Handler = Callable[[httpx.Request], httpx.Response]
#: Both routes, as (method, path, request kwargs): what reaching the data plane refuses, it
#: refuses for each.
ROUTES = [("POST", RUN_PATH, {"json": RUN}), ("GET", TASKS_PATH, {})]


def data_plane(routes: Handler, *, health: httpx.Response | None = None) -> Handler:
    """acme's data plane: /health names it (or answers `health`), the rest `routes`."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/health"):
            return health or httpx.Response(200, json={"status": "ok", "tenant_id": "acme"})
        return routes(request)

    return handle


def answering(status: int, body: Any = None, **kwargs: Any) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, **kwargs)

    return handle


def done(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/tasks"):
        return httpx.Response(200, json=LISTED)
    return httpx.Response(200, json=DONE)


async def _acme(cp: ControlPlane, *, url: str | None = URL, token: str | None = TOKEN) -> None:
    await cp.create_tenant("acme", **({"data_plane_url": url} if url else {}))
    if token is not None:
        stored = await cp.client.put(
            "/v1/tenants/acme/credentials/data_plane",
            json={"internal_token": token},
            headers=cp.admin,
        )
        assert stored.status_code == 200, stored.text


async def _run(cp: ControlPlane, body: Any = None) -> httpx.Response:
    return await cp.client.post(RUN_PATH, json=RUN if body is None else body, headers=cp.admin)


def _no_secrets(response: httpx.Response) -> None:
    for secret in (TOKEN, "/base/path", CONTACT):
        assert secret not in response.text, secret


async def _task_audit(cp: ControlPlane) -> list[dict[str, Any]]:
    entries = (await cp.client.get("/v1/audit", headers=cp.admin)).json()
    return [e for e in entries if e["action"].startswith("task.")]


@pytest.mark.parametrize(("method", "path", "kwargs"), ROUTES)
async def test_without_a_data_plane_url_or_token_409_says_what_to_set(
    database: Database, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    async with running_control_plane(make_settings(database), data_plane(done)) as cp:
        await _acme(cp, url=None, token=None)
        no_url = await cp.client.request(method, path, headers=cp.admin, **kwargs)
        await cp.client.patch("/v1/tenants/acme", json={"data_plane_url": URL}, headers=cp.admin)
        no_token = await cp.client.request(method, path, headers=cp.admin, **kwargs)
    assert no_url.status_code == no_token.status_code == 409
    assert "has no data_plane_url" in no_url.json()["detail"]
    assert "no data_plane credentials" in no_token.json()["detail"]
    assert cp.data_plane_requests == []


async def test_an_unreachable_data_plane_is_502_naming_its_origin_only(
    database: Database,
) -> None:
    async with running_control_plane(make_settings(database)) as cp:  # nothing answers
        await _acme(cp)
        answer = await _run(cp)
        assert await _task_audit(cp) == []
    assert answer.status_code == 502
    assert answer.json()["detail"].startswith(
        f"POST /run-task on the data plane at {ORIGIN}: unreachable (ConnectError)"
    )
    _no_secrets(answer)


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_token_is_502_saying_to_store_it_again(
    database: Database, status: int
) -> None:
    refuse = answering(status, {"detail": "wrong internal token"})
    async with running_control_plane(make_settings(database), data_plane(refuse)) as cp:
        await _acme(cp)
        answer = await _run(cp)
    assert answer.status_code == 502
    detail = answer.json()["detail"]
    assert (
        f"the stored data_plane token was refused (HTTP {status}: wrong internal token)" in detail
    )
    assert "PUT /v1/tenants/acme/credentials/data_plane" in detail
    _no_secrets(answer)


@pytest.mark.parametrize(
    ("health", "why"),
    [
        (httpx.Response(200, json={"status": "ok", "tenant_id": "beta"}), "as another tenant"),
        (httpx.Response(200, json={"status": "ok"}), "names no tenant"),
        (httpx.Response(500, text="oops"), "answered HTTP 500"),
    ],
)
async def test_a_data_plane_not_naming_the_tenant_never_gets_the_token_nor_the_run(
    database: Database, health: httpx.Response, why: str
) -> None:
    async with running_control_plane(
        make_settings(database), data_plane(done, health=health)
    ) as cp:
        await _acme(cp)
        run = await _run(cp)
        listed = await cp.client.get(TASKS_PATH, headers=cp.admin)
    for answer in (run, listed):
        assert answer.status_code == 502
        assert why in answer.json()["detail"]
        assert "the token was not sent" in answer.json()["detail"]
    assert [r.url.path for r in cp.data_plane_requests] == ["/base/path/health"] * 2
    assert all("authorization" not in r.headers for r in cp.data_plane_requests)


async def test_a_busy_data_plane_is_503_with_its_retry_after(database: Database) -> None:
    busy = answering(503, {"detail": "the store is busy"}, headers={"Retry-After": "7"})
    async with running_control_plane(make_settings(database), data_plane(busy)) as cp:
        await _acme(cp)
        run = await _run(cp)
        listed = await cp.client.get(TASKS_PATH, headers=cp.admin)
    for answer in (run, listed):
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "7"
        assert "HTTP 503: the store is busy); retry in 7 s." in answer.json()["detail"]
    assert "may have run" not in run.json()["detail"]  # a busy data plane ran nothing


async def test_no_answer_in_time_is_504_saying_the_task_may_have_run(database: Database) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with running_control_plane(make_settings(database), data_plane(slow)) as cp:
        await _acme(cp)
        run = await _run(cp)
        listed = await cp.client.get(TASKS_PATH, headers=cp.admin)
        [entry] = await _task_audit(cp)  # it may have run: audited all the same (not the list)
    assert entry["action"] == "task.run"
    assert entry["details"]["outcome"] == "unknown: no answer"
    assert entry["details"]["http_status"] == 504
    assert run.status_code == listed.status_code == 504
    assert run.json()["detail"] == (
        f"POST /run-task on the data plane at {ORIGIN}: no answer within {RELAY_TIMEOUT_S:g} s "
        "(it waits for the contact's turns under way, then runs the task); retry later. The "
        "task may have run once the contact's turn came: export the contact's data to see "
        "what was sent before running it again."
    )
    assert listed.json()["detail"] == (
        f"GET /tasks on the data plane at {ORIGIN}: no answer within {RELAY_TIMEOUT_S:g} s; "
        "retry later."
    )


async def test_a_failed_task_is_200_failed_but_any_other_500_is_502(database: Database) -> None:
    failed = {**DONE, "status": "failed", "sent": None, "failed": None}
    bodies = iter([failed, {"detail": "Internal Server Error"}])

    def server_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json=next(bodies))

    async with running_control_plane(make_settings(database), data_plane(server_error)) as cp:
        await _acme(cp)
        ran = await _run(cp)
        crashed = await _run(cp)
        audited = await _task_audit(cp)
    assert ran.status_code == 200, ran.text
    assert ran.json() == {**failed, "contact_hash": None, "warnings": []}
    assert crashed.status_code == 502
    assert crashed.json()["detail"] == (
        f"POST /run-task on the data plane at {ORIGIN}: answered HTTP 500: Internal Server Error"
    )
    assert [e["details"]["status"] for e in audited] == ["failed"]


async def test_a_404_other_than_an_unknown_task_is_a_missing_route(database: Database) -> None:
    details = iter(["unknown task 'team_reply' in flow handoff", "Not Found"])

    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": next(details)})

    async with running_control_plane(make_settings(database), data_plane(not_found)) as cp:
        await _acme(cp)
        no_task = await _run(cp)
        no_route = await _run(cp)
    assert no_task.status_code == 404
    assert no_task.json()["detail"] == (
        f"POST /run-task on the data plane at {ORIGIN}: the flow it runs has no task "
        "'team_reply' (HTTP 404: unknown task 'team_reply' in flow handoff); a task is one of "
        "the flow's `tasks:`: check the name, or publish a flow that has it (the data plane "
        "takes it up on its next poll)"
    )
    assert no_route.status_code == 502
    assert "no such route (HTTP 404: Not Found): upgrade the data plane" in no_route.text


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({**DONE, "contact_id": "34600999888"}, "answered about another task or contact"),
        ({**DONE, "task": "team_done"}, "answered about another task or contact"),
        ({**DONE, "status": "maybe"}, "answered, but not as a data plane does"),
        ({"hello": "world"}, "answered, but not as a data plane does"),
    ],
)
async def test_a_run_answer_that_is_not_the_data_planes_is_502_and_audited_unknown(
    database: Database, answer: dict[str, Any], said: str
) -> None:
    async with running_control_plane(
        make_settings(database), data_plane(answering(200, answer))
    ) as cp:
        await _acme(cp)
        relayed = await _run(cp)
        [entry] = await _task_audit(cp)  # something ran: what, the answer does not tell
    assert entry["details"]["outcome"] == "unknown: unreadable answer"
    assert entry["details"]["run_id"] is None
    assert relayed.status_code == 502
    assert said in relayed.json()["detail"]
    assert ORIGIN in relayed.json()["detail"]


async def test_answers_over_their_bound_or_not_json_are_502(database: Database) -> None:
    big = b'{"status": "done", "x": "' + b"a" * MAX_RUN_BYTES + b'"}'

    def huge(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tasks"):
            return httpx.Response(200, text="<html>a proxy</html>")
        return httpx.Response(200, content=big, headers={"Content-Type": "application/json"})

    async with running_control_plane(make_settings(database), data_plane(huge)) as cp:
        await _acme(cp)
        run = await _run(cp)
        listed = await cp.client.get(TASKS_PATH, headers=cp.admin)
    assert run.status_code == listed.status_code == 502
    assert f"the answer is larger than {MAX_RUN_BYTES} bytes" in run.json()["detail"]
    assert "check the tenant's data_plane_url" in run.json()["detail"]
    assert listed.json()["detail"].endswith("answered 200, but not with JSON")


@pytest.mark.parametrize(
    ("body", "place"),
    [
        ({**RUN, "when": "now"}, ["body", "when"]),
        ({**RUN, "task": ""}, ["body", "task"]),
        ({**RUN, "task": "t" * 192}, ["body", "task"]),
        ({**RUN, "contact_id": "1" * 192}, ["body", "contact_id"]),
        ({**RUN, "data": ["text"]}, ["body", "data"]),
        ({"task": "team_reply"}, ["body", "contact_id"]),
    ],
)
async def test_a_run_the_data_plane_would_refuse_is_422_before_any_call(
    database: Database, body: dict[str, Any], place: list[str]
) -> None:
    async with running_control_plane(make_settings(database), data_plane(done)) as cp:
        await _acme(cp)
        answer = await _run(cp, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"] == place
    assert cp.data_plane_requests == []


async def test_a_run_larger_than_the_data_plane_takes_is_413_before_any_call(
    database: Database,
) -> None:
    # Each é is 2 bytes as UTF-8: within the control plane's body limit, over the data plane's.
    text = "é" * (MAX_RUN_BODY_BYTES // 2)
    async with running_control_plane(make_settings(database), data_plane(done)) as cp:
        await _acme(cp)
        answer = await _run(cp, {**RUN, "data": {"text": text}})
    assert answer.status_code == 413, answer.text
    assert answer.json()["detail"].startswith("the run (task, contact_id and data) as JSON is ")
    assert answer.json()["detail"].endswith(f"bytes; the limit is {MAX_RUN_BODY_BYTES}")
    assert cp.data_plane_requests == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"due_after": "2024-05-06T09:00:00"}, "due_after: give a UTC offset"),
        ({"due_before": "2024-05-06T09:00:00"}, "due_before: give a UTC offset"),
        ({"due_after": "tomorrow"}, "query.due_after"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "1001"}, "query.limit"),
        ({"task": "t" * 192}, "query.task"),
    ],
)
async def test_a_bad_tasks_query_is_422_naming_it_before_any_call(
    database: Database, params: dict[str, str], named: str
) -> None:
    async with running_control_plane(make_settings(database), data_plane(done)) as cp:
        await _acme(cp)
        answer = await cp.client.get(TASKS_PATH, params=params, headers=cp.admin)
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    shown = detail if isinstance(detail, str) else ".".join(map(str, detail[0]["loc"]))
    assert shown.startswith(named)
    assert cp.data_plane_requests == []


async def test_the_tasks_query_is_forwarded_as_given(database: Database) -> None:
    async with running_control_plane(make_settings(database), data_plane(done)) as cp:
        await _acme(cp)
        params = {"due_before": "2024-05-06T09:00:00+02:00", "contact_id": CONTACT}
        answer = await cp.client.get(TASKS_PATH, params=params, headers=cp.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == LISTED
    asked = cp.data_plane_requests[-1]
    assert asked.url.path == "/base/path/tasks"
    assert asked.headers["authorization"] == f"Bearer {TOKEN}"
    assert dict(asked.url.params) == {**params, "limit": "200"}  # the + arrives as a +
