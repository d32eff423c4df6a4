"""Delays are real time: `elapsed_after` and the frozen clocks built on it, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from botfleet.domain.instants import elapsed_after
from botfleet.testing.clock import FrozenClock

MADRID = ZoneInfo("Europe/Madrid")
SPRING_EVE = datetime(2024, 3, 30, 10, 0, tzinfo=MADRID)  # the clocks go forward that night
AUTUMN_EVE = datetime(2024, 10, 26, 10, 0, tzinfo=MADRID)  # and back


@pytest.mark.parametrize(
    ("start", "delta", "wall"),
    [
        (SPRING_EVE, timedelta(hours=24), datetime(2024, 3, 31, 11, 0)),
        (SPRING_EVE, timedelta(hours=23), datetime(2024, 3, 31, 10, 0)),
        (AUTUMN_EVE, timedelta(hours=24), datetime(2024, 10, 27, 9, 0)),
        (datetime(2024, 1, 8, 9, 0, tzinfo=UTC), timedelta(days=1), datetime(2024, 1, 9, 9, 0)),
        (
            datetime(2024, 3, 30, 10, 0, tzinfo=timezone(timedelta(hours=1))),
            timedelta(hours=24),
            datetime(2024, 3, 31, 10, 0),  # a fixed offset has no change of the clocks
        ),
    ],
)
def test_elapsed_after_adds_real_time_and_keeps_the_zone(
    start: datetime, delta: timedelta, wall: datetime
) -> None:
    later = elapsed_after(start, delta)
    assert later.tzinfo is start.tzinfo
    assert later.replace(tzinfo=None) == wall
    assert later.astimezone(UTC) - start.astimezone(UTC) == delta


def test_a_frozen_clock_in_a_zone_advances_by_real_time() -> None:
    clock = FrozenClock(SPRING_EVE)
    clock.advance(hours=24)
    assert clock.now().replace(tzinfo=None) == datetime(2024, 3, 31, 11, 0)
    assert clock.now().utcoffset() == timedelta(hours=2)


def test_the_runtime_helpers_clock_is_the_same_clock() -> None:
    # `bootstrap_test_runtime`'s default clock: real time too, and it can `set` (ManualScheduler).
    from botfleet.testing.runtime import FrozenClock as RuntimeClock

    clock = RuntimeClock(SPRING_EVE)
    clock.advance(hours=24)
    assert clock.at.replace(tzinfo=None) == datetime(2024, 3, 31, 11, 0)
    assert clock.set(AUTUMN_EVE) == AUTUMN_EVE
