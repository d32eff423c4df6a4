"""The reminder crash and replay tests' harness, shared by `tests/integration/scheduling` and
`tests/faults` (whose conftest puts this folder on the import path).

A booking turn schedules a reminder and dies before its commit; at the next start the message
runs again and schedules the same reminder again. The harness builds the booking flow, kills
the turn (stopped at a gated commit, or a real process killed in a connector call), starts the
data plane again, and reads what the contact got. The tests keep their own steps and checks.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from textwrap import dedent
from typing import Any

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.outputs import Text
from botfleet.ports.clock import SystemClock
from botfleet.ports.stores import JournalEntry
from botfleet.testing.runtime import (
    RecordingSender,
    bootstrap_test_runtime,
    make_settings,
    make_tenant_config,
    text_message,
)
from botfleet.testing.stores import GatedStore

CONTACT = "ana"
#: The reminder's idempotency key, as `schedule_reminder` renders it for `CONTACT`.
KEY = f"reminder:{CONTACT}"


# ---------------------------------------------------------------- the flow


def schedule_reminder(**when: str) -> dict[str, Any]:
    """`schedule_task` of the task `reminder`, keyed by the contact; `when`: `delay` or `run_at`."""
    return {
        "action": "schedule_task",
        "task": "reminder",
        **when,
        "idempotency_key": "reminder:{{ contact.id }}",
    }


def call_mock(operation: str, result_key: str, **params: Any) -> dict[str, Any]:
    """`invoke_connector` of the connector `mock`."""
    return {
        "action": "invoke_connector",
        "connector": "mock",
        "operation": operation,
        "params": params,
        "result_key": result_key,
    }


def booking_flow(flow_id: str, reminder: str, *steps: dict[str, Any]) -> dict[str, Any]:
    """Any text books: `steps`, then the reply "Booked". The task `reminder` sends `reminder`."""
    return {
        "id": flow_id,
        "initial_state": "IDLE",
        "tasks": {"reminder": [{"action": "send_text", "text": reminder}]},
        "states": {
            "IDLE": {"transitions": [{"on_type": "text", "target": "BOOKED"}], "fallback": "IDLE"},
            "BOOKED": {
                "on_enter": [*steps, {"action": "send_text", "text": "Booked"}],
                "next": "IDLE",
            },
        },
    }


# ---------------------------------------------------------------- what the contact got


def texts(sender: RecordingSender) -> list[str]:
    return [o.text for o in sender.to(CONTACT) if isinstance(o, Text)]


async def until(
    condition: Callable[[], bool], timeout_s: float = 10.0, poll_s: float = 0.02
) -> None:
    for _ in range(int(timeout_s / poll_s)):
        if condition():
            return
        await asyncio.sleep(poll_s)
    raise AssertionError("condition not met in time")


# ---------------------------------------------------------------- a turn stopped at its commit


async def stopped_at_the_commit(store: GatedStore, text: str, **fakes: Any) -> JournalEntry:
    """The process dies with the turn of `text` (message `m-1`) stopped at its commit, held at
    `store`'s closed gate, and a shutdown that cannot wait; `fakes` as `bootstrap_test_runtime`
    takes them (the flow too). Its journal entry, still pending, is returned; the gate is open
    again for the next start."""
    async with bootstrap_test_runtime(stores=store, **fakes) as runtime:
        assert await runtime.accept(text_message(CONTACT, text, message_id="m-1"))
        await asyncio.wait_for(store.waiting.wait(), timeout=5)
        runtime.sequencer.cancel()
    entry = await store.journal.get("m-1")
    assert entry is not None and entry.status == "pending"
    store.gate.set()
    return entry


# ---------------------------------------------------------------- a real process killed

# The first process: journals the message (a webhook's 200), runs its turn, and dies in the
# connector call after `schedule_task`, before the commit. Arguments: the state database, the
# flow (JSON), the message's text.
_DIES_IN_THE_CONNECTOR = dedent(
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
        db, flow, text = Path(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
        async with bootstrap_test_runtime(
            make_tenant_config(flow),
            settings=make_settings(db),
            clock=SystemClock(),
            connectors={"mock": DiesHere()},
        ) as runtime:
            await runtime.accept(text_message("ana", text, message_id="m-1"))
            await asyncio.sleep(30)
        os._exit(3)  # never killed

    asyncio.run(main())
    """
)


async def killed_in_the_connector(db: Path, flow: Mapping[str, Any], text: str) -> None:
    """A real data plane on `db` (the real APScheduler on its job file, SQLite) receives `text`
    (message `m-1`) and is SIGKILLed in the turn's `mock.confirm` call, before the commit."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _DIES_IN_THE_CONNECTOR,
        str(db),
        json.dumps(flow),
        text,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(child.communicate(), timeout=60)
    assert child.returncode == -signal.SIGKILL, stderr.decode()


class Confirms:
    category = "mock"

    def operations(self) -> frozenset[str]:
        return frozenset({"confirm"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        return {"ok": True}


@asynccontextmanager
async def restarted(
    db: Path, flow: Mapping[str, Any], sender: RecordingSender
) -> AsyncIterator[tuple[ConversationRuntime, APSchedulerTaskScheduler]]:
    """The data plane started again on `db` and its job file (the real APScheduler, the system
    clock), `mock.confirm` answering; the runtime and its scheduler."""
    async with bootstrap_test_runtime(
        make_tenant_config(flow),
        settings=make_settings(db),
        clock=SystemClock(),
        connectors={"mock": Confirms()},
        sender=sender,
    ) as runtime:
        scheduler = runtime.scheduler
        assert isinstance(scheduler, APSchedulerTaskScheduler)
        yield runtime, scheduler
