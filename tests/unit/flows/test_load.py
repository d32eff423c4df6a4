"""Loading flows: YAML with lines, schema errors in DSL notation, every problem at once."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import Flow, load_flow, load_flow_text

FLOWS = Path(__file__).parents[2] / "fixtures" / "flows"
SOURCE = "flows/x.yaml"
#: What a number where a text goes is told (`_schema_errors`).
QUOTE_NUMBER = ": YAML reads a number without quotes as a number; put the text in quotes"


def load_errors(text: str) -> list[FlowIssue]:
    with pytest.raises(FlowValidationError) as info:
        load_flow_text(dedent(text), SOURCE)
    return [i for i in info.value.issues if i.severity == "error"]


def located(issues: list[FlowIssue]) -> list[tuple[int | None, str, str]]:
    return [(i.line, i.path, i.message) for i in issues]


def test_seed_readme_flow_fails_only_on_its_two_undefined_states() -> None:
    with pytest.raises(FlowValidationError) as info:
        load_flow(FLOWS / "seed_my_flow_v1.yaml")
    errors = [i for i in info.value.issues if i.severity == "error"]
    assert located(errors) == [
        (23, "states.MENU.transitions[1].target", "unknown state 'CANCEL_SELECT'"),
        (42, "states.BOOK_SELECT_SERVICE.transitions[0].target", "unknown state 'BOOK_CONFIRM'"),
    ]
    assert str(errors[0]) == (
        f"{FLOWS / 'seed_my_flow_v1.yaml'}:23 states.MENU.transitions[1].target: "
        "unknown state 'CANCEL_SELECT'"
    )
    assert "2 error(s)" in str(info.value)


def test_completed_seed_flow_loads_clean() -> None:
    flow = load_flow(FLOWS / "seed_my_flow_v1_complete.yaml")
    assert isinstance(flow, Flow)
    assert flow.spec.id == "my_flow_v1"
    assert flow.spec.initial_state == "MENU"
    assert set(flow.spec.states) == {"MENU", "BOOK_SELECT_SERVICE", "BOOK_CONFIRM", "CANCEL_SELECT"}
    assert flow.warnings == ()
    assert flow.source == str(FLOWS / "seed_my_flow_v1_complete.yaml")
    assert flow.line_of("states.MENU.transitions[1].target") == 23
    assert flow.line_of("states.MENU.on_enter[0].buttons[1].title") == 18
    # A path that is not in the file falls back to its nearest parent.
    assert flow.line_of("states.MENU.on_enter[0].text") == 12


def test_issue_message_format_names_file_line_and_path() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: MENU
        states:
          MENU:
            transitions:
              - on_payload: a
                target: MENU
              - on_payload: b
                target: MENUU
        """
    )
    assert [str(e) for e in errors] == [
        "flows/x.yaml:9 states.MENU.transitions[1].target: "
        "unknown state 'MENUU' (did you mean 'MENU'?)"
    ]


def test_three_distinct_errors_are_reported_at_once_with_their_lines() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: START
        states:
          MENU:
            on_enter:
              - action: send_text
                text: "Hi {{ data.name "
            transitions:
              - on_payload_prefix: "day_"
                extract_suffix_as: day
                target: NOWHERE
              - on_payload: "x"
                extract_suffix_as: other
                target: MENU
            fallback: MENU
        """
    )
    assert located(errors) == [
        (2, "initial_state", "unknown state 'START'"),
        (7, "states.MENU.on_enter[0].text", errors[1].message),
        (11, "states.MENU.transitions[0].target", "unknown state 'NOWHERE'"),
        (
            13,
            "states.MENU.transitions[1].extract_suffix_as",
            "extract_suffix_as needs on_payload_prefix (the suffix is what follows it)",
        ),
    ]
    assert errors[1].message.startswith("template syntax error:")


def test_schema_errors_do_not_hide_the_other_errors() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: MENU
        settings:
          eror_text: "Sorry"
        states:
          MENU:
            on_enter:
              - action: send_text
                text: "Hi {{ data.name "
            transitions:
              - on_payload: a
                target: MENUU
        """
    )
    assert [str(e) for e in errors] == [
        "flows/x.yaml:4 settings.eror_text: unknown key 'eror_text' (did you mean 'error_text'?)",
        f"flows/x.yaml:9 states.MENU.on_enter[0].text: {errors[1].message}",
        "flows/x.yaml:12 states.MENU.transitions[0].target: unknown state 'MENUU' "
        "(did you mean 'MENU'?)",
    ]
    assert errors[1].message.startswith("template syntax error:")


