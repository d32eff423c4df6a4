"""A reminder and an inbound message for the same contact never interleave (real APScheduler).

Each case blocks one side inside a connector call and lets the other side fall due meanwhile:
the second waits for the first to finish, and sees the state the first saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.domain.outputs import Text
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.clock import SystemClock
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message

CONTACT = "+34600111222"

FLOW: dict[str, Any] = {
    "id": "ordering",
    "initial_state": "IDLE",
    "tasks": {
        "reminder": [
            {
                "action": "invoke_connector",
                "connector": "mock",
                "operation": "wait",
                "params": {"label": "reminder"},
                "result_key": "reminder_call",
            },
            {"action": "send_text", "text": "reminder sees step={{ data.step | default('none') }}"},
        ]
    },
    "states": {
        "IDLE": {
            "transitions": [{"on_type": "text", "target": "WORK"}],
            "fallback": "IDLE",
        },
        "WORK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "wait",
                    "params": {"label": "turn"},
                    "result_key": "turn_call",
                },
                {"action": "set_data", "values": {"step": "after-turn"}},
                {"action": "send_text", "text": "turn done"},
            ],
            "next": "IDLE",
        },
    },
}


class GatedConnector:
    """`mock.wait` blocks until the test opens the gate named by its `label` param."""

    category = "mock"

    def __init__(self) -> None:
        self.gates = {"turn": asyncio.Event(), "reminder": asyncio.Event()}
        self.started: list[str] = []

    def operations(self) -> frozenset[str]:
        return frozenset({"wait"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        label = str(params["label"])
        self.started.append(label)
        await self.gates[label].wait()
        return {"ok": label}


def texts(sender: RecordingSender) -> list[str]:
    return [o.text for o in sender.to(CONTACT) if isinstance(o, Text)]


async def wait_until(condition: Any, timeout_s: float = 3.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def real_scheduler() -> APSchedulerTaskScheduler:
    return APSchedulerTaskScheduler(tenant_id="ordering", jobs_db=None)


async def test_a_reminder_due_during_a_turn_waits_for_the_turn() -> None:
    crm, sender, scheduler = GatedConnector(), RecordingSender(), real_scheduler()
    async with bootstrap_test_runtime(
        flow=FLOW, connectors={"mock": crm}, sender=sender, scheduler=scheduler
    ) as runtime:
        due = datetime.now(UTC) + timedelta(seconds=0.2)
        await scheduler.schedule(ScheduleTask("reminder", due, "reminder:1", CONTACT))
        assert await runtime.accept(text_message(CONTACT, "go"))
        await wait_until(lambda: crm.started == ["turn"])
        await asyncio.sleep(0.4)  # the reminder is due now, and queued behind the turn
        assert await scheduler.jobs() == []
        assert crm.started == ["turn"]
        crm.gates["reminder"].set()
        crm.gates["turn"].set()
        await wait_until(lambda: len(texts(sender)) == 2)
    assert crm.started == ["turn", "reminder"]
    assert texts(sender) == ["turn done", "reminder sees step=after-turn"]


async def test_a_message_arriving_during_a_reminder_waits_for_the_reminder() -> None:
    crm, sender, scheduler = GatedConnector(), RecordingSender(), real_scheduler()
    async with bootstrap_test_runtime(
        flow=FLOW, connectors={"mock": crm}, sender=sender, scheduler=scheduler
    ) as runtime:
        due = datetime.now(UTC) + timedelta(seconds=0.1)
        await scheduler.schedule(ScheduleTask("reminder", due, "reminder:1", CONTACT))
        await wait_until(lambda: crm.started == ["reminder"])
        assert await runtime.accept(text_message(CONTACT, "go"))
        await asyncio.sleep(0.2)
        assert crm.started == ["reminder"]  # the turn has not started
        crm.gates["turn"].set()
        crm.gates["reminder"].set()
        await wait_until(lambda: len(texts(sender)) == 2)
    assert crm.started == ["reminder", "turn"]
    assert texts(sender) == ["reminder sees step=none", "turn done"]
    state = await runtime.states.load(CONTACT)
    assert state is not None
    assert state.data["step"] == "after-turn"


async def test_shutting_down_finishes_a_reminder_already_running() -> None:
    crm, sender, scheduler = GatedConnector(), RecordingSender(), real_scheduler()

    async def open_gate_later() -> None:
        await asyncio.sleep(0.2)
        crm.gates["reminder"].set()

    async with bootstrap_test_runtime(
        flow=FLOW, connectors={"mock": crm}, sender=sender, scheduler=scheduler
    ):
        due = datetime.now(UTC) + timedelta(seconds=0.05)
        await scheduler.schedule(ScheduleTask("reminder", due, "reminder:1", CONTACT))
        await wait_until(lambda: crm.started == ["reminder"])
        opener = asyncio.create_task(open_gate_later())
    await opener
    assert texts(sender) == ["reminder sees step=none"]
    assert scheduler.stats.counts["fired"] == 1


CANCELLING_FLOW: dict[str, Any] = {
    "id": "cancelling",
    "initial_state": "IDLE",
    "settings": {"debounce_ms": 600},
    "tasks": {"reminder": [{"action": "send_text", "text": "Reminder: see you tomorrow"}]},
    "states": {
        "IDLE": {"transitions": [{"on_type": "text", "target": "CANCEL"}], "fallback": "IDLE"},
        "CANCEL": {
            "on_enter": [
                {"action": "cancel_task", "idempotency_key": "reminder:evt1"},
                {"action": "send_text", "text": "Your appointment is cancelled"},
            ],
            "next": "IDLE",
        },
    },
}


async def test_a_reminder_due_while_its_cancelling_turn_waits_is_not_sent() -> None:
    # "Cancel my appointment" arrives just before the reminder falls due; the debounce window
    # holds the turn, so the due reminder queues behind it and must then find it cancelled.
    sender = RecordingSender()
    scheduler = APSchedulerTaskScheduler(tenant_id="cancelling", jobs_db=None)
    async with bootstrap_test_runtime(
        flow=CANCELLING_FLOW, sender=sender, scheduler=scheduler, clock=SystemClock()
    ) as rt:
        due = datetime.now(UTC) + timedelta(seconds=0.2)
        await scheduler.schedule(ScheduleTask("reminder", due, "reminder:evt1", CONTACT))
        await rt.accept(text_message(CONTACT, "cancel my appointment"))
        await asyncio.sleep(1.2)
        assert await scheduler.jobs() == []
    sent = [o.text for o in sender.to(CONTACT) if isinstance(o, Text)]
    assert sent == ["Your appointment is cancelled"]
