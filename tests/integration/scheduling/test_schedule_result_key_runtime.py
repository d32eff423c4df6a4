"""A served bot's `schedule_task` `result_key`: the verdict the flow branches on is the one the
scheduler then acts on, with the data plane's own grace window and scheduler."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import bootstrap_test_runtime, make_settings, text_message
from botfleet.testing.scheduling import ManualScheduler

NOW = datetime(2024, 5, 6, 17, 0, tzinfo=UTC)
HALF_AN_HOUR_AGO = "2024-05-06T16:30:00+00:00"
TOMORROW = "2024-05-07T16:00:00+00:00"


def flow(run_at: str) -> dict[str, Any]:
    return {
        "id": "verdicts",
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
                        "idempotency_key": "reminder:b1",
                        "result_key": "reminder",
                    },
                    {
                        "action": "send_text",
                        "text": "{{ 'reminded' if data.reminder.scheduled "
                        "else 'no reminder: ' ~ data.reminder.reason }}",
                    },
                ],
                "fallback": "BOOKED",
            },
        },
    }


async def book(run_at: str, *, grace_s: int = 300, scheduler: bool = True) -> tuple[list[str], int]:
    """The bot's texts for a booking, and the jobs left pending."""
    clock = FrozenClock(NOW)
    grace = timedelta(seconds=grace_s)
    manual = ManualScheduler(clock, tenant_id="test", grace=grace)
    settings = make_settings(scheduler_grace_s=grace_s)
    async with bootstrap_test_runtime(
        flow=flow(run_at), settings=settings, clock=clock, scheduler=manual
    ) as runtime:
        if not scheduler:
            runtime.scheduler = None
        result = await runtime.handle(text_message("c1", "book me"))
        pending = len(await manual.jobs())
    return [getattr(o, "text", "") for o in result.outputs], pending


async def test_the_verdict_matches_what_the_scheduler_does() -> None:
    assert await book(TOMORROW) == (["reminded"], 1)
    assert await book(HALF_AN_HOUR_AGO) == (["no reminder: past"], 0)


async def test_the_data_planes_grace_window_reaches_the_flow() -> None:
    # DP_SCHEDULER_GRACE_S of an hour: half an hour late still runs (at once), and says so.
    assert await book(HALF_AN_HOUR_AGO, grace_s=3600) == (["reminded"], 1)


async def test_a_data_plane_without_a_scheduler_says_disabled() -> None:
    assert await book(TOMORROW, scheduler=False) == (["no reminder: disabled"], 0)