def test_what_the_schema_rejects_is_left_out_without_inventing_errors() -> None:
    with pytest.raises(FlowValidationError) as info:
        load_flow_text(
            dedent(
                """\
                id: x
                initial_state: A
                tasks:
                  remind:
                    - action: send_txt
                      text: hi
                states:
                  A:
                    on_enter:
                      - action: send_text
                      - action: send_text
                        text: "{{ broken "
                      - action: schedule_task
                        task: remind
                        delay: 1h
                    transitions:
                      - on_payload_prefix: [day_]
                        extract_suffix_as: day
                        target: B
                      - on_payload: c
                        target: C
                      - target: NOWHERE
                  B:
                    llm_fallback: maybe
                    fallback: A
                  C: [fallback, A]
                """
            ),
            SOURCE,
        )
    issues = info.value.issues
    # The later errors keep their own paths and lines although the items before them are
    # left out; the state B and C and the task they reference are still known; no warning
    # comes from the flow with parts left out (B and C would look unreachable, C a dead end).
    assert [(i.line, i.path) for i in issues] == [
        (5, "tasks.remind[0].action"),
        (10, "states.A.on_enter[0].text"),
        (12, "states.A.on_enter[1].text"),
        (17, "states.A.transitions[0].on_payload_prefix"),
        (22, "states.A.transitions[2].target"),
        (24, "states.B.llm_fallback"),
        (26, "states.C"),
    ]
    assert issues[2].message.startswith("template syntax error:")
    assert issues[4].message == "unknown state 'NOWHERE'"


def test_errors_the_parts_left_out_would_cause_are_not_reported() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: A
        tasks:
          later: {action: send_text, text: hi}
        states:
          A:
            on_enter:
              - action: schedule_task
                task: later
                delay: 1h
            next:
              - target: 5
              - target: B
          B:
            next: A
        """
    )
    # The task is emptied, not removed: no "unknown task 'later'". Without the first branch,
    # A's `next` would always go to B, and B's back to A: that loop is not the author's.
    assert located(errors) == [
        (
            4,
            "tasks.later",
            "expected a list, got a mapping: start each item with `- `, at the same column",
        ),
        (
            12,
            "states.A.next[0].target",
            "expected a string, got the number 5" + QUOTE_NUMBER,
        ),
    ]


def test_a_part_left_out_that_breaks_its_container_takes_the_container_too() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: A
        tasks:
          t: []
        standing_schedules:
          nightly:
            task: t
            cron: 5
        states:
          A:
            fallback: NOWHERE
        """
    )
    # Without its cron, `nightly` breaks a rule (cron or interval): it is left out whole,
    # and that rule, a consequence, is not reported.
    assert located(errors) == [
        (
            8,
            "standing_schedules.nightly.cron",
            "expected a string, got the number 5" + QUOTE_NUMBER,
        ),
        (11, "states.A.fallback", "unknown state 'NOWHERE'"),
    ]


def test_static_checks_need_the_states_and_the_initial_state() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: [A]
        states:
          A:
            fallback: NOWHERE
        """
    )
    assert located(errors) == [(2, "initial_state", "expected a string, got a list")]


def test_schema_errors_are_all_reported_in_dsl_notation() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: MENU
        states:
          MENU:
            on_enter:
              - action: send_txt
                text: hi
              - action: send_text
              - text: no action here
            tranistions: []
            llm_fallback: maybe
        """
    )
    assert located(errors) == [
        (
            6,
            "states.MENU.on_enter[0].action",
            "unknown action 'send_txt' (did you mean 'send_text'?) (known: send_text, "
            "send_interactive_buttons, send_interactive_list, send_dynamic_options, "
            "invoke_connector, schedule_task, cancel_task, send_template, set_data)",
        ),
        (8, "states.MENU.on_enter[1].text", "missing required key 'text'"),
        (9, "states.MENU.on_enter[2].action", "missing required key 'action'"),
        (
            10,
            "states.MENU.tranistions",
            "unknown key 'tranistions' (did you mean 'transitions'?)",
        ),
        (11, "states.MENU.llm_fallback", "expected true or false, got the text 'maybe'"),
    ]


