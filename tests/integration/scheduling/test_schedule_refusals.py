"""A refused `schedule_task` never stops the turn; a passed `run_at` is expected, not an error.

A "day before" reminder for an appointment booked for tomorrow morning has its time in the past:
that is skipped at info level (`schedule_task_skipped`), while refusals that mean the flow is
wrong (a key that renders empty) stay errors (`schedule_task_rejected`) for the operator.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog

from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import bootstrap_test_runtime, text_message
from botfleet.testing.scheduling import ManualScheduler

NOW = datetime(2024, 5, 6, 15, 0, tzinfo=UTC)


def flow(run_at: str, key: str) -> dict[str, Any]:
    return {
        "id": "refusals",
        "initial_state": "START",
        "tasks": {"reminder": [{"action": "send_text", "text": "see you soon"}]},
        "states": {
            "START": {
                "transitions": [{"on_type": "text", "target": "BOOKED"}],
                "fallback": "START",
            },
            "BOOKED": {
                "on_enter": [
                    {
                        "action": "schedule_task",
                        "task": "reminder",
                        "run_at": run_at,
                        "idempotency_key": key,
                    },
                    {"action": "send_text", "text": "booked"},
                ],
                "fallback": "BOOKED",
            },
        },
    }


async def run_turn(run_at: str, key: str) -> tuple[list[str], list[dict[str, Any]], int]:
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(
            flow=flow(run_at, key), clock=clock, scheduler=scheduler
        ) as runtime:
            result = await runtime.handle(text_message("c1", "book me"))
            pending = len(await scheduler.jobs())
    texts = [getattr(o, "text", "") for o in result.outputs]
    return texts, logs, pending


def only_line(logs: list[dict[str, Any]], event: str) -> dict[str, Any]:
    lines = [e for e in logs if e["event"] == event]
    assert len(lines) == 1, logs
    return lines[0]


async def test_a_run_at_already_passed_is_skipped_at_info_level() -> None:
    # booked at 15:00 for 09:00 tomorrow: the reminder "a day before" was due this morning
    texts, logs, pending = await run_turn("2024-05-06T09:00:00+00:00", "reminder:evt1")
    assert texts == ["booked"]
    assert pending == 0
    skipped = only_line(logs, "schedule_task_skipped")
    assert skipped["log_level"] == "info"
    assert "reminder:evt1" in skipped["detail"]
    assert "had passed 6h ago when it was scheduled" in skipped["detail"]
    assert "misfire grace window (DP_SCHEDULER_GRACE_S, 5m): not scheduled" in skipped["detail"]
    assert not [e for e in logs if e["log_level"] == "error"], logs


async def test_a_passed_run_at_still_replaces_the_pending_job_with_its_key() -> None:
    """A moved appointment: its reminder was pending for the old date, and the new date's
    reminder time has passed. The old reminder must not fire for an appointment moved away."""
    clock = FrozenClock(NOW)
    scheduler = ManualScheduler(clock, tenant_id="test")
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(
            flow=flow("{{ message.text }}", "reminder:evt1"), clock=clock, scheduler=scheduler
        ) as runtime:
            await runtime.handle(text_message("c1", "2024-05-12T09:00:00+00:00"))
            assert [j.job_id for j in await scheduler.jobs()] == ["once:reminder:evt1"]
            moved = await runtime.handle(text_message("c1", "2024-05-06T09:00:00+00:00"))
            assert [getattr(o, "text", "") for o in moved.outputs] == ["booked"]
            assert await scheduler.jobs() == []
    skipped = only_line(logs, "schedule_task_skipped")
    assert skipped["cancelled_pending"] is True


async def test_a_key_that_renders_empty_is_an_error_and_the_turn_goes_on() -> None:
    texts, logs, pending = await run_turn("2024-05-07T09:00:00+00:00", "{{ ' ' }}")
    assert texts == ["booked"]
    assert pending == 0
    rejected = only_line(logs, "schedule_task_rejected")
    assert rejected["log_level"] == "error"
    assert "idempotency key rendered empty" in rejected["detail"]


async def test_a_future_run_at_is_scheduled_without_a_log_line() -> None:
    texts, logs, pending = await run_turn("2024-05-07T09:00:00+00:00", "reminder:evt2")
    assert texts == ["booked"]
    assert pending == 1
    assert not [e for e in logs if e["event"].startswith("schedule_task_")], logs
