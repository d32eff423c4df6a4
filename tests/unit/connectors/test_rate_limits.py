"""Rate limits (HTTP 429) as `ConnectorRateLimited`: the retry-after headers, and the CalDAV
adapter's translation (Google's is in test_google_calendar.py, the LLMs' in their HTTP tests)."""

from __future__ import annotations

from email.utils import formatdate

import pytest
from caldav.lib import error

from botfleet.adapters.connectors.calendar.caldav import translate
from botfleet.adapters.connectors.retry_after import retry_after_s
from botfleet.domain.errors import ConnectorRateLimited, ConnectorUnavailable

NOW = 1_717_000_000.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"retry-after": formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"retry-after": "-4"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "tomorrow"}, None),
        ({}, None),
    ],
)
def test_the_wait_comes_from_retry_after_ms_then_retry_after(
    headers: dict[str, str], seconds: float | None
) -> None:
    assert retry_after_s(headers, now=NOW) == seconds


def test_no_headers_at_all_means_no_wait() -> None:
    assert retry_after_s(None) is None


def test_a_caldav_429_is_rate_limited_with_the_servers_retry_after() -> None:
    raised = error.RateLimitError(
        url="https://dav.example/cal/", retry_after="20", retry_after_seconds=20.0, status=429
    )
    translated = translate(raised, "the slot search")
    assert isinstance(translated, ConnectorRateLimited)
    assert translated.retry_after == 20.0
    assert "dav.example" not in str(translated)


def test_a_caldav_503_with_retry_after_is_still_an_unavailable_server() -> None:
    raised = error.RateLimitError(retry_after="20", retry_after_seconds=20.0, status=503)
    translated = translate(raised, "the slot search")
    assert isinstance(translated, ConnectorUnavailable)
    assert not isinstance(translated, ConnectorRateLimited)
