"""The validator on `llm_unanswered`: a target like any other (unknown: an error with its line
and a did-you-mean; it makes its state reachable), a warning where it can never fire, and the
state graph and coverage list it."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.cli.coverage import flow_inventory
from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.diagram import flow_dot, flow_edges, flow_mermaid
from botfleet.flows.load import load_flow_text


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(dedent(text), "school.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def flow(faq: str) -> str:
    return (
        "id: school\n"
        "initial_state: FAQ\n"
        "states:\n"
        "  FAQ:\n"
        "    on_enter: [{action: send_text, text: Ask away}]\n"
        "    fallback: FAQ\n"
        + "".join(f"    {line}\n" for line in dedent(faq).strip().splitlines())
        + "  HANDOFF_ASK:\n"
        "    on_enter: [{action: send_text, text: 'Shall I pass you to a person?'}]\n"
        "    fallback: FAQ\n"
    )


def test_a_state_reached_only_by_llm_unanswered_is_reachable_and_all_is_well() -> None:
    text = flow("""
        llm_fallback: true
        llm_unanswered: HANDOFF_ASK
        llm_unanswered_after: 2
    """)
    assert issues_of(text) == []
    # Without it, HANDOFF_ASK is unreachable: the edge is what reaches it.
    without = [str(i) for i in issues_of(flow("llm_fallback: true"))]
    assert without == [
        "school.yaml:8 states.HANDOFF_ASK: [warning] state 'HANDOFF_ASK' is unreachable: no "
        "transition, fallback, next or on_error leads to it from the initial state 'FAQ'"
    ]


def test_an_unknown_target_is_an_error_with_its_line_and_a_suggestion() -> None:
    issues = issues_of(
        flow("""
        llm_fallback: true
        llm_unanswered: HANDOF_ASK
    """)
    )
    assert [str(i) for i in issues if i.severity == "error"] == [
        "school.yaml:8 states.FAQ.llm_unanswered: unknown state 'HANDOF_ASK' "
        "(did you mean 'HANDOFF_ASK'?)"
    ]


def test_current_is_refused_there_as_in_any_states_own_target() -> None:
    issues = issues_of(
        flow("""
        llm_fallback: true
        llm_unanswered: $current
    """)
    )
    [error] = [i for i in issues if i.severity == "error"]
    assert error.path == "states.FAQ.llm_unanswered"
    assert "here that is always 'FAQ', so name it" in error.message


def test_without_llm_fallback_it_is_a_warning() -> None:
    issues = issues_of(flow("llm_unanswered: HANDOFF_ASK"))
    assert [str(i) for i in issues] == [
        "school.yaml:7 states.FAQ.llm_unanswered: [warning] llm_unanswered is never entered: "
        "state 'FAQ' does not ask the LLM; add `llm_fallback: true` to it"
    ]


def test_a_count_without_a_state_to_enter_is_a_warning() -> None:
    issues = issues_of(
        flow("""
        llm_fallback: true
        llm_unanswered_after: 2
    """)
    )
    assert [
        (i.severity, i.path, i.line) for i in issues if "llm_unanswered_after" in i.message
    ] == [("warning", "states.FAQ.llm_unanswered_after", 8)]


@pytest.mark.parametrize("after", ["0", "-1", "two", "101"])
def test_the_count_is_a_whole_number_from_1(after: str) -> None:
    issues = issues_of(
        flow(f"""
        llm_fallback: true
        llm_unanswered: HANDOFF_ASK
        llm_unanswered_after: {after}
    """)
    )
    [error] = [i for i in issues if i.severity == "error"]
    assert error.path == "states.FAQ.llm_unanswered_after"
    assert error.line == 9


def test_the_graph_and_coverage_list_it() -> None:
    spec = load_flow_text(
        flow("""
        llm_fallback: true
        llm_unanswered: HANDOFF_ASK
    """),
        "school.yaml",
    ).spec
    [edge] = [e for e in flow_edges(spec) if e.path == "states.FAQ.llm_unanswered"]
    assert (edge.source, edge.target, edge.label) == ("FAQ", "HANDOFF_ASK", "LLM unanswered")
    assert 'FAQ -.->|"LLM unanswered"| HANDOFF_ASK' in flow_mermaid(spec)
    assert '"FAQ" -> "HANDOFF_ASK" [label="LLM unanswered", style=dashed];' in flow_dot(spec)
    _, transitions = flow_inventory(spec)
    assert transitions == [
        "states.FAQ.llm_fallback",
        "states.FAQ.fallback",
        "states.FAQ.llm_unanswered",
        "states.HANDOFF_ASK.fallback",
    ]
