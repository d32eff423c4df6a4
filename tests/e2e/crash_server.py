"""A real data plane process for the crash tests (run as a script, not collected by pytest).

    python tests/e2e/crash_server.py --tenant demo.yaml --db state.db --port 8123 \
        --bookings bookings.jsonl [--slow book_appointment:before:30]

The demo tenant with a frozen clock (Monday 6 May 2024, 09:00, Madrid) and its in-memory
calendar made durable: every successful booking or cancellation is appended to `--bookings`
(flushed and fsynced before the reply) and replayed at start, idempotency keys included, so a
restarted process has the calendar the killed one left. `--slow op:before|after:seconds` makes
one operation sleep before or after the calendar does its work: the test kills the process
during that sleep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn

from botfleet.adapters.registry import build_connectors
from botfleet.data_plane.app import create_app
from botfleet.data_plane.bootstrap import Overrides
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.ports.connectors import Connector
from botfleet.testing.runtime import FrozenClock, make_settings

MUTATIONS = frozenset({"book_appointment", "cancel_event", "cancel_appointment"})


class DurableCalendar:
    """The in-memory calendar plus a log of its successful mutations, replayed at start."""

    category = "calendar"

    def __init__(self, inner: Connector, log: Path, slow: tuple[str, str, float] | None) -> None:
        self.inner, self.log, self.slow = inner, log, slow
        self.logged: set[str] = set()

    def operations(self) -> frozenset[str]:
        return self.inner.operations()

    async def replay(self) -> None:
        if not self.log.exists():
            return
        for line in self.log.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            await self.inner.call(record["op"], record["params"], idempotency_key=record["key"])
            self.logged.add(record["key"])

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        await self._maybe_sleep(operation, "before")
        result = await self.inner.call(operation, params, idempotency_key=idempotency_key)
        if operation in MUTATIONS and result.get("success") and idempotency_key not in self.logged:
            record = {"op": operation, "params": dict(params), "key": idempotency_key}
            with self.log.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self.logged.add(idempotency_key)
        await self._maybe_sleep(operation, "after")
        return result

    async def _maybe_sleep(self, operation: str, when: str) -> None:
        if self.slow is not None and self.slow[:2] == (operation, when):
            print(f"sleeping {when} {operation}", flush=True)  # the test waits for this line
            await asyncio.sleep(self.slow[2])


def parse_slow(text: str | None) -> tuple[str, str, float] | None:
    if not text:
        return None
    operation, when, seconds = text.split(":")
    return operation, when, float(seconds)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenant", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bookings", type=Path, required=True)
    parser.add_argument("--slow", default=None)
    args = parser.parse_args()

    config = load_tenant_config(args.tenant)
    config = config.model_copy(update={"llm": config.llm.model_copy(update={"enabled": False})})
    clock = FrozenClock()
    calendar = DurableCalendar(
        build_connectors(config, clock=clock)["calendar"], args.bookings, parse_slow(args.slow)
    )
    await calendar.replay()
    app = create_app(
        make_settings(args.db, connector_timeout_s=120.0),
        config=config,
        overrides=Overrides(clock=clock, connectors={"calendar": calendar}),
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning")
    )
    await server.serve()


if __name__ == "__main__":
    asyncio.run(main())
