"""A task's own window (`run_late_within`) in the rules both scheduler adapters apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from botfleet.adapters.scheduling.rules import check_request, late_window
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import RunAtPassed

NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)


def request(late_by: timedelta, window: timedelta | None) -> ScheduleTask:
    return ScheduleTask("reminder", NOW - late_by, "reminder:e1", "c1", run_late_within=window)


def test_a_run_at_past_is_judged_by_the_grace_or_a_shorter_window_of_its_own() -> None:
    # A longer window of its own is for outages: a run already past when scheduled would
    # follow the turn that scheduled it (booked at 12:00, the "day before" reminder due 10:00).
    with pytest.raises(RunAtPassed, match="beyond the 5m00s misfire grace window"):
        check_request(request(timedelta(hours=2), timedelta(hours=3)), NOW, GRACE)
    assert check_request(request(timedelta(minutes=4), timedelta(hours=3)), NOW, GRACE) == {}
    # shorter than the grace window: the task's own word holds
    with pytest.raises(RunAtPassed, match="beyond its run_late_within of 1m00s"):
        check_request(request(timedelta(minutes=2), timedelta(minutes=1)), NOW, GRACE)
    with pytest.raises(RunAtPassed, match="beyond the 5m00s misfire grace window"):
        check_request(request(timedelta(minutes=6), None), NOW, GRACE)


@pytest.mark.parametrize("window", [timedelta(), timedelta(seconds=-30)])
def test_a_window_that_is_not_positive_is_refused_naming_the_task(window: timedelta) -> None:
    with pytest.raises(ValueError, match=r"schedule_task 'reminder' \(key 'reminder:e1'\): run"):
        check_request(request(timedelta(), window), NOW, GRACE)


def test_the_window_is_whole_seconds_rounded_up_as_apscheduler_keeps_it() -> None:
    assert late_window(timedelta(seconds=1.2)) == timedelta(seconds=2)
    assert late_window(timedelta(hours=3)) == timedelta(hours=3)
