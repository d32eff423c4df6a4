"""SIGKILL between a turn's `schedule_task` and its commit: the reminder is in the job file
(`state.jobs.db`), the turn's state and its journal entry are not (`state.db`). If the reminder
falls due before the restart, and within the grace window, the restarted data plane sends it
and then replays the message, whose turn schedules the same reminder (same idempotency key,
same due time) again. That second job used to fire as well: the contact got the reminder
twice. A one-off run is now recorded with its turn's commit and never runs a second time.

The dying process is a real one (the real APScheduler on its job file, SQLite): the kill
lands inside the connector call that follows the schedule, the worst place for it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import structlog

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.domain.outputs import Text
from botfleet.ports.clock import SystemClock
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    make_settings,
    make_tenant_config,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")

CONTACT = "ana"
REMINDER = "Reminder: your appointment"
#: The message's text is the reminder's due time: the replayed turn asks for the same one.
FLOW: dict[str, Any] = {
    "id": "reminder_crash",
    "initial_state": "IDLE",
    "tasks": {"reminder": [{"action": "send_text", "text": REMINDER}]},
    "states": {
        "IDLE": {"transitions": [{"on_type": "text", "target": "BOOKED"}], "fallback": "IDLE"},
        "BOOKED": {
            "on_enter": [
                {
                    "action": "schedule_task",
                    "task": "reminder",
                    "run_at": "{{ message.text }}",
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
        db, flow, due = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
        async with bootstrap_test_runtime(
            make_tenant_config(flow),
            settings=make_settings(db),
            clock=SystemClock(),
            connectors={"mock": DiesHere()},
        ) as runtime:
            await runtime.accept(text_message("ana", due, message_id="m-1"))
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


async def test_a_reminder_due_at_the_restart_is_sent_once_though_its_turn_runs_again(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(db),
        json.dumps(FLOW),
        due.isoformat(),
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == -signal.SIGKILL, stderr.decode()

    # Down until the reminder was due, for much less than the grace window: it runs late.
    await asyncio.sleep(max((due - datetime.now(UTC)).total_seconds(), 0) + 0.3)
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
            # The job file kept the reminder: it fires as the scheduler starts.
            await until(lambda: REMINDER in texts(sender))
            # Then the message the killed process never committed runs again, and schedules
            # the same reminder (its due time inside the grace window: it runs at once).
            assert await runtime.recover() == 1
            await until(lambda: scheduler.stats.counts["fired"] == 2)
            await runtime.sequencer.drain()
            entry = await runtime.journal.get("m-1")
            assert await scheduler.jobs() == []
    assert texts(sender) == [REMINDER, "Booked"]
    assert entry is not None and entry.status == "done"
    assert [e["event"] for e in logs if e["event"] == "task_already_ran"] == ["task_already_ran"]
