"""`shift_time` across a DST change: days keep the wall time, hours and minutes are real time.

`now` is the turn's time in the tenant's zone. Europe/Madrid goes to summer time on 31 March
2024 (02:00 -> 03:00) and back on 27 October 2024 (03:00 -> 02:00).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from botfleet.flows.effects import Diagnostic
from botfleet.flows.render import Renderer

MADRID = ZoneInfo("Europe/Madrid")


def shifted(now: datetime, arguments: str, value: str = "now") -> datetime:
    sink: list[Diagnostic] = []
    renderer = Renderer({"now": now, "data": {}}, sink=sink)
    text = renderer.text(f"{{{{ {value} | shift_time({arguments}) }}}}", "states.S.run_at")
    assert sink == []
    return datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("now", "arguments", "real"),
    [
        # 01:30 CET + 2 hours is 04:30 CEST, not 03:30 (one real hour).
        (datetime(2024, 3, 31, 1, 30, tzinfo=MADRID), "hours=2", timedelta(hours=2)),
        # 02:30 CEST (the first pass) + 1 hour is 02:30 CET, not 03:30 CET (two real hours).
        (datetime(2024, 10, 27, 2, 30, tzinfo=MADRID), "hours=1", timedelta(hours=1)),
        (datetime(2024, 10, 27, 2, 50, tzinfo=MADRID), "minutes=20", timedelta(minutes=20)),
        (datetime(2024, 3, 31, 3, 10, tzinfo=MADRID), "minutes=-30", timedelta(minutes=-30)),
    ],
)
def test_hours_and_minutes_of_now_are_real_time(
    now: datetime, arguments: str, real: timedelta
) -> None:
    later = shifted(now, arguments)
    assert later.astimezone(UTC) - now.astimezone(UTC) == real


@pytest.mark.parametrize(
    ("now", "wall"),
    [
        (datetime(2024, 3, 30, 10, 0, tzinfo=MADRID), datetime(2024, 3, 31, 10, 0)),
        (datetime(2024, 10, 26, 18, 30, tzinfo=MADRID), datetime(2024, 10, 27, 18, 30)),
    ],
)
def test_days_of_now_keep_the_wall_time(now: datetime, wall: datetime) -> None:
    tomorrow = shifted(now, "days=1")
    assert tomorrow.astimezone(MADRID).replace(tzinfo=None) == wall
    assert tomorrow.astimezone(UTC) - now.astimezone(UTC) != timedelta(days=1)


def test_a_wall_time_without_a_zone_is_moved_on_its_wall_clock() -> None:
    # A reminder the day before, two hours earlier: no zone, so the wall clock is all there is
    # (the scheduler reads it in the tenant's zone).
    moved = shifted(
        datetime(2024, 1, 1, tzinfo=UTC), "days=-1, hours=-2", value="'2024-03-31T12:00'"
    )
    assert moved == datetime(2024, 3, 30, 10, 0)


LONDON = ZoneInfo("Europe/London")
SANTIAGO = ZoneInfo("America/Santiago")


@pytest.mark.parametrize(
    ("now", "arguments", "real"),
    [
        # 01:30 GMT, the second pass of London's repeated hour (31 Oct 2027): + 2 hours.
        (datetime(2027, 10, 31, 1, 30, tzinfo=LONDON, fold=1), "hours=2", timedelta(hours=2)),
        # 23:30 -04:00, Santiago's second pass (3 Apr 2027): it went 30 minutes back.
        (datetime(2027, 4, 3, 23, 30, tzinfo=SANTIAGO, fold=1), "minutes=30", timedelta(0, 1800)),
        (datetime(2027, 4, 3, 23, 30, tzinfo=SANTIAGO, fold=1), "hours=0", timedelta(0)),
    ],
)
def test_now_in_the_second_pass_of_a_repeated_hour_stays_in_it(
    now: datetime, arguments: str, real: timedelta
) -> None:
    """Adding no days dropped `fold`: the second pass was read as the first, an hour early."""
    later = shifted(now, arguments)
    assert later.astimezone(UTC) - now.astimezone(UTC) == real
