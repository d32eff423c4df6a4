"""`10:00` in any YAML botfleet reads is the text `10:00`, not YAML 1.1's base-60 600."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from botfleet.cli.chat_session import parse_data
from botfleet.domain.yaml_text import safe_load
from botfleet.flows.load import load_flow_text
from botfleet.flows.yaml_lines import load_with_lines
from botfleet.testing.engine import Conversation, flow_from_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:00", "10:00"),
        ("1:30:00", "1:30:00"),
        ("-2:30", "-2:30"),
        ("1:30.5", "1:30.5"),
        # Everything else as YAML 1.1 has it.
        ("12", 12),
        ("-3", -3),
        ("1_000", 1000),
        ("0x1F", 31),
        ("0b101", 5),
        ("010", 8),
        ("1.5", 1.5),
        ("-1.5e+3", -1500.0),
        (".inf", float("inf")),
        ("true", True),
        ("2024-05-06", date(2024, 5, 6)),
        ("~", None),
    ],
)
def test_scalars(text: str, expected: Any) -> None:
    assert safe_load(f"v: {text}") == {"v": expected}
    assert load_with_lines(f"v: {text}").data == {"v": expected}


FLOW = """
id: times
initial_state: ASK
states:
  ASK:
    on_enter:
      - action: set_data
        values: {opens: 10:00}
      - action: send_text
        text: "We open at {{ data.opens }}"
    fallback: ASK
"""


def test_a_time_in_a_flow_is_printed_as_written() -> None:
    load_flow_text(FLOW, "times.yaml")
    chat = Conversation(flow_from_yaml(FLOW))
    texts = [getattr(o, "text", "") for o in chat.send("hi").outputs]
    assert "We open at 10:00" in texts


def test_chat_data_keeps_a_time() -> None:
    assert parse_data(["appt_time=10:00", "count=3"]) == {"appt_time": "10:00", "count": 3}
