"""`settings.conversation_retention`: a duration of a day or more, not shorter than the
session (docs/flow-dsl.md, "Settings")."""

from __future__ import annotations

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.flows.load import load_flow_text

FLOW = """\
id: t
initial_state: MENU
settings:
  {settings}
states:
  MENU:
    on_enter:
      - action: set_data
        values: {{lang: es}}
    fallback: MENU
"""


def load(settings: str) -> list[tuple[int | None, str, str, str]]:
    flow = load_flow_text(FLOW.format(settings=settings.replace("\n", "\n  ")), "t.yaml")
    return [(i.line, i.path, i.severity, i.message) for i in flow.warnings]


def errors(settings: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(FlowValidationError) as raised:
        load_flow_text(FLOW.format(settings=settings), "t.yaml")
    return [(i.line, i.path, i.message) for i in raised.value.issues if i.severity == "error"]


@pytest.mark.parametrize("value", ["1d", "180d", "24h", "2d12h"])
def test_a_day_or_more_is_accepted(value: str) -> None:
    assert load(f"conversation_retention: {value}") == []


def test_under_a_day_is_an_error_naming_the_place() -> None:
    assert errors("conversation_retention: 23h") == [
        (
            4,
            "settings.conversation_retention",
            "conversation_retention '23h' is under a day: write 1d or more",
        )
    ]


@pytest.mark.parametrize("value", ["six months", "'{{ data.x }}'", "'180'"])
def test_what_is_not_a_duration_is_an_error(value: str) -> None:
    [(line, path, message)] = errors(f"conversation_retention: {value}")
    assert (line, path) == (4, "settings.conversation_retention")
    assert "invalid duration" in message


def test_shorter_than_the_session_is_a_warning() -> None:
    assert load("conversation_retention: 1d\nsession_timeout: 2d") == [
        (
            4,
            "settings.conversation_retention",
            "warning",
            "conversation_retention '1d' is shorter than session_timeout '2d': contacts are "
            "forgotten before their session ends, and session_keeps keeps nothing across; make "
            "the retention longer",
        )
    ]
    assert load("conversation_retention: 2d\nsession_timeout: 2d") == []
