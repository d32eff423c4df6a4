"""Standing schedule triggers: cron day numbers, DST in the tenant's zone, errors by name."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.domain.cron import parse_cron
from botfleet.ports.scheduling import StandingJob

MADRID = ZoneInfo("Europe/Madrid")


def fire_times(job: StandingJob, start: datetime, count: int) -> list[datetime]:
    trigger = build_trigger(job, now=start)
    times: list[datetime] = []
    previous: datetime | None = None
    now = start
    for _ in range(count):
        moment = trigger.get_next_fire_time(previous, now)
        assert moment is not None
        times.append(moment.astimezone(UTC))
        previous = now = moment
    return times


def cron(expr: str, zone: str = "Europe/Madrid") -> StandingJob:
    return StandingJob("rule", "task", cron=expr, timezone=zone)


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("*", {0, 1, 2, 3, 4, 5, 6}),
        ("1", {1}),
        ("0", {0}),
        ("7", {0}),
        ("1-5", {1, 2, 3, 4, 5}),
        ("mon-fri", {1, 2, 3, 4, 5}),
        ("5-7", {5, 6, 0}),
        ("fri-mon", {5, 6, 0, 1}),
        ("*/2", {0, 2, 4, 6}),
        ("1,3,sat", {1, 3, 6}),
    ],
)
def test_day_of_week_numbers_follow_cron(field: str, expected: set[int]) -> None:
    assert parse_cron(f"0 9 * * {field}", "UTC").weekdays == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 9 * * 8", "day-of-week field '8': 8 is outside 0-7"),
        ("0 9 * * mon-x", "day-of-week field 'mon-x': 'x' is not a number or a name"),
        ("0 9 * * */0", "a step must be at least 1"),
        ("60 9 * * *", "minute field '60': 60 is outside 0-59"),
        ("0 9 0 * *", "day-of-month field '0': 0 is outside 1-31"),
        ("0 9 * 13 *", "month field '13'"),
        ("0 9-5 * * *", "range '9-5' goes backwards"),
    ],
)
def test_bad_fields_are_named(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_cron(expression, "UTC")


def test_month_names_and_restricted_day_fields_match_either_day() -> None:
    # cron: with both day fields restricted, the 1st of the month OR any Monday
    rule = parse_cron("0 9 1 jan-feb mon", "UTC")
    start = datetime(2024, 1, 1, 10, tzinfo=UTC)  # Monday 1 January, after 09:00
    days = []
    moment = start
    for _ in range(6):
        found = rule.next_after(moment)
        assert found is not None
        days.append(found.strftime("%m-%d"))
        moment = found
    assert days == ["01-08", "01-15", "01-22", "01-29", "02-01", "02-05"]


def test_an_impossible_date_never_fires() -> None:
    assert parse_cron("0 9 31 2 *", "UTC").next_after(datetime(2024, 1, 1, tzinfo=UTC)) is None


def test_the_trigger_survives_pickling() -> None:
    trigger = build_trigger(cron("30 2 * * *"))
    copy = pickle.loads(pickle.dumps(trigger))
    start = datetime(2024, 3, 30, tzinfo=UTC)
    assert copy.get_next_fire_time(None, start) == trigger.get_next_fire_time(None, start)
    assert str(copy) == "cron[30 2 * * * Europe/Madrid]"


def test_midnight_rule_runs_every_day_around_spring_forward() -> None:
    # APScheduler 3's own CronTrigger skips 2024-04-01 here
    times = fire_times(cron("0 0 * * *"), datetime(2024, 3, 30, 12, tzinfo=MADRID), 3)
    assert [t.astimezone(MADRID).strftime("%m-%d %H:%M") for t in times] == [
        "03-31 00:00",
        "04-01 00:00",
        "04-02 00:00",
    ]


def test_monday_rule_fires_on_mondays() -> None:
    wednesday = datetime(2024, 1, 10, 12, tzinfo=MADRID)
    times = fire_times(cron("0 9 * * 1"), wednesday, 2)
    assert [t.astimezone(MADRID).strftime("%a %Y-%m-%d %H:%M") for t in times] == [
        "Mon 2024-01-15 09:00",
        "Mon 2024-01-22 09:00",
    ]


def test_cron_is_wall_time_in_the_tenant_zone_across_dst() -> None:
    times = fire_times(cron("0 9 * * *"), datetime(2024, 3, 30, 12, tzinfo=MADRID), 2)
    # 09:00 in Madrid both days: 08:00 UTC in winter time, 07:00 UTC in summer time
    assert times == [datetime(2024, 3, 31, 7, tzinfo=UTC), datetime(2024, 4, 1, 7, tzinfo=UTC)]


def test_a_time_skipped_by_spring_forward_fires_once_an_hour_later() -> None:
    # 2024-03-31 in Madrid: 02:00 jumps to 03:00, so 02:30 does not exist that day.
    times = fire_times(cron("30 2 * * *"), datetime(2024, 3, 30, 12, tzinfo=MADRID), 3)
    assert [t.astimezone(MADRID).strftime("%m-%d %H:%M") for t in times] == [
        "03-31 03:30",
        "04-01 02:30",
        "04-02 02:30",
    ]


def test_a_time_repeated_by_fall_back_fires_once() -> None:
    # 2024-10-27 in Madrid: 03:00 goes back to 02:00, so 02:30 happens twice.
    times = fire_times(cron("30 2 * * *"), datetime(2024, 10, 26, 12, tzinfo=MADRID), 3)
    assert times == [
        datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 summer time, the first pass
        datetime(2024, 10, 28, 1, 30, tzinfo=UTC),
        datetime(2024, 10, 29, 1, 30, tzinfo=UTC),
    ]


def test_an_hourly_wildcard_rule_keeps_running_through_the_repeated_hour() -> None:
    times = fire_times(cron("0 * * * *"), datetime(2024, 10, 27, 0, 30, tzinfo=MADRID), 4)
    # elapsed-time rules run every hour, the repeated 02:00 included (an hour apart in UTC)
    assert [t - times[0] for t in times] == [timedelta(hours=h) for h in range(4)]


def test_interval_rule_counts_from_the_given_start() -> None:
    start = datetime(2024, 5, 6, 9, tzinfo=UTC)
    job = StandingJob("tick", "task", interval=timedelta(minutes=15))
    assert fire_times(job, start, 2) == [
        start + timedelta(minutes=15),
        start + timedelta(minutes=30),
    ]


def test_a_daily_interval_is_elapsed_time_and_drifts_on_the_wall_clock_across_dst() -> None:
    """`interval: 24h` is 24 real hours (docs/scheduler.md): 09:00 becomes 10:00 after the
    spring change (a wall-clock time is a `cron` rule's, tested above)."""
    start = datetime(2024, 3, 29, 9, tzinfo=MADRID)
    daily = StandingJob("daily", "task", interval=timedelta(hours=24), timezone="Europe/Madrid")
    wall = [t.astimezone(MADRID).strftime("%m-%d %H:%M") for t in fire_times(daily, start, 3)]
    assert wall == ["03-30 09:00", "03-31 10:00", "04-01 10:00"]


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (cron("61 * * * *"), r"standing_schedules\.rule\.cron: minute field '61'"),
        (cron("0 9 * *"), "needs 5 fields"),
        (cron("0 9 * * *", zone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (StandingJob("rule", "task"), "exactly one of 'cron' or 'interval'"),
        (StandingJob("rule", "task", interval=timedelta(0)), "interval: must be positive"),
    ],
)
def test_bad_rules_are_errors_naming_the_schedule(job: StandingJob, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_trigger(job)


#: Rules, each with a time span that surely holds its last fire time before a moment.
CATCH_UP_RULES = [
    ("* * * * *", timedelta(hours=2)),
    ("*/15 * * * *", timedelta(hours=2)),
    ("0 * * * *", timedelta(hours=3)),
    ("30 9 * * *", timedelta(days=2)),
    ("0 2 * * *", timedelta(days=2)),
    ("0 9 * * 1", timedelta(days=8)),
]


@pytest.mark.parametrize(("expr", "span"), CATCH_UP_RULES)
@pytest.mark.parametrize("down", [timedelta(days=8), timedelta(days=40)])
def test_catching_up_after_downtime_keeps_the_last_missed_run_in_few_steps(
    expr: str, span: timedelta, down: timedelta
) -> None:
    # APScheduler's way of finding missed runs: ask from the stored one until past `now`, keep
    # the last (standing jobs coalesce). Each step used to be one fire time: 10,000 for a week
    # of `* * * * *`, seconds with the loop blocked.
    rule = parse_cron(expr, "Europe/Madrid")
    trigger = build_trigger(cron(expr))
    now = datetime(2024, 3, 31, 12, 7, 30, tzinfo=UTC)  # the day Madrid goes to summer time
    expected = rule.next_after(now - span)  # the last fire time up to `now`, one step at a time
    assert expected is not None and expected <= now
    while (following := rule.next_after(expected)) is not None and following <= now:
        expected = following
    stored = rule.next_after(now - down)
    missed: list[datetime] = []
    moment = stored
    while moment is not None and moment <= now:
        missed.append(moment)
        moment = trigger.get_next_fire_time(moment, now)
    assert missed[0] == stored
    assert missed[-1] == expected  # the run coalescing keeps is the same
    assert moment == rule.next_after(now)  # and so is the next one
    assert len(missed) <= 70
    assert missed == sorted(set(missed))
