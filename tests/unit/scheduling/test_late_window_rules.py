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
    with pytest.raises(RunAtPassed, match=r"misfire grace window \(DP_SCHEDULER_GRACE_S, 5m\)"):
        check_request(request(timedelta(hours=2), timedelta(hours=3)), NOW, GRACE)
    assert check_request(request(timedelta(minutes=4), timedelta(hours=3)), NOW, GRACE) == {}
    # shorter than the grace window: the task's own word holds
    with pytest.raises(RunAtPassed, match="beyond its run_late_within of 1m: not scheduled"):
        check_request(request(timedelta(minutes=2), timedelta(minutes=1)), NOW, GRACE)
    with pytest.raises(RunAtPassed, match=r"misfire grace window \(DP_SCHEDULER_GRACE_S, 5m\)"):
        check_request(request(timedelta(minutes=6), None), NOW, GRACE)


def refusal(late_by: timedelta, window: timedelta | None, grace: timedelta = GRACE) -> str:
    with pytest.raises(RunAtPassed) as info:
        check_request(request(late_by, window), NOW, grace)
    return str(info.value)


def test_a_longer_run_late_within_is_named_as_not_applying_to_a_time_already_past() -> None:
    # The clinic's 24-hour reminder of a same-day booking: 5 hours past, run_late_within 3h.
    assert refusal(timedelta(hours=5), timedelta(hours=3)) == (
        "schedule_task 'reminder' (key 'reminder:e1'): its time 2024-05-06T04:00+00:00 had "
        "passed 5h ago when it was scheduled, beyond the data plane's misfire grace window "
        "(DP_SCHEDULER_GRACE_S, 5m): not scheduled (its run_late_within of 3h is for a run a "
        "restart or an outage delays, not for a time already past when it is scheduled)"
    )


def test_without_run_late_within_the_grace_window_alone_is_named() -> None:
    assert refusal(timedelta(hours=5, minutes=30), None) == (
        "schedule_task 'reminder' (key 'reminder:e1'): its time 2024-05-06T03:30+00:00 had "
        "passed 5h30m ago when it was scheduled, beyond the data plane's misfire grace window "
        "(DP_SCHEDULER_GRACE_S, 5m): not scheduled"
    )


def test_a_run_late_within_not_longer_than_the_grace_is_the_window_named() -> None:
    assert refusal(timedelta(minutes=2), timedelta(seconds=90)) == (
        "schedule_task 'reminder' (key 'reminder:e1'): its time 2024-05-06T08:58+00:00 had "
        "passed 2m ago when it was scheduled, beyond its run_late_within of 1m30s: not scheduled"
    )
    # as long as the grace window: it is the task's own word, and says so
    assert refusal(timedelta(minutes=6), GRACE).endswith(
        "beyond its run_late_within of 5m: not scheduled"
    )
    # a data plane with a longer grace window: a 3h run_late_within is the shorter, so it applies
    assert "beyond its run_late_within of 3h: not scheduled" in refusal(
        timedelta(hours=5), timedelta(hours=3), grace=timedelta(hours=6)
    )


def test_a_time_with_seconds_is_shown_with_them_and_lateness_under_a_minute_in_seconds() -> None:
    run_at = NOW - timedelta(seconds=7.5)
    task = ScheduleTask("reminder", run_at, "reminder:e1", "c1")
    with pytest.raises(RunAtPassed) as info:
        check_request(task, NOW, timedelta(seconds=2))
    assert "its time 2024-05-06T08:59:52.500000+00:00 had passed 7.5s ago" in str(info.value)
    assert "(DP_SCHEDULER_GRACE_S, 2s)" in str(info.value)


@pytest.mark.parametrize("window", [timedelta(), timedelta(seconds=-30)])
def test_a_window_that_is_not_positive_is_refused_naming_the_task(window: timedelta) -> None:
    with pytest.raises(ValueError, match=r"schedule_task 'reminder' \(key 'reminder:e1'\): run"):
        check_request(request(timedelta(), window), NOW, GRACE)


def test_the_window_is_whole_seconds_rounded_up_as_apscheduler_keeps_it() -> None:
    assert late_window(timedelta(seconds=1.2)) == timedelta(seconds=2)
    assert late_window(timedelta(hours=3)) == timedelta(hours=3)