def test_a_key_and_value_without_colon_or_space_is_explained() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: A
        states:
          A:
            on_enter:
              - action send_text
            transitions:
              - target:A
          B:
            fallback A
        """
    )
    assert located(errors) == [
        (
            6,
            "states.A.on_enter[0]",
            "expected a mapping, got the text 'action send_text' "
            "(is a `:` missing? write `action: send_text`)",
        ),
        (
            8,
            "states.A.transitions[0]",
            "expected a mapping, got the text 'target:A' "
            "(is a space after the `:` missing? write `target: A`)",
        ),
        (
            9,
            "states.B",
            "expected a mapping, got the text 'fallback A' (is a `:` missing? write `fallback: A`)",
        ),
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: MENU
        states:
          MENU:
            transitions:
              - target: MENU
                when: always
        """
    )
    assert located(errors) == [
        (
            7,
            "states.MENU.transitions[0].when",
            "unknown key 'when' (allowed: target, on_payload, on_payload_prefix, "
            "extract_suffix_as, on_type, condition, set_data)",
        )
    ]


def test_missing_top_level_keys_point_at_the_document() -> None:
    errors = load_errors("id: x\nstates:\n  A: {}\n")
    assert located(errors) == [(1, "initial_state", "missing required key 'initial_state'")]


def test_union_errors_name_the_member_the_author_meant() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: A
        states:
          A:
            on_enter:
              - action: invoke_connector
                connector: calendar
                operation: get_available_days
                on_error: {text: "sorry", tagret: A}
              - action: invoke_connector
                connector: calendar
                operation: get_available_days
                on_error: 5
            fallback: A
          B:
        """
    )
    assert located(errors) == [
        (
            9,
            "states.A.on_enter[0].on_error.tagret",
            "unknown key 'tagret' (did you mean 'target'?)",
        ),
        (
            13,
            "states.A.on_enter[1].on_error",
            "expected a string or a mapping, got the number 5" + QUOTE_NUMBER,
        ),
        (15, "states.B", "expected a mapping, got an empty value"),
    ]


def test_model_level_rules_keep_their_message() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: A
        tasks:
          t:
            - action: send_text
              text: hi
        states:
          A:
            on_enter:
              - action: schedule_task
                task: t
            fallback: A
        """
    )
    assert located(errors) == [
        (10, "states.A.on_enter[0]", "give exactly one of 'run_at' or 'delay'"),
    ]


def test_malformed_yaml_is_one_issue_with_the_parser_line() -> None:
    with pytest.raises(FlowValidationError) as info:
        load_flow_text("id: x\nstates:\n  A:\n\ton_enter: []\n", SOURCE)
    (issue,) = info.value.issues
    assert issue.line == 4
    assert issue.source == SOURCE
    assert str(issue) == (
        "flows/x.yaml:4 states.A: invalid YAML: this line is indented with a tab: YAML needs "
        "spaces: replace the tab"
    )


def test_an_unquoted_template_is_explained_with_the_fix() -> None:
    with pytest.raises(FlowValidationError) as info:
        load_flow_text(
            dedent(
                """\
                id: x
                initial_state: A
                states:
                  A:
                    on_enter:
                      - action: send_text
                        text: {{ data.x }}
                    fallback: A
                """
            ),
            SOURCE,
        )
    assert [str(i) for i in info.value.issues] == [
        "flows/x.yaml:7 states.A.on_enter[0].text: invalid YAML: `{{` starts a YAML mapping "
        'here: put the template in quotes: text: "{{ data.x }}"'
    ]


