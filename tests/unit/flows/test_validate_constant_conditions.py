"""A condition no turn can change: `condition: "true"` as a catch-all shadows what follows as a
transition without one does; an always-false one never fires; an always-true one beside a
trigger checks nothing. Each a warning with its place."""

from __future__ import annotations

import pytest

from botfleet.flows._constant_conditions import constant_truth
from botfleet.flows.load import load_flow_text

HEADER = (
    "id: x\ninitial_state: A\nstates:\n  A:\n    on_enter:\n      - {action: send_text, text: hi}\n"
)


def warnings(transitions: str) -> list[tuple[int | None, str, str]]:
    text = HEADER + "    transitions:\n" + transitions + "    fallback: A\n"
    spec = load_flow_text(text, "t.yaml")
    return [(w.line, w.path, w.message) for w in spec.warnings]


@pytest.mark.parametrize(
    ("condition", "truth"),
    [
        ("true", True),
        ("false", False),
        ("data.lang or true", True),
        ("data.lang and false", False),
        ("not (data.x or true)", False),
        ("1 == 2", False),
        ("'yes'", True),
        ("[data.x]", True),
        ("{{ true }}", True),
        ("data.lang", None),
        ("data.x or false", None),
        ("true and data.x", None),
        ("message.text | length > 3", None),
        ("1 +", None),  # a syntax error: its own check says so
    ],
)
def test_constant_truth(condition: str, truth: bool | None) -> None:
    assert constant_truth(condition) is truth


def test_an_always_true_condition_without_a_trigger_shadows_what_follows() -> None:
    found = warnings(
        '      - {condition: "data.lang or true", target: A}\n      - {on_payload: go, target: A}\n'
    )
    assert found == [
        (
            9,
            "states.A.transitions[1]",
            "can never fire: transitions[0] above it has no trigger and the condition "
            "'data.lang or true', always true, so it matches every message first",
        )
    ]


def test_an_always_false_condition_never_fires() -> None:
    found = warnings('      - {on_payload: go, condition: "false", target: A}\n')
    assert found == [
        (
            8,
            "states.A.transitions[0].condition",
            "can never fire: 'false' is always false, whatever the turn",
        )
    ]


def test_an_always_true_condition_beside_a_trigger_checks_nothing() -> None:
    (found,) = warnings('      - {on_payload: go, condition: "true", target: A}\n')
    assert found[1] == "states.A.transitions[0].condition"
    assert found[2].startswith("'true' is always true, whatever the turn: it checks nothing")


def test_a_condition_a_turn_decides_is_not_warned_about() -> None:
    assert warnings("      - {condition: \"data.lang == 'pt'\", target: A}\n") == []
