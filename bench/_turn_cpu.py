"""One run of `bench.turn_ab`: CPU per turn of the demo conversation through the runtime.

    python -m bench._turn_cpu [--contacts 32] [--rounds 8]

Prints the CPU microseconds per turn (this process's, the checkpoint thread's included) on
its last line. Run by `turn_ab` with PYTHONPATH choosing which commit's `botfleet` it loads.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from dataclasses import replace
from datetime import UTC
from pathlib import Path

from botfleet.cli.flow_files import read_tenant
from botfleet.domain.messages import InboundMessage
from botfleet.observability import configure_logging
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    FrozenClock,
    bootstrap_test_runtime,
    choice_message,
    make_settings,
    text_message,
)

UTC_MORNING = MONDAY_MORNING.astimezone(UTC)
DEMO_TENANT = Path(__file__).resolve().parent.parent / "examples" / "tenants" / "demo.yaml"
#: A contact's conversation: book, view, cancel (so the next round books the same times again).
SCRIPT = (
    ("text", "hi"),
    ("press", "menu_book"),
    ("press", "service_haircut"),
    ("text", "1"),
    ("text", "1"),
    ("press", "confirm_yes"),
    ("press", "menu_view"),
    ("press", "menu_cancel"),
    ("text", "1"),
    ("press", "cancel_yes"),
)


def _message(kind: str, value: str, contact: str, message_id: str) -> InboundMessage:
    if kind == "text":
        message = text_message(contact, value, message_id=message_id)
    else:
        message = choice_message(contact, value, message_id=message_id)
    return replace(message, timestamp=UTC_MORNING)  # as channels stamp them: in UTC


async def measure(contacts: int, rounds: int) -> float:
    """CPU microseconds per turn, `contacts` conversations at once (group commits included)."""
    config, _ = read_tenant(DEMO_TENANT)
    with tempfile.TemporaryDirectory() as folder:
        settings = make_settings(state_db=Path(folder) / "state.db", log_level="warning")
        # In UTC, as the data plane's clock is (a Madrid clock takes the store's slower paths).
        clock = FrozenClock(UTC_MORNING)
        async with bootstrap_test_runtime(config, settings=settings, clock=clock) as rt:

            async def talk(contact: int, run: str) -> None:
                for step, (kind, value) in enumerate(SCRIPT):
                    message = _message(kind, value, f"c{contact}", f"{run}-{contact}-{step}")
                    await rt.handle(message)

            await asyncio.gather(*(talk(c, "warm") for c in range(contacts)))
            gc.collect()
            gc.freeze()  # as the data plane does once booted
            started = time.process_time()
            for run in range(rounds):
                await asyncio.gather(*(talk(c, str(run)) for c in range(contacts)))
            spent = time.process_time() - started
    return spent / (rounds * contacts * len(SCRIPT)) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)
    configure_logging("warning")
    print(f"{asyncio.run(measure(args.contacts, args.rounds)):.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
