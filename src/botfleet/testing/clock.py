"""A clock that only moves when told to: `FrozenClock` satisfies the `Clock` port."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botfleet.domain.instants import elapsed_after

__all__ = ["DEFAULT_START", "FrozenClock"]

#: Monday 2024-01-08 09:00 UTC (10:00 in Madrid): the spec's worked calendar examples use it.
DEFAULT_START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)


class FrozenClock:
    """`now()` returns the same instant until `advance()` or `set()` moves it.

    Args:
        start: the first instant; must be timezone-aware (the `Clock` port promises that).

    Raises:
        ValueError: `start` is naive.
    """

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> datetime:
        """Move forward by `delta` plus the keyword amounts; returns the new `now`.

        Raises:
            ValueError: the total is negative (time does not run backwards; use `set`).
        """
        step = (delta or timedelta()) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        if step < timedelta():
            raise ValueError(f"FrozenClock.advance: negative step {step}; use set() to go back")
        self._now = elapsed_after(self._now, step)
        return self._now

    def set(self, moment: datetime) -> datetime:
        """Jump to `moment` (aware), forwards or backwards; returns it."""
        self._now = _aware(moment)
        return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"FrozenClock needs a timezone-aware datetime, got {moment.isoformat()}")
    return moment
