"""`$current`: a global transition's target only; no state may be named it; it adds no
edge to the state graph (reachability, dead ends) nor a node to the diagram."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.diagram import ANY_ID, flow_dot, flow_mermaid
from botfleet.flows.load import load_flow_text

SWITCH = "  - {condition: \"message.text == 'es'\", set_data: {lang: es}, target: $current}\n"


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(dedent(text), "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def errors(issues: list[FlowIssue]) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in issues if i.severity == "error"]


def warnings(issues: list[FlowIssue]) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in issues if i.severity == "warning"]


def flow(states: str, globals_: str = SWITCH, tasks: str = "") -> str:
    return (
        "id: t\ninitial_state: MENU\n"
        + (f"global_transitions:\n{globals_}" if globals_ else "")
        + "states:\n"
        + "".join(f"  {line}\n" for line in dedent(states).strip().splitlines())
        + tasks
    )


def test_a_global_transition_may_target_the_current_state() -> None:
    text = flow("""
        MENU:
          on_enter: [{action: send_text, text: Menu}]
          transitions: [{on_payload: book, target: DAY}]
          fallback: MENU
        DAY: {on_enter: [{action: send_text, text: Which day}], fallback: DAY}
    """)
    assert issues_of(text) == []


_CALL = "{action: invoke_connector, connector: calendar, operation: get_available_days"


@pytest.mark.parametrize(
    ("state", "path"),
    [
        (
            "{fallback: MENU, transitions: [{on_payload: a, target: $current}]}",
            "states.MENU.transitions[0].target",
        ),
        ("{fallback: $current}", "states.MENU.fallback"),
        ("{fallback: MENU, next: $current}", "states.MENU.next"),
        (
            "{fallback: MENU, next: [{condition: 'data.x', target: $current}]}",
            "states.MENU.next[0].target",
        ),
        (
            f"{{fallback: MENU, on_enter: [{_CALL}, on_error: $current}}]}}",
            "states.MENU.on_enter[0].on_error",
        ),
        (
            f"{{fallback: MENU, on_enter: [{_CALL}, on_error: {{target: $current}}}}]}}",
            "states.MENU.on_enter[0].on_error.target",
        ),
    ],
)
def test_anywhere_but_a_global_transition_it_is_an_error_naming_the_state(
    state: str, path: str
) -> None:
    assert errors(issues_of(flow(f"MENU: {state}"))) == [
        (
            path,
            "'$current' is only a global transition's target (the state the contact is in): "
            "here that is always 'MENU', so name it",
        )
    ]


def test_in_a_tasks_on_error_it_is_an_error_asking_for_a_state() -> None:
    task = f"tasks:\n  check:\n    - {_CALL}, on_error: $current}}\n"
    assert errors(issues_of(flow("MENU: {fallback: MENU}", tasks=task))) == [
        (
            "tasks.check[0].on_error",
            "'$current' is only a global transition's target (the state the contact is in): "
            "name a state here",
        )
    ]


def test_a_state_may_not_be_named_current() -> None:
    text = flow("""
        MENU:
          transitions: [{on_payload: x, target: $current}]
          fallback: MENU
        $current: {fallback: MENU}
    """)
    found = errors(issues_of(text))
    assert (
        "states.$current",
        "'$current' is reserved: as a global transition's target it means the state the "
        "contact is in; give this state another name",
    ) in found
    # Naming it does not make the target any state's: it stays refused there.
    assert [path for path, _ in found] == ["states.MENU.transitions[0].target", "states.$current"]


def test_it_makes_no_state_reachable() -> None:
    text = flow("""
        MENU: {on_enter: [{action: send_text, text: Menu}], fallback: MENU}
        LOST: {on_enter: [{action: send_text, text: Lost}], fallback: MENU}
    """)
    assert warnings(issues_of(text)) == [
        (
            "states.LOST",
            "state 'LOST' is unreachable: no transition, fallback, next or on_error leads to "
            "it from the initial state 'MENU'",
        )
    ]


def test_it_leaves_no_state_a_dead_end_is_still_one() -> None:
    text = flow("""
        MENU:
          on_enter: [{action: send_text, text: Menu}]
          transitions: [{on_payload: end, target: END}]
          fallback: MENU
        END: {on_enter: [{action: send_text, text: Bye}]}
    """)
    assert warnings(issues_of(text)) == [
        (
            "states.END",
            "state 'END' can never be left: it has no transitions, fallback or next and its "
            "global_transitions only enter it again ($current) (fine only for a final state)",
        )
    ]


def test_another_global_transition_still_leaves_every_state() -> None:
    text = flow(
        """
        MENU:
          on_enter: [{action: send_text, text: Menu}]
          transitions: [{on_payload: end, target: END}]
          fallback: MENU
        END: {on_enter: [{action: send_text, text: Bye}]}
        """,
        globals_=SWITCH + "  - {on_payload: menu, target: MENU}\n",
    )
    assert warnings(issues_of(text)) == []


def test_the_diagram_loops_it_on_the_any_state_node() -> None:
    spec = load_flow_text(flow("MENU: {fallback: MENU}"), "t.yaml").spec
    mermaid = flow_mermaid(spec)
    assert f"    {ANY_ID} -->|\"if message.text == 'es'\"| {ANY_ID}" in mermaid
    assert "$current" not in mermaid
    assert "state_" not in mermaid  # no node made up for it
    assert f'  "{ANY_ID}" -> "{ANY_ID}" [label="if message.text == \'es\'"];' in flow_dot(spec)