def test_duplicate_keys_are_errors_reported_with_the_other_problems() -> None:
    errors = load_errors(
        """\
        id: x
        initial_state: MENU
        states:
          MENU:
            fallback: MENU
            transitions:
              - target: ELSEWHERE
          MENU:
            fallback: MENU
        """
    )
    assert located(errors) == [
        (8, "states.MENU", "duplicate key 'MENU' (first defined on line 4)"),
    ]
    errors = load_errors(
        """\
        id: x
        initial_state: MENU
        states:
          MENU:
            fallback: MENU
            fallback: MENUU
        """
    )
    assert located(errors) == [
        (6, "states.MENU.fallback", "duplicate key 'fallback' (first defined on line 5)"),
        (6, "states.MENU.fallback", "unknown state 'MENUU' (did you mean 'MENU'?)"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the flow is empty (expected a mapping with id, initial_state, states)"),
        ("- a\n- b\n", "expected a mapping, got a list"),
        ("just text\n", "expected a mapping, got the text 'just text'"),
    ],
)
def test_a_document_that_is_not_a_mapping_is_one_clear_error(text: str, message: str) -> None:
    assert [(i.path, i.message) for i in load_errors(text)] == [("", message)]


def test_unquoted_dates_are_explained() -> None:
    errors = load_errors("id: 2024-01-08\ninitial_state: A\nstates:\n  A: {fallback: A}\n")
    assert located(errors) == [
        (1, "id", "expected a string, got the date/time 2024-01-08 (quote it to make it text)")
    ]


def test_warnings_alone_do_not_stop_loading() -> None:
    flow = load_flow_text(
        dedent(
            """\
            id: x
            initial_state: A
            states:
              A: {fallback: A}
              ORPHAN: {fallback: A}
            """
        ),
        SOURCE,
    )
    assert [(w.severity, w.line, w.path) for w in flow.warnings] == [
        ("warning", 5, "states.ORPHAN"),
    ]


def test_errors_carry_the_warnings_too_in_file_order() -> None:
    with pytest.raises(FlowValidationError) as info:
        load_flow_text(
            dedent(
                """\
                id: x
                initial_state: A
                states:
                  A: {fallback: AA}
                  ORPHAN: {fallback: A}
                """
            ),
            SOURCE,
        )
    assert [(i.severity, i.line) for i in info.value.issues] == [("error", 4), ("warning", 5)]
    assert "[warning]" not in str(info.value)


def test_known_connectors_and_operations_are_passed_to_the_validator() -> None:
    text = dedent(
        """\
        id: x
        initial_state: A
        states:
          A:
            on_enter:
              - action: invoke_connector
                connector: crm
                operation: find
            fallback: A
        """
    )
    with pytest.raises(FlowValidationError, match="unknown connector 'crm'"):
        load_flow_text(text)
    flow = load_flow_text(text, known_connectors=frozenset({"crm"}))
    assert flow.warnings == ()
    with pytest.raises(FlowValidationError, match="unknown operation 'find'"):
        load_flow_text(
            text,
            known_connectors=frozenset({"crm"}),
            known_operations={"crm": frozenset({"lookup"})},
        )


def test_load_flow_names_the_file_and_refuses_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"id: caf\xe9\n")
    with pytest.raises(FlowValidationError) as info:
        load_flow(path)
    assert info.value.issues[0].source == str(path)
    assert "not UTF-8" in info.value.issues[0].message
    with pytest.raises(FileNotFoundError):
        load_flow(tmp_path / "missing.yaml")


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=8)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "states", "MENU", "target", "action", "x"]), inner)
    ),
    max_leaves=12,
)


_yamlish = st.text(alphabet="ab:-\n {}[]&*!#<>|'\"~019.", max_size=60)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60) | _yamlish | _values.map(yaml.safe_dump))
def test_any_text_loads_or_fails_with_located_issues(text: str) -> None:
    try:
        flow = load_flow_text(text, SOURCE)
    except FlowValidationError as exc:
        assert any(i.severity == "error" for i in exc.issues)
        assert all(i.source == SOURCE for i in exc.issues)
    else:
        assert flow.spec.initial_state in flow.spec.states
