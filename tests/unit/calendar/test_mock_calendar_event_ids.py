"""The in-memory calendar's event ids never repeat where a data plane could meet them again.

A flow keys a booking's reminder by its event id (`reminder:{{data.booking.event_id}}`, as the
docs show): two calendar bindings handing out the same id, or one calendar handing out after a
restart an id it gave before (it forgot its bookings, the scheduler kept their reminders), would
make one contact's reminder replace another's. Under a test's clock the ids stay the same on
every run (`mem1`, and `mem1-hatha` for `calendar.hatha`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import structlog

from botfleet.adapters.connectors.calendar import memory as memory_adapter
from botfleet.adapters.connectors.calendar.memory import InMemoryCalendar
from botfleet.ports.clock import Clock, SystemClock
from botfleet.testing.clock import FrozenClock

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SETTINGS = {"schedule": {day: ["00:00-24:00"] for day in WEEK}, "capacity": 5}


def calendar(clock: Clock, binding: str = "calendar") -> InMemoryCalendar:
    return memory_adapter.build(SETTINGS, timezone="Europe/Lisbon", clock=clock, binding=binding)


async def booked_id(connector: InMemoryCalendar, contact: str = "ana") -> str:
    tomorrow = connector.now().date() + timedelta(days=1)  # open all day, every day
    params: dict[str, Any] = {"slot": f"{tomorrow.isoformat()}_1000", "contact_id": contact}
    reply = await connector.call("book_appointment", params, idempotency_key=f"k-{contact}")
    assert reply["success"] is True, reply
    return str(reply["event_id"])


async def test_two_served_bindings_and_a_restart_never_hand_out_the_same_id() -> None:
    clock = SystemClock()
    hatha, vinyasa = calendar(clock, "calendar.hatha"), calendar(clock, "calendar.vinyasa")
    ids = {await booked_id(hatha), await booked_id(vinyasa)}
    restarted = calendar(clock, "calendar.hatha")  # the process again: bookings forgotten
    ids.add(await booked_id(restarted))
    default_one = calendar(clock)
    ids.add(await booked_id(default_one))
    assert len(ids) == 4, ids
    assert all(i.startswith("mem1-") and len(i) <= 16 for i in ids), ids


async def test_under_a_test_clock_the_ids_are_the_same_on_every_run() -> None:
    clock = FrozenClock()
    default_one, hatha = calendar(clock), calendar(clock, "calendar.hatha")
    assert await booked_id(default_one) == "mem1"
    assert await booked_id(default_one, "bruno") == "mem2"
    assert await booked_id(hatha) == "mem1-hatha"  # apart from the other binding's mem1
    assert await booked_id(calendar(FrozenClock(), "calendar.hatha")) == "mem1-hatha"


async def test_a_served_mock_calendar_warns_that_it_keeps_no_bookings_once() -> None:
    served = calendar(SystemClock(), "calendar.hatha")
    with structlog.testing.capture_logs() as logs:
        await booked_id(served)
        await booked_id(served, "bruno")
    warned = [e for e in logs if e["event"] == "mock_calendar_bookings_not_kept"]
    assert len(warned) == 1
    assert warned[0]["log_level"] == "warning"
    assert warned[0]["connector"] == "calendar.hatha"
    with structlog.testing.capture_logs() as logs:
        await booked_id(calendar(FrozenClock()))  # a test's, `botfleet test`'s, `chat`'s
    assert logs == []


def test_building_it_says_nothing() -> None:
    # `botfleet validate` builds the tenant's connectors on the system clock: its output (JSON
    # for editors) must carry no log line.
    with structlog.testing.capture_logs() as logs:
        calendar(SystemClock())
    assert logs == []
