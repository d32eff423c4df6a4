"""`POST /tasks/{job_id}/run` and `DELETE /tasks/{job_id}`: a pending reminder run now with its
own stored data (it does not fire again), a standing job run once and kept, cancelling a
reminder (it is no longer listed and never fires), unknown ids 404, standing jobs not
cancellable (409), the token always required; and the `warnings` of every run's answer (a
reminder run with data its templates do not find says so).

The yoga studio's walk-through: `POST /run-task` for a pending reminder used only the data
given (none), so the customer got "Lembrete:  começa..." with the cancel button dropped, and
the answer said `"status": "done", "sent": 1`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botfleet.flows.effects import ScheduleTask
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

TOKEN = "yoga-internal-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)
DUE = NOW + timedelta(hours=2)
MARTA = "web-marta"
KEY = f"reminder:{MARTA}"
JOB = f"once:{KEY}"
DATA = {"appointment": "Vinyasa 18:00", "booking_id": "bk-41"}
FLOW: dict[str, Any] = {
    "id": "yoga_lisboa",
    "initial_state": "IDLE",
    "tasks": {
        "reminder": [
            {
                "action": "send_interactive_buttons",
                "body": "⏰ Lembrete: {{ data.appointment }} começa daqui a 2 horas.",
                "buttons": [
                    {"id": "{{ data.booking_id }}", "title": "Cancelar"},
                    {"id": "ok", "title": "Lá estarei"},
                ],
            }
        ],
        "digest": [{"action": "send_text", "text": "Aulas de hoje"}],
    },
    "standing_schedules": {"morning": {"task": "digest", "cron": "0 8 * * *", "contact_id": "ops"}},
    "states": {"IDLE": {"fallback": "IDLE"}},
}


@pytest.fixture
async def studio() -> AsyncIterator[tuple[ChatClient, ManualScheduler]]:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="yoga_lisboa")
    settings = make_settings(internal_token=TOKEN)
    async with running_app(flow=FLOW, settings=settings, clock=clock, scheduler=scheduler) as app:
        await scheduler.schedule(ScheduleTask("reminder", DUE, KEY, MARTA, dict(DATA)))
        yield app, scheduler


async def job_ids(chat: ChatClient) -> list[str]:
    listed = await chat.http.get("/tasks", headers=AUTH)
    assert listed.status_code == 200, listed.text
    return [t["job_id"] for t in listed.json()["tasks"]]


async def texts(chat: ChatClient, contact_id: str = MARTA) -> list[str]:
    return [m["output"]["text"] for m in await chat.messages(contact_id)]


async def test_a_pending_reminder_runs_now_with_its_own_data_and_never_fires_again(
    studio: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, scheduler = studio

    answer = await chat.http.post(f"/tasks/{JOB}/run", headers=AUTH)

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body == {
        "status": "done",
        "job_id": JOB,
        "kind": "one_off",
        "task": "reminder",
        "contact_id": MARTA,
        "contact_hash": body["contact_hash"],
        # The run id the scheduler fires it with: its key and due time.
        "run_id": f"{JOB}@20240506T160000Z",
        "sent": 1,
        "failed": 0,
        "warnings": [],
    }
    [sent] = await chat.messages(MARTA)
    assert sent["output"]["text"] == "⏰ Lembrete: Vinyasa 18:00 começa daqui a 2 horas."
    assert [b["id"] for b in sent["output"]["buttons"]] == ["bk-41", "ok"]
    assert JOB not in await job_ids(chat)

    assert await scheduler.advance(hours=3) == []  # past its due time: nothing fires
    assert len(await chat.messages(MARTA)) == 1
    again = await chat.http.post(f"/tasks/{JOB}/run", headers=AUTH)
    assert again.status_code == 404


async def test_a_standing_job_runs_once_now_and_keeps_its_schedule(
    studio: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, scheduler = studio
    [before] = [j for j in await scheduler.jobs() if j.job_id == "standing:morning"]

    answer = await chat.http.post("/tasks/standing:morning/run", headers=AUTH)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["kind"], body["contact_id"]) == ("done", "standing", "ops")
    assert body["run_id"] == "standing:morning@20240506T140000Z"
    assert await texts(chat, "ops") == ["Aulas de hoje"]
    [after] = [j for j in await scheduler.jobs() if j.job_id == "standing:morning"]
    assert after.next_run_at == before.next_run_at


async def test_an_unknown_job_is_404_saying_so(studio: tuple[ChatClient, ManualScheduler]) -> None:
    chat, _ = studio
    for method in ("POST", "DELETE"):
        path = "/tasks/once:reminder:nobody" + ("/run" if method == "POST" else "")
        answer = await chat.http.request(method, path, headers=AUTH)
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"].startswith(
            "no pending job 'once:reminder:nobody': it ran, was cancelled, or never existed"
        )
    assert await chat.messages("nobody") == []


async def test_cancelling_a_reminder_removes_it_and_it_never_fires(
    studio: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, scheduler = studio

    answer = await chat.http.delete(f"/tasks/{JOB}", headers=AUTH)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == {
        "job_id": JOB,
        "kind": "one_off",
        "task": "reminder",
        "contact_id": MARTA,
        "contact_hash": body["contact_hash"],
        "key": KEY,
        "next_run_at": "2024-05-06T16:00:00Z",
    }
    assert JOB not in await job_ids(chat)
    assert await scheduler.advance(hours=3) == []
    assert await chat.messages(MARTA) == []
    assert (await chat.http.delete(f"/tasks/{JOB}", headers=AUTH)).status_code == 404


async def test_a_standing_schedule_cannot_be_cancelled_here(
    studio: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = studio
    answer = await chat.http.delete("/tasks/standing:morning", headers=AUTH)
    assert answer.status_code == 409
    assert "standing_schedules" in answer.json()["detail"]
    assert "standing:morning" in await job_ids(chat)


async def test_a_job_id_with_a_slash_is_one_id(studio: tuple[ChatClient, ManualScheduler]) -> None:
    chat, scheduler = studio
    key = "reminder:2024/05/06"
    await scheduler.schedule(ScheduleTask("reminder", DUE, key, MARTA, dict(DATA)))
    answer = await chat.http.delete("/tasks/once:reminder:2024%2F05%2F06", headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json()["key"] == key


async def test_running_or_cancelling_a_job_needs_the_token(
    studio: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = studio
    assert (await chat.http.post(f"/tasks/{JOB}/run")).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await chat.http.delete(f"/tasks/{JOB}", headers=wrong)).status_code == 403
    assert JOB in await job_ids(chat)
    assert await chat.messages(MARTA) == []


async def test_a_run_without_the_data_its_templates_use_answers_warnings(
    studio: tuple[ChatClient, ManualScheduler],
) -> None:
    chat, _ = studio
    run = {"task": "reminder", "contact_id": MARTA, "data": {"note": "+351 912 345 678"}}

    answer = await chat.http.post("/run-task", json=run, headers=AUTH)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["status"], body["sent"]) == ("done", 1)
    assert body["warnings"] == [
        {
            "code": "template_missing_value",
            "message": "missing value 'appointment'",
            "where": "tasks.reminder[0].body",
        },
        {
            "code": "template_missing_value",
            "message": "missing value 'booking_id'",
            "where": "tasks.reminder[0].buttons[0].id",
        },
        {
            "code": "bad_option_id",
            "message": "an option id or quick-reply payload rendered empty, or the same as an "
            "earlier one's: that option (or button) was left out",
            "where": "tasks.reminder[0].buttons[0].id",
        },
    ]


async def test_a_strict_templates_task_that_missed_a_value_says_so() -> None:
    strict = {**FLOW, "settings": {"strict_templates": True}}
    settings = make_settings(internal_token=TOKEN)
    async with running_app(flow=strict, settings=settings) as chat:
        run = {"task": "reminder", "contact_id": MARTA, "data": {"booking_id": "bk-41"}}

        answer = await chat.http.post("/run-task", json=run, headers=AUTH)

        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["status"], body["sent"]) == ("done", 0)  # nothing sent, nobody apologised to
        assert body["warnings"] == [
            {
                "code": "template_error",
                "message": "strict_templates: missing value 'appointment', so that step sent "
                "nothing",
                "where": "tasks.reminder[0].body",
            }
        ]


async def test_a_value_looked_up_by_the_contacts_data_is_not_named_in_warnings() -> None:
    """An editor's flow that looks values up by the contact's stored name and phone: the
    warnings say a value is missing, never which (it is the contact's data, not the flow's)."""
    leak = {
        "id": "leak",
        "initial_state": "IDLE",
        "states": {
            "IDLE": {
                "transitions": [
                    {
                        "condition": "true",
                        "set_data": {"name": "{{ message.text }}", "phone": "+34 600 111 222"},
                        "target": "IDLE",
                    }
                ]
            }
        },
        "tasks": {
            "peek": [
                {
                    "action": "send_text",
                    "text": "{{ data[data.name] }} {{ data[data.phone] }} {{ data[contact.id] }}"
                    " {{ data.when }}",
                }
            ]
        },
    }
    contact = "34600111222"
    async with running_app(flow=leak, settings=make_settings(internal_token=TOKEN)) as chat:
        await chat.say(contact, "Maria")
        run = {"task": "peek", "contact_id": contact, "data": {}}

        answer = await chat.http.post("/run-task", json=run, headers=AUTH)

    assert answer.status_code == 200, answer.text
    messages = [w["message"] for w in answer.json()["warnings"]]
    assert messages == [
        "a template asks for a value this run's data does not have; the data plane's log names it",
        "missing value 'when'",
    ]
    assert not any(v in m for m in messages for v in ("Maria", "600", "34600111222"))
