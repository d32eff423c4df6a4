"""Durations written in flows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from botfleet.flows.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 10M ", timedelta(minutes=10)),
        ("0s", timedelta(0)),
    ],
)
def test_accepted_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "  ", "30", "h", "1x", "30m1h", "1.5h", "-5m", "1h1h", "tomorrow", "99999999999d"]
)
def test_other_text_is_a_value_error_that_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .*(e\.g\. 30s|too large)"):
        parse_duration(text)
