"""A contact id written as people write an international number is its digits (WhatsApp's
`wa_id`); anything else is no such number."""

from __future__ import annotations

import pytest

from botfleet.domain.number_ids import number_as_id


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("+4915112223334", "4915112223334"),
        ("+49 151 1222 3334", "4915112223334"),
        ("+49-151-12223334", "4915112223334"),
        ("+49.151.12223334", "4915112223334"),
        ("0049 151 12223334", "4915112223334"),
        ("(+49) 151 12223334", "4915112223334"),
        ("+1 (650) 555-1234", "16505551234"),
        ("whatsapp:+49 151 1222 3334", "whatsapp:4915112223334"),
        # no such number: left as given
        ("4915112223334", None),  # digits already
        ("0151 12223334", None),  # national: no country code to add
        ("-1001234567", None),  # a Telegram group
        ("+49", None),
        ("web-3f2a", None),
        ("+49 151 abc", None),
        ("telegram:12345", None),
    ],
)
def test_number_as_id(written: str, digits: str | None) -> None:
    assert number_as_id(written) == digits
