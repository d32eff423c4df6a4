"""`parse_date`: a date the contact typed, as `YYYY-MM-DD`, or `""` (false) when it is none."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.domain.errors import FlowValidationError
from botfleet.flows.effects import Diagnostic
from botfleet.flows.load import load_flow_text
from botfleet.flows.render import Renderer
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import Conversation, flow_from_yaml


def parsed(value: Any, arguments: str = "", today: str = "2024-05-06") -> str:
    sink: list[Diagnostic] = []
    renderer = Renderer({"today": today, "data": {"v": value}}, sink=sink)
    text = renderer.text(f"{{{{ data.v | parse_date{arguments} }}}}", "states.S.text")
    assert sink == []
    return text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-05-12", "2024-05-12"),
        (" 2024/5/12 ", "2024-05-12"),
        ("2024.05.12", "2024-05-12"),
        ("12/05/2024", "2024-05-12"),
        ("12-5-2024", "2024-05-12"),
        ("12.5.2024", "2024-05-12"),
        ("12/5/24", "2024-05-12"),
        ("29/02/2024", "2024-02-29"),
        ("١٢/٠٥/٢٠٢٤", "2024-05-12"),  # Arabic-Indic digits, as typed on such a keyboard
    ],
)
def test_written_dates_become_iso_dates(typed: str, expected: str) -> None:
    assert parsed(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "31/06/2024",
        "29/02/2023",
        "2024-13-01",
        "0/5/2024",
        "tomorrow",
        "12",
        "12/5/2024 10:00",
        "12/5-2024",
        "",
        "1" * 100,
    ],
)
def test_what_is_not_a_real_date_is_empty(typed: str) -> None:
    assert parsed(typed) == ""


@pytest.mark.parametrize("value", [None, 12, ["12/5/2024"], 20240512.0])
def test_a_value_that_is_not_text_is_empty(value: Any) -> None:
    assert parsed(value) == ""


def test_month_first_reads_the_american_order() -> None:
    assert parsed("5/12/2024", "(month_first=true)") == "2024-05-12"
    assert parsed("5/12/2024") == "2024-12-05"
    assert parsed("13/12/2024", "(month_first=true)") == ""


@pytest.mark.parametrize(
    ("typed", "today", "expected"),
    [
        ("12/5", "2024-05-06", "2024-05-12"),  # later this year
        ("6/5", "2024-05-06", "2024-05-06"),  # today itself
        ("1/5", "2024-05-06", "2025-05-01"),  # gone this year: next year's
        ("2/1", "2024-12-31", "2025-01-02"),
        ("12.5.", "2024-05-06", "2024-05-12"),
        ("29/2", "2025-03-01", "2028-02-29"),  # the next 29 February
        ("31/4", "2024-01-01", ""),  # no such day in any year
    ],
)
def test_a_date_without_a_year_is_the_next_one_from_today(
    typed: str, today: str, expected: str
) -> None:
    assert parsed(typed, today=today) == expected


@given(st.text(max_size=60))
def test_any_text_gives_an_iso_date_or_nothing(typed: str) -> None:
    result = parsed(typed)
    assert result == "" or date.fromisoformat(result).isoformat() == result


FLOW = """
id: bakery_dates
initial_state: ASK_DATE
states:
  ASK_DATE:
    transitions:
      - on_type: text
        condition: "(message.text | parse_date) >= (today | shift_time(days=2))[:10]"
        set_data: {pickup_date: "{{ message.text | parse_date }}"}
        target: DONE
    fallback: ASK_DATE
    on_enter:
      - action: send_text
        text: "Pickup day? At least two days ahead."
  DONE:
    on_enter:
      - action: send_text
        text: "Pickup on {{ data.pickup_date }}"
    fallback: DONE
"""


def test_a_flow_accepts_only_a_real_date_far_enough_ahead() -> None:
    flow = flow_from_yaml(FLOW)
    # Monday 6 May 2024: the 8th is two days ahead, the 7th is not.
    clock = FrozenClock(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    chat = Conversation(flow, clock=clock)
    for refused in ("7/5", "31/06/2024", "next week"):
        chat.send(refused)
        assert chat.state.node == "ASK_DATE", refused
    chat.send("8/5")
    assert chat.state.node == "DONE"
    assert chat.state.data["pickup_date"] == "2024-05-08"


def test_the_validator_knows_the_filter() -> None:
    load_flow_text(FLOW, "bakery.yaml")  # an unknown filter would be an error
    with pytest.raises(FlowValidationError, match="parse_dat"):
        load_flow_text(FLOW.replace("parse_date", "parse_dat"), "bakery.yaml")
