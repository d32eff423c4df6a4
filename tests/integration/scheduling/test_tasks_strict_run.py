"""Strict task runs: `POST /run-task` with `"strict": true` and `POST /tasks/{job_id}/run` with
`?strict=true` render the task's turn with strict templates. A value a template lacks refuses
the run: 422 with the `warnings` and a detail saying nothing was sent, and nothing is sent,
stored (state, outbox, the run) or scheduled; a pending job so refused stays pending.

The yoga studio's walk-through: a manual run of `reminder` without its data sent "Lembrete: a
sua aula de  começa hoje às ." to a real customer, answered 200."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler
from botfleet.testing.stores import InMemoryTenantStore

TOKEN = "yoga-internal-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)
DUE = NOW + timedelta(hours=2)
BIA = "web-bia"
KEY = f"reminder:{BIA}"
JOB = f"once:{KEY}"
FULL = {"class_name": "Vinyasa", "time": "18:00"}
REMINDER = "Lembrete: a sua aula de {{ data.class_name }} começa hoje às {{ data.time }}."
FLOW: dict[str, Any] = {
    "id": "yoga_lisboa",
    "initial_state": "IDLE",
    "tasks": {
        "reminder": [
            {"action": "schedule_task", "task": "followup", "delay": "1d", "idempotency_key": "f"},
            {"action": "send_text", "text": REMINDER},
        ],
        # Its scheduling comes in the step before the connector's answer; the text after it.
        "checkin": [
            {"action": "schedule_task", "task": "followup", "delay": "1d", "idempotency_key": "c"},
            {"action": "invoke_connector", "connector": "mock", "operation": "look", "params": {}},
            {"action": "send_text", "text": "Até às {{ data.time }}"},
        ],
        "followup": [{"action": "send_text", "text": "Como correu a aula?"}],
    },
    "states": {"IDLE": {"on_enter": [{"action": "send_text", "text": "Olá"}], "fallback": "IDLE"}},
}


class Lookup:
    """`mock.look`, counting its calls."""

    category = "mock"

    def __init__(self) -> None:
        self.calls = 0

    def operations(self) -> frozenset[str]:
        return frozenset({"look"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.calls += 1
        return {"ok": True}


@dataclass
class Studio:
    chat: ChatClient
    scheduler: ManualScheduler
    store: InMemoryTenantStore
    lookup: Lookup

    async def texts(self, contact_id: str = BIA) -> list[str]:
        return [m["output"]["text"] for m in await self.chat.messages(contact_id)]

    async def jobs(self) -> list[dict[str, Any]]:
        listed = await self.chat.http.get("/tasks", headers=AUTH)
        assert listed.status_code == 200, listed.text
        return list(listed.json()["tasks"])

    async def version(self, contact_id: str = BIA) -> int | None:
        state = await self.store.states.load(contact_id)
        return None if state is None else state.version


@pytest.fixture
async def studio() -> AsyncIterator[Studio]:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="yoga_lisboa")
    store, lookup = InMemoryTenantStore(), Lookup()
    settings = make_settings(internal_token=TOKEN)
    async with running_app(
        flow=FLOW,
        settings=settings,
        clock=clock,
        scheduler=scheduler,
        stores=store,
        connectors={"mock": lookup},
    ) as app:
        await app.say(BIA, "olá")  # a conversation under way: its state must not move
        yield Studio(app, scheduler, store, lookup)


async def test_a_strict_run_without_the_values_is_refused_and_leaves_no_trace(
    studio: Studio,
) -> None:
    before = (await studio.texts(), await studio.version(), await studio.jobs())

    answer = await studio.chat.http.post(
        "/run-task",
        json={"task": "reminder", "contact_id": BIA, "strict": True},
        headers=AUTH,
    )

    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["status"] == "refused"
    assert "nothing was sent" in body["detail"]
    assert (body["task"], body["contact_id"], body["sent"], body["failed"]) == (
        "reminder",
        BIA,
        0,
        0,
    )
    assert body["warnings"] == [
        {
            "code": "template_missing_value",
            "message": "missing value 'class_name'",
            "where": "tasks.reminder[1].text",
        }
    ]
    # No message, no state moved, no follow-up scheduled.
    assert (await studio.texts(), await studio.version(), await studio.jobs()) == before


async def test_a_strict_run_with_the_values_sends(studio: Studio) -> None:
    answer = await studio.chat.http.post(
        "/run-task",
        json={"task": "reminder", "contact_id": BIA, "data": FULL, "strict": True},
        headers=AUTH,
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["sent"], body["warnings"]) == ("done", 1, [])
    assert "detail" not in body
    assert (await studio.texts())[-1] == "Lembrete: a sua aula de Vinyasa começa hoje às 18:00."
    assert [j["key"] for j in await studio.jobs()] == ["f"]  # its follow-up is scheduled


async def test_without_strict_the_run_sends_as_before_with_its_warnings(studio: Studio) -> None:
    answer = await studio.chat.http.post(
        "/run-task", json={"task": "reminder", "contact_id": BIA}, headers=AUTH
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["sent"]) == ("done", 1)
    assert {w["code"] for w in body["warnings"]} == {"template_missing_value"}
    assert (await studio.texts())[-1] == "Lembrete: a sua aula de  começa hoje às ."


async def test_a_refusal_after_a_connector_call_has_scheduled_nothing(studio: Studio) -> None:
    """The turn's first step asked for a follow-up and a connector call; the text after the
    connector's answer lacks its value: the follow-up held until then is dropped."""
    before = (await studio.texts(), await studio.version())

    answer = await studio.chat.http.post(
        "/run-task", json={"task": "checkin", "contact_id": BIA, "strict": True}, headers=AUTH
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["warnings"][-1]["message"] == "missing value 'time'"
    assert studio.lookup.calls == 1
    assert await studio.jobs() == []
    assert (await studio.texts(), await studio.version()) == before

    sent = await studio.chat.http.post(
        "/run-task",
        json={"task": "checkin", "contact_id": BIA, "data": FULL, "strict": True},
        headers=AUTH,
    )
    assert sent.status_code == 200, sent.text
    assert [j["key"] for j in await studio.jobs()] == ["c"]  # held, then carried out
    assert (await studio.texts())[-1] == "Até às 18:00"


async def test_a_pending_job_refused_in_strict_mode_stays_pending(studio: Studio) -> None:
    await studio.scheduler.schedule(ScheduleTask("reminder", DUE, KEY, BIA, {"time": "18:00"}))
    before = (await studio.texts(), await studio.version(), await studio.jobs())

    answer = await studio.chat.http.post(f"/tasks/{JOB}/run?strict=true", headers=AUTH)

    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["status"], body["job_id"], body["kind"]) == ("refused", JOB, "one_off")
    assert "nothing was sent" in body["detail"]
    assert [w["message"] for w in body["warnings"]] == ["missing value 'class_name'"]
    assert (await studio.texts(), await studio.version(), await studio.jobs()) == before
    assert not await studio.chat.runtime.turns.task_ran(body["run_id"])

    # Still pending: it fires when due, as it would have (without strict templates).
    [run] = await studio.scheduler.advance(hours=3)
    assert run.run_id == f"{JOB}@20240506T160000Z"
    assert (await studio.texts())[-1] == "Lembrete: a sua aula de  começa hoje às 18:00."


