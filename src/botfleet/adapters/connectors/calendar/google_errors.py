"""Google Calendar errors as `ConnectorError`s: what google-api-python-client raises, read at the
boundary.

5xx are retryable, 429 and rate-limit 403s are `ConnectorRateLimited` (retried, not counted by
the breaker), the rest are refusals. Messages never carry URLs or params.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botfleet.adapters.connectors.retry_after import retry_after_s
from botfleet.domain.errors import (
    ConnectorError,
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)

if TYPE_CHECKING:
    from googleapiclient.errors import HttpError

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
#: 403s for limits that last hours (Google's "Calendar usage limits exceeded", the project's
#: daily quota): retrying soon cannot help, and sharing the calendar neither.
_USAGE_LIMIT_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
#: Statuses that say the event is not there.
GONE = frozenset({404, 410})


def http_status(exc: Exception) -> int:
    """The HTTP status of an `HttpError` (0 for anything else)."""
    return int(getattr(getattr(exc, "resp", None), "status", 0) or 0)


def _reasons(exc: Exception) -> set[str]:
    details = getattr(exc, "error_details", None)
    if not isinstance(details, list):
        return set()
    return {str(d.get("reason", "")) for d in details if isinstance(d, dict)}


def translate(exc: Exception, what: str) -> ConnectorError:
    """A Google/transport error as a `ConnectorError` (messages never carry URLs or params)."""
    from googleapiclient.errors import HttpError

    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, HttpError):
        return _answered(exc, what)
    if isinstance(exc, TimeoutError):
        return ConnectorTimeout(f"Google Calendar did not answer {what} in time")
    name = type(exc).__name__
    if getattr(exc, "retryable", False) or isinstance(exc, OSError) or "Transport" in name:
        return ConnectorUnavailable(f"Google Calendar unreachable during {what} ({name})")
    if name == "RefreshError":
        return ConnectorRejected("Google refused the service-account credentials")
    return ConnectorUnavailable(f"Google Calendar failed during {what} ({name})")


def _answered(exc: HttpError, what: str) -> ConnectorError:
    """An error status Google answered (an `HttpError`)."""
    status = http_status(exc)
    detail = f"Google Calendar answered {status} to {what}"
    if status == 408:
        return ConnectorTimeout(detail)
    if status == 429 or _reasons(exc) & _RATE_LIMIT_REASONS:
        return ConnectorRateLimited(detail, retry_after=retry_after_s(exc.resp))
    if status in _RETRYABLE_STATUS:
        return ConnectorUnavailable(detail)
    if status == 401:
        # The token itself was refused (a revoked or deleted service-account key): sharing
        # the calendar would not help.
        return ConnectorRejected(
            f"{detail}: credentials refused (is the service-account key still valid?)"
        )
    if status == 403 and _reasons(exc) & _USAGE_LIMIT_REASONS:
        return ConnectorRejected(
            f"{detail}: Google's usage limits for this calendar or project were reached "
            f"({', '.join(sorted(_reasons(exc) & _USAGE_LIMIT_REASONS))}; see the Calendar "
            "API's usage limits)"
        )
    if status == 403 and "requiredAccessLevel" in _reasons(exc):
        # Shared for reading only ("See all event details"): reads work, writes do not.
        return ConnectorRejected(
            f"{detail}: the service account may not change this calendar's events (share it "
            "with the service account with 'Make changes to events')"
        )
    if status == 403:
        return ConnectorRejected(
            f"{detail}: access denied (share the calendar with the service account)"
        )
    return ConnectorRejected(detail)


def refused_setting(exc: Exception) -> str | None:
    """The setting an operator must fix when Google refused the service account itself (401,
    a token request refused) or its access to the calendar (a 403 that is no limit):
    ``credentials`` or ``calendar_id``; None for any other error."""
    if type(exc).__name__ == "RefreshError":
        return "credentials"
    status = http_status(exc)
    if status == 401:
        return "credentials"
    limits = _RATE_LIMIT_REASONS | _USAGE_LIMIT_REASONS
    if status == 403 and not _reasons(exc) & limits:
        return "calendar_id"
    return None
