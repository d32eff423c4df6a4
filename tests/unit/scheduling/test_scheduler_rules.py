"""Shared scheduling rules: request checks, run ids, fingerprints, grace rounding."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from botfleet.adapters.scheduling.rules import (
    check_request,
    fingerprint,
    grace_seconds,
    one_off_job_id,
    run_id,
)
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import RunAtPassed, StandingJob

NOW = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)


def request(run_at: datetime, **changes: object) -> ScheduleTask:
    fields: dict[str, object] = {
        "task": "reminder",
        "run_at": run_at,
        "idempotency_key": "reminder:evt1",
        "contact_id": "+34600111222",
        "data": {"time": "10:00"},
    }
    fields.update(changes)
    return ScheduleTask(**fields)  # type: ignore[arg-type]


def test_a_future_request_passes_and_its_data_comes_back_as_json() -> None:
    assert check_request(request(NOW + timedelta(days=1)), NOW, GRACE) == {"time": "10:00"}


def test_a_request_inside_the_grace_window_passes() -> None:
    check_request(request(NOW - timedelta(minutes=4)), NOW, GRACE)


def test_a_request_beyond_the_grace_window_names_task_key_and_lateness() -> None:
    with pytest.raises(RunAtPassed, match="reminder:evt1") as info:
        check_request(request(NOW - timedelta(hours=2)), NOW, GRACE)
    assert str(info.value) == (
        "schedule_task 'reminder' (key 'reminder:evt1'): its time 2024-05-06T07:00+00:00 had "
        "passed 2h ago when it was scheduled, beyond the data plane's misfire grace window "
        "(DP_SCHEDULER_GRACE_S, 5m): not scheduled"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"run_at": datetime(2024, 5, 7, 9, 0)}, "has no time zone"),
        ({"idempotency_key": "  "}, "idempotency key rendered empty"),
        ({"task": ""}, "task name is empty"),
        ({"data": {"when": object()}}, "data must be JSON values"),
        ({"data": {"x": float("nan")}}, "data must be JSON values"),
    ],
)
def test_bad_requests_are_clear_errors(changes: dict[str, object], message: str) -> None:
    changes.setdefault("run_at", NOW + timedelta(days=1))
    run_at = changes.pop("run_at")
    assert isinstance(run_at, datetime)
    with pytest.raises(ValueError, match=message) as info:
        check_request(request(run_at, **changes), NOW, GRACE)
    assert not isinstance(info.value, RunAtPassed)  # a flow mistake, logged as an error


def test_job_ids_and_run_ids() -> None:
    assert one_off_job_id("reminder:evt1") == "once:reminder:evt1"
    assert run_id("once:k", NOW) == "once:k@20240506T090000Z"
    assert (
        run_id("standing:t", NOW + timedelta(milliseconds=250)) == "standing:t@20240506T090000.250Z"
    )


def test_fingerprint_changes_with_any_part_of_the_rule() -> None:
    base = StandingJob("digest", "digest", cron="0 9 * * *", timezone="Europe/Madrid")
    variants = [
        StandingJob("digest", "digest", cron="0 10 * * *", timezone="Europe/Madrid"),
        StandingJob("digest", "digest", cron="0 9 * * *", timezone="UTC"),
        StandingJob("digest", "other", cron="0 9 * * *", timezone="Europe/Madrid"),
        StandingJob("digest", "digest", cron="0 9 * * *", timezone="Europe/Madrid", data={"a": 1}),
        StandingJob("digest", "digest", cron="0 9 * * *", timezone="Europe/Madrid", contact_id="c"),
    ]
    assert fingerprint(base) == fingerprint(
        StandingJob("digest", "digest", cron="0 9 * * *", timezone="Europe/Madrid")
    )
    assert len({fingerprint(base), *map(fingerprint, variants)}) == 1 + len(variants)


@pytest.mark.parametrize(
    ("grace", "seconds"),
    [(timedelta(minutes=5), 300), (timedelta(seconds=0.2), 1), (timedelta(seconds=1.5), 2)],
)
def test_grace_rounds_up_to_whole_seconds(grace: timedelta, seconds: int) -> None:
    assert grace_seconds(grace) == seconds


def test_grace_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        grace_seconds(timedelta(0))
