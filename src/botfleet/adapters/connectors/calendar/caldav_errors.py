"""CalDAV errors as `ConnectorError`s: what the `caldav` package raises, read at the boundary.

Messages never carry URLs, bodies or credentials.
"""

from __future__ import annotations

from botfleet.adapters.connectors.calendar.store import CalendarNotFound, EventChanged
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)

#: Statuses that say the resource (an event, the calendar) is not there.
GONE = frozenset({404, 410})


def http_status(exc: BaseException) -> int | None:
    """The HTTP status a `caldav` error came with (None for the library's own verdicts, such
    as "no event with that UID", which are not answers about the URL)."""
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def refused_as_stale(exc: BaseException) -> bool:
    """A conditional write (If-Match / If-Schedule-Tag-Match) answered 412: the event is not
    the version that was read. (A create's If-None-Match refusal is another error class.)"""
    from caldav.lib import error

    return isinstance(exc, error.ETagMismatchError | error.ScheduleTagMismatchError)


def translate(exc: Exception, what: str) -> ConnectorError:
    """A CalDAV/transport error as a `ConnectorError` (no URLs, bodies or credentials)."""
    from caldav.lib import error

    if isinstance(exc, ConnectorError):
        return exc
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name:
        return ConnectorTimeout(f"the CalDAV server did not answer {what} in time")
    if isinstance(exc, error.AuthorizationError):
        return ConnectorRejected(f"the CalDAV server refused the credentials during {what}")
    if refused_as_stale(exc):
        return EventChanged(f"the CalDAV server refused {what}: the event changed meanwhile")
    if isinstance(exc, error.NotFoundError) or http_status(exc) in GONE:
        return CalendarNotFound(
            f"the CalDAV calendar was not found during {what} "
            "(check the url, calendar_id or calendar_name setting)"
        )
    if isinstance(exc, error.RateLimitError) and getattr(exc, "status", None) == 429:
        return ConnectorRateLimited(
            f"the CalDAV server rate-limited {what} (HTTP 429)",
            retry_after=exc.retry_after_seconds,
        )
    return ConnectorUnavailable(f"the CalDAV server failed during {what} ({name})")
