"""TenantCronTrigger against a brute-force reading of the rule, around real DST changes.

Reference meaning of a cron rule in a zone: every local wall time that matches, at the instant
it first happens (`fold=0`). A wall time skipped by spring-forward maps, like Python's `fold=0`,
to the instant an hour later on the wall clock; a wall time repeated by fall-back fires once for
rules with fixed hours and in both passes when the hour field is a wildcard (`*`, `*/2`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.ports.scheduling import StandingJob

# (zone, a day with a DST change in it)
CHANGES = [
    ("Europe/Madrid", date(2024, 3, 31)),
    ("Europe/Madrid", date(2024, 10, 27)),
    ("America/New_York", date(2024, 3, 10)),
    ("America/New_York", date(2024, 11, 3)),
    ("Australia/Lord_Howe", date(2024, 4, 7)),  # a 30-minute change
    ("Australia/Lord_Howe", date(2024, 10, 6)),
    ("UTC", date(2024, 3, 31)),
]
MINUTES = {"0": [0], "30": [30], "*/15": [0, 15, 30, 45], "*/20": [0, 20, 40]}
HOURS = {
    "*": list(range(24)),
    "*/2": list(range(0, 24, 2)),
    "0": [0],
    "1": [1],
    "2": [2],
    "1-3": [1, 2, 3],
    "9": [9],
}
DAYS = {"*": set(range(7)), "1-5": {1, 2, 3, 4, 5}, "0": {0}, "6": {6}}  # cron: 0 = Sunday


def reference(
    rule: tuple[str, str, str], zone: ZoneInfo, start: datetime, end: datetime
) -> set[datetime]:
    """Scan every UTC minute of the window and read the wall clock, as a person would."""
    minute, hour, dow = rule
    fixed_hours = not hour.startswith("*")

    def matches(wall: datetime) -> bool:
        return (
            wall.minute in MINUTES[minute]
            and wall.hour in HOURS[hour]
            and wall.isoweekday() % 7 in DAYS[dow]
        )

    times: set[datetime] = set()
    instant = start.replace(second=0, microsecond=0) - timedelta(hours=3)
    previous_wall = instant.astimezone(zone)
    while instant <= end + timedelta(hours=3):
        instant += timedelta(minutes=1)
        wall = instant.astimezone(zone)
        step = wall.replace(tzinfo=None) - previous_wall.replace(tzinfo=None)
        # Wall times skipped by a spring change run at the instant Python maps them to.
        skipped = previous_wall.replace(tzinfo=None) + timedelta(minutes=1)
        while step > timedelta(minutes=1) and skipped < wall.replace(tzinfo=None):
            gap_wall = skipped.replace(tzinfo=zone)
            if matches(gap_wall):
                times.add(gap_wall.astimezone(UTC))
            skipped += timedelta(minutes=1)
        # The wall clock going back: the repeated times run again only for wildcard hours.
        repeated = step <= timedelta(0)
        if matches(wall) and not (repeated and fixed_hours):
            times.add(instant)
        previous_wall = wall if not repeated else max(previous_wall, wall, key=_naive)
    return {t for t in times if start <= t <= end}


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def fired(rule: tuple[str, str, str], zone: str, start: datetime, end: datetime) -> list[datetime]:
    minute, hour, dow = rule
    job = StandingJob("rule", "task", cron=f"{minute} {hour} * * {dow}", timezone=zone)
    trigger = build_trigger(job)
    times: list[datetime] = []
    previous: datetime | None = None
    now = start
    while True:
        moment = trigger.get_next_fire_time(previous, now)
        if moment is None or moment.astimezone(UTC) > end:
            return times
        times.append(moment.astimezone(UTC))
        previous = moment
        now = moment + timedelta(milliseconds=1)  # the scheduler asks just after a run


@settings(max_examples=60, deadline=None)
@given(
    change=st.sampled_from(CHANGES),
    minute=st.sampled_from(sorted(MINUTES)),
    hour=st.sampled_from(sorted(HOURS)),
    dow=st.sampled_from(sorted(DAYS)),
    offset_min=st.integers(min_value=-36 * 60, max_value=12 * 60),
)
def test_fire_times_match_the_rule_read_in_the_zone(
    change: tuple[str, date], minute: str, hour: str, dow: str, offset_min: int
) -> None:
    zone_name, day = change
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC) + timedelta(
        minutes=offset_min
    )
    end = start + timedelta(days=2)
    times = fired((minute, hour, dow), zone_name, start, end)
    assert times == sorted(set(times)), "fire times must strictly increase"
    assert set(times) == reference((minute, hour, dow), zone, start, end)
