"""`GET /tasks` and `POST /run-task`: internal access rules, filters, running a task now."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

TOKEN = "s3cret-internal-token"
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
FLOW: dict[str, Any] = {
    "id": "tasks_api",
    "initial_state": "IDLE",
    "tasks": {"ping": [{"action": "send_text", "text": "pong {{ data.n | default('-') }}"}]},
    "standing_schedules": {"nightly": {"task": "ping", "cron": "0 3 * * *", "contact_id": "ops"}},
    "states": {"IDLE": {"fallback": "IDLE"}},
}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def chat(request: pytest.FixtureRequest) -> AsyncIterator[ChatClient]:
    token = getattr(request, "param", TOKEN)
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    settings = make_settings(internal_token=token)
    async with running_app(flow=FLOW, settings=settings, clock=clock, scheduler=scheduler) as app:
        s = app.runtime.scheduler
        assert s is not None
        for key, contact, task, hours in [
            ("a", "c1", "ping", 1),
            ("b", "c2", "ping", 2),
            ("c", "c1", "other", 3),
        ]:
            at = NOW + timedelta(hours=hours)
            await s.schedule(ScheduleTask(task, at, key, contact, {"n": hours}))
        yield app


def remote(chat: ChatClient) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=chat.app, client=("203.0.113.7", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://botfleet.test")


async def keys(chat: ChatClient, **params: Any) -> list[str]:
    response = await chat.http.get("/tasks", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["tasks"])
    return [t["key"] for t in body["tasks"]]


async def test_tasks_lists_pending_jobs_soonest_first(chat: ChatClient) -> None:
    response = await chat.http.get("/tasks", headers=AUTH)
    first = response.json()["tasks"][0]
    assert first == {
        "job_id": "once:a",
        "kind": "one_off",
        "task": "ping",
        "contact_id": "c1",
        "key": "a",
        "next_run_at": "2024-05-06T08:00:00Z",
        "data": {"n": 1},
    }
    assert await keys(chat) == ["a", "b", "c", "nightly"]
    assert response.json()["truncated"] is False


async def test_tasks_filters(chat: ChatClient) -> None:
    assert await keys(chat, contact_id="c1") == ["a", "c"]
    assert await keys(chat, task="ping") == ["a", "b", "nightly"]
    window = {"due_after": "2024-05-06T10:30:00+02:00", "due_before": "2024-05-06T10:00:00Z"}
    assert await keys(chat, **window) == ["b", "c"]
    assert await keys(chat, limit=1) == ["a"]


async def test_a_list_cut_short_by_the_limit_says_so(chat: ChatClient) -> None:
    async def answer(**params: Any) -> tuple[int, bool]:
        body = (await chat.http.get("/tasks", params=params, headers=AUTH)).json()
        return body["count"], body["truncated"]

    assert await answer(limit=2) == (2, True)
    assert await answer(limit=4) == (4, False)  # exactly every job: nothing left out
    assert await answer(contact_id="c1", limit=2) == (2, False)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"due_after": "2024-05-06T10:00:00"}, "due_after: give a UTC offset"),
        ({"due_before": "tomorrow"}, "due_before"),
        ({"limit": 0}, "limit"),
    ],
)
async def test_bad_filters_are_422(chat: ChatClient, params: dict[str, Any], message: str) -> None:
    response = await chat.http.get("/tasks", params=params, headers=AUTH)
    assert response.status_code == 422
    assert message in response.text


async def test_tasks_needs_the_token_when_one_is_configured(chat: ChatClient) -> None:
    assert (await chat.http.get("/tasks")).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await chat.http.get("/tasks", headers=wrong)).status_code == 403
    async with remote(chat) as outside:
        assert (await outside.get("/tasks", headers=AUTH)).status_code == 200


@pytest.mark.parametrize("chat", [None], indirect=True)
async def test_without_a_token_tasks_answers_local_clients_only(chat: ChatClient) -> None:
    assert (await chat.http.get("/tasks")).status_code == 200
    async with remote(chat) as outside:
        response = await outside.get("/tasks")
    assert response.status_code == 403
    assert "DP_INTERNAL_TOKEN" in response.text


async def test_run_task_runs_the_task_now_in_the_conversation(chat: ChatClient) -> None:
    body = {"task": "ping", "contact_id": "c9", "data": {"n": 42}}
    response = await chat.http.post("/run-task", json=body, headers=AUTH)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "done"
    assert result["run_id"] == "manual:ping@20240506T070000Z"
    assert [m["output"]["text"] for m in await chat.messages("c9")] == ["pong 42"]
    assert len(await keys(chat)) == 4  # pending jobs untouched


async def test_run_task_of_an_unknown_task_is_404(chat: ChatClient) -> None:
    body = {"task": "nope", "contact_id": "c9"}
    response = await chat.http.post("/run-task", json=body, headers=AUTH)
    assert response.status_code == 404
    assert "unknown task 'nope' in flow tasks_api" in response.text
    assert "(tasks: ping)" in response.text
    assert await chat.messages("c9") == []
    typo = await chat.http.post("/run-task", json={**body, "task": "pnig"}, headers=AUTH)
    assert typo.status_code == 404
    assert "(did you mean 'ping'?)" in typo.json()["detail"]


async def test_run_task_rejects_unknown_fields(chat: ChatClient) -> None:
    body = {"task": "ping", "contact_id": "c9", "when": "now"}
    assert (await chat.http.post("/run-task", json=body, headers=AUTH)).status_code == 422


async def test_run_task_needs_the_token_even_from_local_clients(chat: ChatClient) -> None:
    body = {"task": "ping", "contact_id": "c9"}
    missing = await chat.http.post("/run-task", json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = await chat.http.post("/run-task", json=body, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 403
    assert TOKEN not in wrong.text
    assert await chat.messages("c9") == []


@pytest.mark.parametrize("chat", [None], indirect=True)
async def test_run_task_is_disabled_without_a_configured_token(chat: ChatClient) -> None:
    body = {"task": "ping", "contact_id": "c9"}
    response = await chat.http.post("/run-task", json=body, headers=AUTH)
    assert response.status_code == 403
    assert "DP_INTERNAL_TOKEN is not set" in response.text
    assert await chat.messages("c9") == []