async def test_a_pending_job_with_its_values_runs_strictly_and_is_consumed(
    studio: Studio,
) -> None:
    await studio.scheduler.schedule(ScheduleTask("reminder", DUE, KEY, BIA, dict(FULL)))

    answer = await studio.chat.http.post(
        f"/tasks/{JOB}/run", params={"strict": "true"}, headers=AUTH
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["sent"], body["warnings"]) == ("done", 1, [])
    # The run id it would have fired with: recorded, so the job never runs twice.
    assert body["run_id"] == f"{JOB}@20240506T160000Z"
    assert await studio.chat.runtime.turns.task_ran(body["run_id"])
    assert JOB not in [j["job_id"] for j in await studio.jobs()]
    count = len(await studio.texts())
    assert [r.task for r in await studio.scheduler.advance(hours=3)] == []
    assert len(await studio.texts()) == count


async def test_strict_must_be_a_boolean(studio: Studio) -> None:
    bad = await studio.chat.http.post(
        "/run-task", json={"task": "reminder", "contact_id": BIA, "strict": "maybe"}, headers=AUTH
    )
    assert bad.status_code == 422
    assert "strict" in bad.text and "nothing was sent" not in bad.text
    await studio.scheduler.schedule(ScheduleTask("reminder", DUE, KEY, BIA, dict(FULL)))
    bad_query = await studio.chat.http.post(f"/tasks/{JOB}/run?strict=maybe", headers=AUTH)
    assert bad_query.status_code == 422
    assert JOB in [j["job_id"] for j in await studio.jobs()]
