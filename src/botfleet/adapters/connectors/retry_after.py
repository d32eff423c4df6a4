"""The wait a back end asks for in its rate-limit answer (HTTP 429), from the response headers.

Adapters put it on `ConnectorRateLimited.retry_after`; the resilience layer decides whether the
call waits for it (`botfleet.data_plane.resilience`). Pure.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any


def retry_after_s(headers: Any, now: float | None = None) -> float | None:
    """Seconds to wait: `retry-after-ms` (OpenAI and Anthropic send it), else `retry-after` in
    seconds or as an HTTP date. None when absent or unreadable.

    Args:
        headers: any mapping with `.get` and case-insensitive or lowercase names (httpx,
            httplib2 and `requests` headers all are).
        now: the Unix time an HTTP date is measured from (default: the current time).
    """
    try:
        millis = _seconds(headers.get("retry-after-ms"))
        value = headers.get("retry-after")
    except AttributeError:
        return None
    if millis is not None:
        return millis / 1000
    seconds = _seconds(value)
    if seconds is not None or not isinstance(value, str):
        return seconds
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # HTTP dates are always in GMT
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def _seconds(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None
