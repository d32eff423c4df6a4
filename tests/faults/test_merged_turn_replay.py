"""A merged turn (`settings.debounce_ms`) that booked, then died before its commit, runs again at
the next start with a text more in its batch (one that came while it was down). Its connector
calls keep their idempotency keys, the first text's, so the calendar hands back the first
booking instead of making a second one. Keyed by the last text, the replay used to book again:
the first booking had taken the first free slot, so the replay booked the next one.

The crash is a turn stopped at its commit (`GatedStore`) and a shutdown that cannot wait, as in
`tests/integration/scheduling/test_delayed_reminder_replay.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from botfleet.adapters.connectors.calendar import InMemoryCalendar
from botfleet.adapters.connectors.calendar import memory as memory_calendar
from botfleet.domain.messages import InboundMessage
from botfleet.testing.runtime import MADRID, FrozenClock, bootstrap_test_runtime, text_message
from botfleet.testing.stores import GatedStore

CONTACT = "ana"
WEEKDAYS = {day: ["10:00-14:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
FLOW: dict[str, Any] = {
    "id": "merged_booking",
    "initial_state": "IDLE",
    "settings": {"debounce_ms": 100},
    "states": {
        "IDLE": {"transitions": [{"on_type": "text", "target": "BOOK"}]},
        "BOOK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "get_slots_for_day",
                    "params": {"date_str": "2024-05-06", "service_duration_min": 30},
                    "result_key": "free",
                },
                {
                    # The first free slot: a booking made under a new key takes another one.
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "book_appointment",
                    "params": {
                        "slot": "{{ data.free[0].id }}",
                        "contact_id": "{{ contact.id }}",
                        "duration_min": 30,
                    },
                    "result_key": "booking",
                },
                {"action": "send_text", "text": "{{ data.booking.message }}"},
            ],
            "next": "IDLE",
        },
    },
}


class KeyRecorder:
    """The calendar, recording each call's operation and idempotency key on the way."""

    def __init__(self, inner: InMemoryCalendar) -> None:
        self.inner = inner
        self.category = inner.category
        self.calls: list[tuple[str, str]] = []

    def operations(self) -> frozenset[str]:
        return self.inner.operations()

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.calls.append((operation, idempotency_key))
        return await self.inner.call(operation, params, idempotency_key=idempotency_key)

    def keys(self, operation: str) -> list[str]:
        return [key for op, key in self.calls if op == operation]


def texts(*pairs: tuple[str, str]) -> list[InboundMessage]:
    return [text_message(CONTACT, text, message_id=message_id) for message_id, text in pairs]


async def book_then_crash(
    clock: FrozenClock, calendar: KeyRecorder, *, journaled_late: list[InboundMessage]
) -> GatedStore:
    """Two quick texts make one turn, which books and stops at its commit; `journaled_late`
    are acknowledged meanwhile (queued behind it); then the process dies."""
    store = GatedStore(closed=True)
    async with bootstrap_test_runtime(
        flow=FLOW, stores=store, clock=clock, connectors={"calendar": calendar}
    ) as crashed:
        for message in texts(("m-1", "I'd like"), ("m-2", "an appointment")):
            assert await crashed.accept(message)
        await asyncio.wait_for(store.waiting.wait(), timeout=5)
        for message in journaled_late:
            assert await crashed.accept(message)
        crashed.sequencer.cancel()
    assert [e.message.message_id for e in await store.journal.pending()] == [
        "m-1",
        "m-2",
        *(m.message_id for m in journaled_late),
    ]
    store.gate.set()
    return store


@pytest.mark.parametrize("late", ["journaled_before_the_crash", "delivered_after_the_restart"])
async def test_a_replayed_merged_turn_with_a_text_more_books_once(late: str) -> None:
    clock = FrozenClock()
    calendar = KeyRecorder(
        memory_calendar.build({"schedule": WEEKDAYS}, timezone="Europe/Madrid", clock=clock)
    )
    [extra] = texts(("m-3", "today please"))
    before = [extra] if late == "journaled_before_the_crash" else []
    store = await book_then_crash(clock, calendar, journaled_late=before)
    [first_booking] = calendar.inner.appointments

    async with bootstrap_test_runtime(
        flow=FLOW, stores=store, clock=clock, connectors={"calendar": calendar}
    ) as restarted:
        assert await restarted.recover() == len(before) + 2
        if not before:  # the provider's redelivery, while the recovered texts wait to merge
            assert await restarted.accept(extra)
        await restarted.sequencer.drain()
        merged = restarted.metrics.registry.get_sample_value("botfleet_merged_messages_total")
        assert merged == 2  # the replay's batch took in the third text

    assert calendar.inner.appointments == (first_booking,)  # booked once
    bookings = calendar.keys("book_appointment")
    assert len(bookings) == 2 and bookings[0] == bookings[1]  # the same key, run twice
    assert bookings[0].startswith(f"test:{CONTACT}:m-1/")
    answered = await store.journal.get("m-3")
    assert answered is not None and answered.status == "done"
    [reply] = [r["text"] for r in answered.replies]  # the answer is the last text's
    assert reply.startswith("Booked: ")
    assert f"{first_booking.start.astimezone(MADRID):%H:%M}" in reply  # the first booking's
    assert await store.journal.pending() == []
