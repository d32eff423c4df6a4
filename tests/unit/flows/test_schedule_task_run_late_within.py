"""`schedule_task`'s `run_late_within`: checked when the flow loads, carried on the effect."""

from __future__ import annotations

from datetime import timedelta
from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows import effects
from botfleet.flows.load import load_flow_text
from botfleet.testing.engine import Conversation, flow_from_yaml

PLACE = "states.MENU.on_enter[0].run_late_within"


def flow(schedule: str) -> str:
    """A flow whose MENU schedules `reminder` with `schedule`'s extra keys (a YAML mapping body)."""
    return (
        dedent(
            """\
        id: t
        initial_state: MENU
        tasks:
          reminder:
            - {action: send_text, text: hi}
        states:
          MENU:
            fallback: MENU
            on_enter:
              - {action: schedule_task, task: reminder, %s}
        """
        )
        % schedule
    )


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(text, "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def of(severity: str, issues: list[FlowIssue]) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in issues if i.severity == severity]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "run_late_within: invalid duration 'soon': expected a number and a unit"),
        ("-3h", "run_late_within '-3h' is negative"),
        ("0s", "run_late_within '0s' is shorter than 1s"),
        ("8d", "run_late_within '8d' is longer than the most allowed, 7d"),
        ("'{{ data.window }}'", "run_late_within '{{ data.window }}' is not a template"),
    ],
)
def test_a_bad_window_is_a_flow_error_naming_its_place(value: str, message: str) -> None:
    found = of("error", issues_of(flow(f"delay: 24h, run_late_within: {value}")))
    assert [(path, text[: len(message)]) for path, text in found] == [(PLACE, message)]


@pytest.mark.parametrize("value", ["1s", "3h", "1h30m", "7d"])
def test_a_window_from_1s_to_7d_loads_without_issue(value: str) -> None:
    assert issues_of(flow(f"delay: 7d, run_late_within: {value}")) == []


def test_a_window_longer_than_a_literal_delay_is_a_warning() -> None:
    found = issues_of(flow("delay: 10m, run_late_within: 3h"))
    assert of("error", found) == []
    [(path, message)] = of("warning", found)
    assert path == PLACE
    assert message.startswith("run_late_within '3h' is longer than the delay '10m'")


@pytest.mark.parametrize(
    "when", ["delay: '{{ data.wait }}'", "run_at: '{{ data.at }}'", "delay: 3h"]
)
def test_no_warning_when_the_delay_is_not_a_shorter_literal(when: str) -> None:
    assert of("warning", issues_of(flow(f"{when}, run_late_within: 3h"))) == []


def scheduled(schedule: str, *, validate: bool = True) -> list[effects.Effect]:
    spec = flow_from_yaml(flow(schedule), validate=validate)
    exchange = Conversation(spec).send("hi")
    return list(exchange.effects)


def test_the_effect_carries_the_window_and_none_without_one() -> None:
    [with_window] = scheduled("delay: 24h, run_late_within: 1h30m")
    [without] = scheduled("delay: 24h")
    assert isinstance(with_window, effects.ScheduleTask)
    assert isinstance(without, effects.ScheduleTask)
    assert with_window.run_late_within == timedelta(minutes=90)
    assert without.run_late_within is None


def test_an_unchecked_flow_with_a_bad_window_schedules_nothing() -> None:
    # A flow built without the static checks: the engine refuses it as it would a bad delay.
    assert scheduled("delay: 24h, run_late_within: 30d", validate=False) == []
