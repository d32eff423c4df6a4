"""`POST /tasks/{job_id}/run` of a standing job runs it one at a time: a second request while a
run of it waits for the contact's turn is 409 naming the job, the schedule firing it meanwhile
skips that run, and a run the schedule fired refuses a request the same way. The studio's
"Aulas de hoje" goes to `ops` once, never twice: a standing run is a new run id each time, so
the runtime alone would have sent it again.

The runner is held at its start (`Gate`) as a run waits behind the contact's turns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.testing.clock import FrozenClock
from botfleet.testing.gated_runner import GatedRunner as Gate
from botfleet.testing.runtime import ChatClient, make_settings, running_app
from botfleet.testing.scheduling import ManualScheduler

TOKEN = "yoga-busy-internal-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)
JOB = "standing:morning"
DIGEST = "Aulas de hoje"
FLOW: dict[str, Any] = {
    "id": "yoga_lisboa",
    "initial_state": "IDLE",
    "tasks": {"digest": [{"action": "send_text", "text": DIGEST}]},
    "standing_schedules": {"morning": {"task": "digest", "cron": "0 8 * * *", "contact_id": "ops"}},
    "states": {"IDLE": {"fallback": "IDLE"}},
}


@pytest.fixture
async def studio() -> AsyncIterator[tuple[ChatClient, ManualScheduler, Gate]]:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="yoga_lisboa")
    settings = make_settings(internal_token=TOKEN)
    async with running_app(flow=FLOW, settings=settings, clock=clock, scheduler=scheduler) as app:
        gate = Gate(app)
        scheduler.bind(gate.run)
        yield app, scheduler, gate
        gate.open.set()  # nothing left waiting at the stop


async def due(scheduler: ManualScheduler) -> datetime:
    """The morning digest's next run (08:00 in the tenant's zone)."""
    job = await scheduler.job(JOB)
    assert job is not None and job.next_run_at is not None
    return job.next_run_at


async def texts(chat: ChatClient) -> list[str]:
    return [m["output"]["text"] for m in await chat.messages("ops")]


async def test_a_second_run_now_while_one_waits_is_409_and_the_schedule_skips_its_firing(
    studio: tuple[ChatClient, ManualScheduler, Gate],
) -> None:
    chat, scheduler, gate = studio
    first = asyncio.create_task(chat.http.post(f"/tasks/{JOB}/run", headers=AUTH))
    await gate.entered.wait()

    again = await gate.alone(chat.http.post(f"/tasks/{JOB}/run", headers=AUTH))
    fired = await gate.alone(scheduler.advance_to(await due(scheduler)))  # the first run waits

    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert detail.startswith(f"{JOB!r} is running already")
    assert "not run again" in detail
    assert fired == []
    assert scheduler.stats.counts["skipped"] == 1
    gate.open.set()
    answer = await first
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "done"
    assert await texts(chat) == [DIGEST]

    # Once that run is over, the job runs again when asked, and when it falls due.
    assert (await chat.http.post(f"/tasks/{JOB}/run", headers=AUTH)).status_code == 200
    assert len(await scheduler.advance(hours=24)) == 1
    assert await texts(chat) == [DIGEST] * 3


async def test_a_run_now_while_the_schedules_run_waits_is_409(
    studio: tuple[ChatClient, ManualScheduler, Gate],
) -> None:
    chat, scheduler, gate = studio
    firing = asyncio.create_task(scheduler.advance_to(await due(scheduler)))
    await gate.entered.wait()

    again = await gate.alone(chat.http.post(f"/tasks/{JOB}/run", headers=AUTH))

    assert again.status_code == 409, again.text
    assert again.json()["detail"].startswith(f"{JOB!r} is running already")
    gate.open.set()
    assert len(await firing) == 1
    assert await texts(chat) == [DIGEST]
