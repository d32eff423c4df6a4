"""Calendar reads on the demo's in-memory calendar: microseconds per call at 0, 50 and 150
bookings (`get_available_days` over 14 days, `get_slots_for_day`).

    uv run python -m bench.calendar_slots [--seconds 1]

Baseline, measured in the same run: the slot rules as they were before 2026-12-03 (every slot
of each day listed to learn whether the day has one, aware datetimes compared per slot and per
event), kept in this file, against the shipped `slots.available_days` (integer instants, a
sweep over the busy spans, a day stops at its first free slot). Both give the same days; the
ratio is what the change saves, the absolute figures depend on the machine. CPU time of this
process, so a busy machine does not lower the rates. Since the second 2026-12-03 session a day's
slots are memoised; `available_days` is timed with the memo emptied before each call (the rules'
own cost), the `get_*` calls as they come (repeated questions: memo hits).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from time import process_time
from typing import Any

from bench._proc import DEMO_TENANT, machine_check
from bench._report import Check, emit
from botfleet.adapters.connectors.calendar import slots
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.adapters.registry import build_connectors
from botfleet.domain.calendar import BusyEvent
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.testing.clock import FrozenClock

#: Monday 09:00 in Madrid, as in bench/engine_micro.py.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BOOKINGS = (0, 50, 150)


def _service() -> CalendarService:
    config = load_tenant_config(DEMO_TENANT)
    connector = build_connectors(config, clock=FrozenClock(NOW))["calendar"]
    assert isinstance(connector, CalendarService), type(connector)
    return connector


async def _book(service: CalendarService, count: int) -> int:
    """Book `count` slots spread over the next two weeks (first free slots of each day)."""
    booked = 0
    day = NOW.date()
    while booked < count and day < NOW.date() + timedelta(days=14):
        params = {"date_str": day.isoformat()}
        free = await service.call("get_slots_for_day", params, idempotency_key="")
        for item in free[: max(1, count // 10)]:
            booking = {"slot": item["id"], "contact_id": f"c{booked}"}
            reply = await service.call(
                "book_appointment", booking, idempotency_key=f"bench-{booked}"
            )
            booked += bool(reply.get("success"))
            if booked >= count:
                break
        day += timedelta(days=1)
    return booked


def _old_slots_for_day(
    day: date, settings: Any, events: Any, now: datetime, service_min: int, presence_min: int
) -> list[datetime]:
    """`slots.slots_for_day` as it was before 2026-12-03 (aware datetimes compared per slot
    and per event), kept here as the baseline."""
    if day > slots.horizon_end(settings, now):
        return []
    windows = slots.day_windows(day, settings, events)
    tz = settings.tz
    earliest = now + timedelta(minutes=settings.min_notice_min)
    service, presence = timedelta(minutes=service_min), timedelta(minutes=presence_min)
    low = datetime.combine(day, time(), tz) - timedelta(days=1)
    high = datetime.combine(day, time(), tz) + timedelta(days=2) + service
    busy = [e for e in events if isinstance(e, BusyEvent) and e.end > low and e.start < high]
    offered = []
    for window in windows:
        close = datetime.combine(day, time(), tz) + timedelta(minutes=window.end_min)
        for minute in range(window.start_min, window.end_min, settings.slot_duration_min):
            start = slots.local_instant(day, minute, tz)
            if start is None or start < earliest or start + presence > close:
                continue
            end = start + service
            tolerance = slots.OVERLAP_TOLERANCE
            if not any(min(e.end, end) - max(e.start, start) > tolerance for e in busy):
                offered.append(start)
    return offered


def _old_available_days(
    from_date: date, settings: Any, events: Any, now: datetime, lookahead: int, s: int, p: int
) -> list[date]:
    today = now.astimezone(settings.tz).date()
    last = min(from_date + timedelta(days=lookahead - 1), slots.horizon_end(settings, now))
    days, day = [], max(from_date, today)
    while day <= last:
        if _old_slots_for_day(day, settings, events, now, s, p):
            days.append(day)
        day += timedelta(days=1)
    return days


def _cold(rule: Callable[..., object], *args: Any) -> object:
    """`rule` with the slot memo emptied first: the cost of computing the rules themselves
    (repeating one question would otherwise measure memo hits; bench/calendar_ops.py measures
    the memo under the demo's mix of reads and writes)."""
    slots._day_slots.cache_clear()
    return rule(*args)


def _rate(seconds: float, body: Callable[[], object]) -> float:
    """Microseconds of CPU per call."""
    calls, started = 0, process_time()
    while (spent := process_time() - started) < seconds:
        body()
        calls += 1
    return spent / calls * 1e6


def measure(seconds: float) -> list[Check]:
    checks: list[Check] = []
    for count in BOOKINGS:
        service = _service()
        booked = asyncio.run(_book(service, count))
        settings, now = service.settings, service.now()
        service_min = presence_min = settings.fallback_duration_min
        events = asyncio.run(service._events(now.date(), now.date() + timedelta(days=14), None))
        args = (now.date(), settings, events, now, 14, service_min, presence_min)
        assert slots.available_days(*args) == _old_available_days(*args), "results differ"
        day_args = (
            now.date() + timedelta(days=1),
            settings,
            events,
            now,
            service_min,
            presence_min,
        )
        assert slots.slots_for_day(*day_args) == _old_slots_for_day(*day_args), "results differ"
        old = _rate(seconds, lambda: _old_available_days(*args))  # noqa: B023
        new = _rate(seconds, lambda: _cold(slots.available_days, *args))  # noqa: B023
        loop = asyncio.new_event_loop()
        day = {"date_str": (now.date() + timedelta(days=1)).isoformat()}
        slots_call = _rate(
            seconds,
            lambda: loop.run_until_complete(  # noqa: B023
                service.call("get_slots_for_day", day, idempotency_key="")  # noqa: B023
            ),
        )
        days_call = _rate(
            seconds,
            lambda: loop.run_until_complete(  # noqa: B023
                service.call("get_available_days", {}, idempotency_key="")  # noqa: B023
            ),
        )
        loop.close()
        print(
            f"{booked:>4} bookings: available_days {old:7.0f} -> {new:6.0f} us "
            f"({old / new:4.1f}x); get_available_days call {days_call:6.0f} us; "
            f"get_slots_for_day call {slots_call:6.0f} us"
        )
        checks += [
            Check(f"available_days, {booked} bookings", f"{new:.0f} us (was {old:.0f} us)"),
            Check(f"speed-up, {booked} bookings", f"{old / new:.1f}x"),
            Check(f"get_available_days call, {booked} bookings", f"{days_call:.0f} us"),
            Check(f"get_slots_for_day call, {booked} bookings", f"{slots_call:.0f} us"),
        ]
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="CPU seconds per figure")
    args = parser.parse_args(argv)
    checks = [*measure(args.seconds), machine_check()]
    return emit("calendar_slots", checks)


if __name__ == "__main__":
    sys.exit(main())
