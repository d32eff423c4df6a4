"""SIGKILL between a turn's `schedule_task` with a `delay` and its commit. The restarted data
plane sends the reminder the job file kept (due meanwhile, within the grace window), then replays
the message: its delay counts from the message's reception, read back from the journal
(`state.db`), so the replayed turn asks for the same due time, the same run, which is not run
again. It used to count from the replay: a new due time, and the reminder came twice.

A real process dies (the real APScheduler on its job file, SQLite), inside the connector call
that follows the schedule. `tests/integration/scheduling/test_delayed_reminder_replay.py` does
the same on a frozen clock.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.domain.outputs import Text
from botfleet.ports.clock import SystemClock
from botfleet.ports.scheduling import one_off_run_id
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    make_settings,
    make_tenant_config,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

CONTACT = "ana"
KEY = f"reminder:{CONTACT}"
REMINDER = "Reminder: in two seconds"
DELAY = timedelta(seconds=2)
FLOW: dict[str, Any] = {
    "id": "delayed_reminder_crash",
    "initial_state": "IDLE",
    "tasks": {"reminder": [{"action": "send_text", "text": REMINDER}]},
    "states": {
        "IDLE": {"transitions": [{"on_type": "text", "target": "BOOKED"}], "fallback": "IDLE"},
        "BOOKED": {
            "on_enter": [
                {
                    "action": "schedule_task",
                    "task": "reminder",
                    "delay": "2s",
                    "idempotency_key": "reminder:{{ contact.id }}",
                },
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "confirm",
                    "params": {},
                    "result_key": "confirmed",
                },
                {"action": "send_text", "text": "Booked"},
            ],
            "next": "IDLE",
        },
    },
}

# The first process: journals the message (a webhook's 200), runs its turn, and dies in the
# connector call after `schedule_task`, before the commit.
CHILD = dedent(
    """
    import asyncio, json, os, signal, sys
    from pathlib import Path
    from botfleet.ports.clock import SystemClock
    from botfleet.testing.runtime import (
        bootstrap_test_runtime, make_settings, make_tenant_config, text_message,
    )

    class DiesHere:
        category = "mock"

        def operations(self):
            return frozenset({"confirm"})

        async def call(self, operation, params, *, idempotency_key):
            os.kill(os.getpid(), signal.SIGKILL)

    async def main() -> None:
        db, flow = Path(sys.argv[1]), json.loads(sys.argv[2])
        async with bootstrap_test_runtime(
            make_tenant_config(flow),
            settings=make_settings(db),
            clock=SystemClock(),
            connectors={"mock": DiesHere()},
        ) as runtime:
            await runtime.accept(text_message("ana", "book", message_id="m-1"))
            await asyncio.sleep(30)
        os._exit(3)  # never killed

    asyncio.run(main())
    """
)


class Confirms:
    category = "mock"

    def operations(self) -> frozenset[str]:
        return frozenset({"confirm"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        return {"ok": True}


def texts(sender: RecordingSender) -> list[str]:
    return [o.text for o in sender.to(CONTACT) if isinstance(o, Text)]


async def until(condition: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_a_delayed_reminder_is_sent_once_though_its_turn_runs_again_later(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(db), json.dumps(FLOW), stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == -signal.SIGKILL, stderr.decode()

    # Down until the reminder was due (the message was received before the child died), for
    # much less than the grace window: it runs late, at the start.
    await asyncio.sleep(DELAY.total_seconds() + 0.3)
    sender = RecordingSender()
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(
            make_tenant_config(FLOW),
            settings=make_settings(db),
            clock=SystemClock(),
            connectors={"mock": Confirms()},
            sender=sender,
        ) as runtime:
            scheduler = runtime.scheduler
            assert isinstance(scheduler, APSchedulerTaskScheduler)
            await until(lambda: REMINDER in texts(sender))
            # The replayed turn, seconds after the message, schedules the reminder for the
            # moment it did before: already due, it runs at once and is skipped as run.
            assert await runtime.recover() == 1
            await until(lambda: scheduler.stats.counts["fired"] == 2)
            await runtime.sequencer.drain()
            entry = await runtime.journal.get("m-1")
            assert await scheduler.jobs() == []
            # Long enough for a reminder counted from the replay to fall due: none comes.
            await asyncio.sleep(DELAY.total_seconds() + 0.5)
            await runtime.sequencer.drain()
    assert texts(sender) == [REMINDER, "Booked"]
    assert entry is not None and entry.status == "done"
    skipped = [e for e in logs if e["event"] == "task_already_ran"]
    assert [e["job_id"] for e in skipped] == [one_off_run_id(KEY, entry.received_at + DELAY)]
