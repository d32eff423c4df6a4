"""Adding real time to an aware datetime. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def elapsed_after(moment: datetime, delta: timedelta) -> datetime:
    """The instant `delta` of real time after `moment` (aware), in `moment`'s zone.

    Python adds a timedelta to an aware datetime on its wall clock: with a `ZoneInfo`, 24h after
    10:00 the day before the clocks go forward is 10:00 again, 23 real hours later. A delay is
    elapsed time (docs/scheduler.md: 11:00), so the sum is taken in UTC.
    """
    if moment.tzinfo is UTC:  # the data plane's own clock: nothing to convert
        return moment + delta
    return (moment.astimezone(UTC) + delta).astimezone(moment.tzinfo)
