"""Portuguese weekdays written with their number ("3ª feira") and a weekday with "dia" before
its day of the month ("sexta dia 10"), at a list of days and in `parse_day`."""

from __future__ import annotations

from datetime import date

import pytest

from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Option
from botfleet.flows.day_filter import read_day
from botfleet.flows.matching import as_option_choice
from botfleet.testing.engine import text

WEDNESDAY = date(2024, 5, 8)
DAYS = tuple(
    Option(f"day_2024-05-{n:02d}", title)
    for n, title in ((9, "Qui 9 mai"), (10, "Sex 10 mai"), (13, "Seg 13 mai"), (14, "Ter 14 mai"))
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("3ª feira", "2024-05-14"),
        ("3a-feira", "2024-05-14"),
        ("na 2ª feira", "2024-05-13"),
        ("6ª feira", "2024-05-10"),
        ("sexta dia 10", "2024-05-10"),
        ("2ª feira dia 13", "2024-05-13"),
    ],
)
def test_read_as_days(typed: str, expected: str) -> None:
    found = read_day(typed, WEDNESDAY)
    assert found is not None and found.isoformat() == expected
    chosen = as_option_choice(text(typed), DAYS, today=WEDNESDAY)
    assert (chosen.type, chosen.payload) == (MessageType.BUTTON_REPLY, f"day_{expected}")


@pytest.mark.parametrize("typed", ["la segunda", "la quinta dia", "dia 10", "7ª feira", "3ª"])
def test_not_days(typed: str) -> None:
    assert read_day(typed, WEDNESDAY) is None
