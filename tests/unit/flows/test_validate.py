"""Static validation rules: one flow breaking each rule, with the issue's path and line."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent, indent
from typing import Any

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import FlowSpec
from botfleet.flows.validate import DEFAULT_CONNECTOR_CATEGORIES, validate_spec

REPO = Path(__file__).resolve().parents[3]
HEADER = """\
id: t
initial_state: MENU
"""


def issues_of(text: str, **options: Any) -> list[FlowIssue]:
    """Every issue of a flow, whether it loads (warnings) or not (errors and warnings)."""
    try:
        return list(load_flow_text(dedent(text), "t.yaml", **options).warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def flow_with_states(states: str, top: str = "") -> str:
    """A flow whose `states:` block is `states` (written at column 0)."""
    block = indent(dedent(states), "  ")
    return HEADER + dedent(top) + "states:\n" + block + ("" if block.endswith("\n") else "\n")


def errors(issues: list[FlowIssue]) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in issues if i.severity == "error"]


def warnings(issues: list[FlowIssue]) -> list[tuple[str, str]]:
    return [(i.path, i.message) for i in issues if i.severity == "warning"]


def channel_warnings(issues: list[FlowIssue]) -> list[tuple[str, str]]:
    """The warnings about channel limits (`menu_with`'s options are matched by no transition)."""
    return [w for w in warnings(issues) if "matched by no transition" not in w[1]]


def menu_with(actions: str) -> str:
    """A one-state flow whose MENU runs `actions` (a YAML list at column 0)."""
    on_enter = indent(dedent(actions), "    ")
    return flow_with_states("MENU:\n  fallback: MENU\n  on_enter:\n" + on_enter)


# ---------------------------------------------------------------- states and targets


@pytest.mark.parametrize(
    ("states", "top", "path"),
    [
        ("MENU: {fallback: MENUU}", "", "states.MENU.fallback"),
        ("MENU: {fallback: MENU, next: MENUU}", "", "states.MENU.next"),
        (
            "MENU: {fallback: MENU, transitions: [{on_payload: a, target: MENUU}]}",
            "",
            "states.MENU.transitions[0].target",
        ),
        (
            "MENU: {fallback: MENU}",
            "global_transitions:\n  - {on_payload: back, target: MENUU}\n",
            "global_transitions[0].target",
        ),
        (
            "MENU:\n  fallback: MENU\n  on_enter:\n"
            "    - {action: invoke_connector, connector: calendar, operation: cancel_event,"
            " on_error: MENUU}\n",
            "",
            "states.MENU.on_enter[0].on_error",
        ),
        (
            "MENU:\n  fallback: MENU\n  on_enter:\n"
            "    - action: invoke_connector\n      connector: calendar\n"
            "      operation: cancel_event\n"
            "      on_error: {text: sorry, target: MENUU}\n",
            "",
            "states.MENU.on_enter[0].on_error.target",
        ),
    ],
)
def test_every_kind_of_target_must_name_a_state(states: str, top: str, path: str) -> None:
    found = errors(issues_of(flow_with_states(states, top)))
    assert found == [(path, "unknown state 'MENUU' (did you mean 'MENU'?)")]


def test_unknown_target_far_from_any_name_gets_no_suggestion() -> None:
    found = errors(issues_of(flow_with_states("MENU: {fallback: CHECKOUT}")))
    assert found == [("states.MENU.fallback", "unknown state 'CHECKOUT'")]


def test_initial_state_must_exist() -> None:
    text = "id: t\ninitial_state: MENUS\nstates:\n  MENU: {fallback: MENU}\n"
    found = issues_of(text)
    assert errors(found) == [("initial_state", "unknown state 'MENUS' (did you mean 'MENU'?)")]
    assert found[0].line == 2
    assert warnings(found) == []  # no "unreachable" noise while the start is unknown


def test_unreachable_states_are_warnings() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU: {fallback: MENU, transitions: [{on_payload: a, target: A}]}
            A: {next: B}
            B: {fallback: MENU}
            ISLAND: {fallback: LAGOON}
            LAGOON: {fallback: ISLAND}
            """
        )
    )
    assert errors(found) == []
    assert [(i.path, i.line) for i in found] == [("states.ISLAND", 7), ("states.LAGOON", 8)]
    assert "unreachable" in found[0].message
    assert "'MENU'" in found[0].message


def test_global_transition_and_task_error_targets_count_as_reachable() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU: {fallback: MENU}
            HELP: {fallback: MENU}
            APOLOGY: {fallback: MENU}
            """,
            top="""\
            global_transitions:
              - {on_payload: help, target: HELP}
            tasks:
              ping:
                - {action: invoke_connector, connector: mock, operation: get, on_error: APOLOGY}
            """,
        )
    )
    assert found == []


def test_dead_end_states_are_warnings_unless_global_transitions_exist() -> None:
    states = """\
        MENU: {transitions: [{on_payload: bye, target: DONE}], fallback: MENU}
        DONE:
          on_enter:
            - {action: send_text, text: Bye}
        """
    found = issues_of(flow_with_states(states))
    assert errors(found) == []
    assert [(i.path, i.line) for i in found] == [("states.DONE", 5)]
    assert "can never be left" in found[0].message
    top = "global_transitions:\n  - {on_payload: menu, target: MENU}\n"
    assert issues_of(flow_with_states(states, top)) == []


def test_a_waiting_state_without_fallback_is_a_warning() -> None:
    """A message no transition matches gets the error text there: say so, and how to ask again."""
    states = """\
        MENU:
          on_enter: [{action: send_text, text: Hi}]
          transitions: [{on_payload: book, target: MENU}]
        """
    [found] = issues_of(flow_with_states(states))
    assert (found.severity, found.path, found.line) == ("warning", "states.MENU.fallback", 4)
    assert "add `fallback: MENU` to ask again" in found.message
    quiet = [
        "MENU: {transitions: [{on_payload: book, target: MENU}], fallback: MENU}",
        "MENU: {transitions: [{on_payload: book, target: MENU}, {target: MENU}]}",
        "MENU: {transitions: [{on_payload: book, target: MENU}], llm_fallback: true}",
        "MENU: {fallback: MENU}\n"
        "M1: {transitions: [{on_payload: book, target: MENU}], next: M2}\nM2: {fallback: M2}",
    ]
    for text in quiet:
        assert [i for i in issues_of(flow_with_states(text)) if "no fallback" in i.message] == []
    # The initial state is another matter: a new contact's first message is matched there,
    # without its on_enter or next, and nothing it has answers it.
    greeter = "MENU: {on_enter: [{action: send_text, text: Hi}], next: M2}\nM2: {fallback: M2}"
    [found] = [i for i in issues_of(flow_with_states(greeter)) if "no fallback" in i.message]
    assert found.path == "states.MENU.fallback"
    assert "a new contact is placed in 'MENU' without its on_enter or next" in found.message
    catch_all = "global_transitions:\n  - {target: MENU}\n"
    assert issues_of(flow_with_states(states, catch_all)) == []


def test_unconditional_next_loops_are_errors() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU: {fallback: MENU, transitions: [{on_payload: a, target: A}]}
            A: {next: B}
            B: {next: A}
            SELF: {next: SELF}
            """,
            top="global_transitions:\n  - {on_payload: self, target: SELF}\n",
        )
    )
    assert errors(found) == [
        ("states.A.next", "'next' loops forever: A -> B -> A"),
        ("states.SELF.next", "'next' loops forever: SELF -> SELF"),
    ]
    assert [i.line for i in found] == [7, 9]


def test_next_chain_without_a_loop_is_fine() -> None:
    found = issues_of(
        flow_with_states("MENU: {fallback: MENU, next: A}\nA: {next: B}\nB: {fallback: MENU}\n")
    )
    assert found == []


def test_transitions_after_a_catch_all_can_never_fire() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              on_enter: [{action: send_text, text: Hi}]
              transitions:
                - {on_payload: a, target: MENU}
                - {condition: "data.vip", target: MENU}
                - {target: MENU}
                - {on_payload: b, target: MENU}
                - {on_type: text, target: MENU}
            """
        )
    )
    assert [(i.severity, i.path, i.line) for i in found] == [
        ("warning", "states.MENU.transitions[3]", 10),
        ("warning", "states.MENU.transitions[4]", 11),
    ]
    assert "transitions[2] above it" in found[0].message


# ---------------------------------------------------------------- options and channel limits


def test_duplicate_button_ids_are_errors() -> None:
    found = issues_of(
        menu_with(
            """\
            - action: send_interactive_buttons
              body: Pick
              buttons:
                - {id: a, title: A}
                - {id: b, title: B}
                - {id: a, title: C}
            """
        )
    )
    assert errors(found) == [
        (
            "states.MENU.on_enter[0].buttons[2].id",
            "duplicate button id 'a' (already used by buttons[0])",
        )
    ]
    assert [i.line for i in found if i.severity == "error"] == [12]


def test_duplicate_template_ids_are_compared_as_written() -> None:
    found = issues_of(
        menu_with(
            """\
            - action: send_interactive_buttons
              body: Pick
              buttons:
                - {id: "hour_{{ data.a }}", title: A}
                - {id: "hour_{{ data.b }}", title: B}
                - {id: "hour_{{ data.a }}", title: C}
            """
        )
    )
    assert errors(found) == [
        (
            "states.MENU.on_enter[0].buttons[2].id",
            "duplicate button id 'hour_{{ data.a }}' (already used by buttons[0])",
        )
    ]


def test_duplicate_row_ids_across_sections_are_errors() -> None:
    found = issues_of(
        menu_with(
            """\
            - action: send_interactive_list
              body: Pick
              sections:
                - title: S1
                  rows: [{id: a, title: A}]
                - title: S2
                  rows: [{id: b, title: B}, {id: a, title: C}]
            """
        )
    )
    assert errors(found) == [
        (
            "states.MENU.on_enter[0].sections[1].rows[1].id",
            "duplicate row id 'a' (already used by sections[0].rows[0])",
        )
    ]


def test_whatsapp_button_limits_are_warnings_saying_what_whatsapp_gets() -> None:
    found = issues_of(
        menu_with(
            """\
            - action: send_interactive_buttons
              body: Pick
              buttons:
                - {id: a, title: "A title that is too long"}
                - {id: b, title: "{{ data.long_name_that_may_be_fine }}"}
                - {id: c, title: C}
                - {id: d, title: D}
            """
        )
    )
    assert errors(found) == []
    assert channel_warnings(found) == [
        (
            "states.MENU.on_enter[0].buttons",
            "4 buttons: WhatsApp shows at most 3, so it gets them as a list (one button that "
            "opens the choices); keep 3 buttons, or use send_interactive_list to write the "
            "list yourself",
        ),
        # No title warning: as the list's rows they are cut at 24, which this title fits.
    ]
    as_buttons = issues_of(
        menu_with(
            """\
            - action: send_interactive_buttons
              body: Pick
              buttons:
                - {id: a, title: "A title that is too long"}
                - {id: c, title: C}
            """
        )
    )
    assert channel_warnings(as_buttons) == [
        (
            "states.MENU.on_enter[0].buttons",
            "a title of 24 characters: WhatsApp shows at most 20 on a button, so it gets these "
            "buttons as a list (one button that opens the choices), each title shown whole (a "
            "row shows 24, the rest under it); keep titles to 20 characters for buttons",
        ),
    ]


def test_more_buttons_than_a_whatsapp_list_holds_become_numbered_text() -> None:
    buttons = "\n".join(f"    - {{id: b{i}, title: B{i}}}" for i in range(11))
    found = issues_of(
        menu_with(f"- action: send_interactive_buttons\n  body: Pick\n  buttons:\n{buttons}\n")
    )
    assert channel_warnings(found) == [
        (
            "states.MENU.on_enter[0].buttons",
            "11 buttons: WhatsApp shows at most 3 buttons and 10 list rows, so it gets them as "
            "numbered text, answered by typing a number; keep 3 buttons, or split the choice "
            "in two steps",
        )
    ]


def test_whatsapp_list_limits_are_warnings_saying_what_whatsapp_gets() -> None:
    rows = "\n".join(f"        - {{id: r{i}, title: Row {i}}}" for i in range(10))
    found = issues_of(
        menu_with(
            f"""\
- action: send_interactive_list
  body: Pick
  sections:
    - title: First
      rows:
        - id: long
          title: "A row title over twenty-four"
          description: "{"d" * 73}"
{rows}
"""
        )
    )
    assert errors(found) == []
    assert channel_warnings(found) == [
        (
            "states.MENU.on_enter[0].sections",
            "11 rows in all: WhatsApp lists hold at most 10, so it gets them as numbered "
            "text, answered by typing a number; keep 10 rows, e.g. by splitting the choice in "
            "two steps",
        ),
        (
            "states.MENU.on_enter[0].sections[0].rows[0].title",
            "28 characters: WhatsApp shows at most 24, so it gets 'A row title over twenty…'",
        ),
        (
            "states.MENU.on_enter[0].sections[0].rows[0].description",
            f"73 characters: WhatsApp shows at most 72, so it gets '{'d' * 71}…'",
        ),
    ]


# ---------------------------------------------------------------- transitions, connectors


def test_extract_suffix_as_needs_a_prefix() -> None:
    found = issues_of(
        flow_with_states(
            "MENU:\n  fallback: MENU\n  transitions:\n"
            "    - {on_payload: day_1, extract_suffix_as: day, target: MENU}\n"
        )
    )
    assert errors(found) == [
        (
            "states.MENU.transitions[0].extract_suffix_as",
            "extract_suffix_as needs on_payload_prefix (the suffix is what follows it)",
        )
    ]


def test_default_connector_categories() -> None:
    # `llm` is not a connector, and no `http` category exists (docs/connectors.md, "Types").
    assert frozenset({"calendar", "notification", "mock"}) == DEFAULT_CONNECTOR_CATEGORIES


def test_unknown_connector_is_an_error_with_a_suggestion() -> None:
    found = issues_of(menu_with("- {action: invoke_connector, connector: calendr, operation: x}\n"))
    assert errors(found) == [
        (
            "states.MENU.on_enter[0].connector",
            "unknown connector 'calendr' (did you mean 'calendar'?) "
            "(known: calendar, mock, notification)",
        )
    ]


def test_operations_given_replace_those_of_their_category() -> None:
    text = menu_with("- {action: invoke_connector, connector: calendar, operation: get_days}\n")
    operations = {"calendar": frozenset({"get_available_days", "book_appointment"})}
    found = issues_of(text, known_operations=operations)
    assert errors(found) == [
        (
            "states.MENU.on_enter[0].operation",
            "unknown operation 'get_days' for connector 'calendar' (did you mean "
            "'get_available_days'?) (known: book_appointment, get_available_days)",
        )
    ]
    # A category without a known operation list is not checked.
    known = frozenset({"calendar", "crm"})
    crm = menu_with("- {action: invoke_connector, connector: crm, operation: anything}\n")
    assert issues_of(crm, known_connectors=known) == []


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize(
    ("actions", "path"),
    [
        ("- {action: send_text, text: 'Hi {{ data.name '}\n", "states.MENU.on_enter[0].text"),
        (
            "- action: send_interactive_buttons\n  body: 'Pick {% if %}'\n"
            "  buttons: [{id: a, title: A}]\n",
            "states.MENU.on_enter[0].body",
        ),
        (
            "- action: send_interactive_buttons\n  body: Pick\n"
            "  buttons: [{id: a, title: '{{ }}'}]\n",
            "states.MENU.on_enter[0].buttons[0].title",
        ),
        (
            "- action: invoke_connector\n  connector: calendar\n  operation: cancel_event\n"
            "  params: {outer: {inner: ['ok', '{{ data.x | }}']}}\n",
            "states.MENU.on_enter[0].params.outer.inner[1]",
        ),
        (
            "- action: invoke_connector\n  connector: calendar\n  operation: cancel_event\n"
            "  on_error: {text: '{{ oops'}\n",
            "states.MENU.on_enter[0].on_error.text",
        ),
        ("- {action: set_data, values: {a: '{{ 1 + }}'}}\n", "states.MENU.on_enter[0].values.a"),
        (
            "- {action: schedule_task, task: remind, run_at: '{{ data.when '}\n",
            "states.MENU.on_enter[0].run_at",
        ),
        (
            "- {action: schedule_task, task: remind, delay: 1h, idempotency_key: 'r:{{ }}'}\n",
            "states.MENU.on_enter[0].idempotency_key",
        ),
        (
            "- {action: cancel_task, idempotency_key: 'r:{{ x'}\n",
            "states.MENU.on_enter[0].idempotency_key",
        ),
        (
            "- {action: send_dynamic_options, source_key: days, text: 'Pick {{'}\n"
            "- {action: set_data, values: {days: []}}\n",
            "states.MENU.on_enter[0].text",
        ),
        (
            "- action: send_interactive_buttons\n  body: Pick\n"
            "  buttons: [{id: 'hour_{{ data.slot ', title: A}]\n",
            "states.MENU.on_enter[0].buttons[0].id",
        ),
        ("- {action: send_template, name: 'r_{{ x'}\n", "states.MENU.on_enter[0].name"),
        (
            "- {action: send_template, name: r, language: '{{ x'}\n",
            "states.MENU.on_enter[0].language",
        ),
    ],
)
def test_template_syntax_errors_are_found_wherever_templates_go(actions: str, path: str) -> None:
    text = menu_with(actions) + "tasks:\n  remind:\n    - {action: send_text, text: hi}\n"
    found = errors(issues_of(text))
    assert [p for p, _ in found] == [path]
    assert found[0][1].startswith("template syntax error:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ data.name | truncat(10) }}", "unknown filter 'truncat' (did you mean 'truncate'?)"),
        ("{% if data.n is evenn %}x{% endif %}", "unknown test 'evenn' (did you mean 'even'?)"),
        # Jinja's compiler lets these through: they would only fail when the branch runs.
        (
            "{% if data.n %}{{ data.n | rund }}{% endif %}",
            "unknown filter 'rund' (did you mean 'round'?)",
        ),
        ("{{ 'a' if data.n is od else 'b' }}", "unknown test 'od' (did you mean 'odd'?)"),
        ("{% filter uppr %}x{% endfilter %}", "unknown filter 'uppr' (did you mean 'upper'?)"),
        ("{{ data.n | zzzz }}", "unknown filter 'zzzz'"),
    ],
)
def test_unknown_filters_and_tests_are_errors_where_they_are_used(text: str, message: str) -> None:
    found = issues_of(menu_with(f"- action: send_text\n  text: {text!r}\n"))
    assert errors(found) == [("states.MENU.on_enter[0].text", f"template syntax error: {message}")]
    assert found[0].line == 8
    assert str(found[0]).startswith("t.yaml:8 states.MENU.on_enter[0].text: ")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("data.n | truncat(1)", "unknown filter 'truncat' (did you mean 'truncate'?)"),
        ("data.n is evenn", "unknown test 'evenn' (did you mean 'even'?)"),
        ("data.a if data.n is od else data.b", "unknown test 'od' (did you mean 'odd'?)"),
        ("{{ data.n | lenght > 1 }}", "unknown filter 'lenght' (did you mean 'length'?)"),
    ],
)
def test_unknown_filters_and_tests_in_conditions_are_errors(condition: str, message: str) -> None:
    found = issues_of(
        flow_with_states(
            f"MENU:\n  fallback: MENU\n  transitions:\n"
            f"    - {{condition: {condition!r}, target: MENU}}\n"
        )
    )
    assert errors(found) == [
        ("states.MENU.transitions[0].condition", f"condition syntax error: {message}")
    ]


def test_known_filters_and_tests_pass() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              fallback: MENU
              on_enter:
                - action: send_text
                  text: "{{ data.n | round | int }}{% if data.n is even %}{% endif %}"
              transitions:
                - {condition: "data.n is odd and data.s | lower", target: MENU}
            """
        )
    )
    assert errors(found) == []


def test_template_errors_in_transition_conditions_and_set_data() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              fallback: MENU
              transitions:
                - {condition: "data.a ==", target: MENU}
                - {condition: "{{ data.ok }}", target: MENU}
                - {on_payload: x, set_data: {n: "{{ data.n + }}", plain: 3}, target: MENU}
            """
        )
    )
    assert [(p, m.split(":")[0]) for p, m in errors(found)] == [
        ("states.MENU.transitions[0].condition", "condition syntax error"),
        ("states.MENU.transitions[2].set_data.n", "template syntax error"),
    ]


def test_names_and_literal_text_are_not_taken_for_templates() -> None:
    found = issues_of(
        menu_with(
            "- {action: invoke_connector, connector: mock, operation: ask, result_key: '{{x'}\n"
            "- {action: send_text, text: 'Use the code {#42 at the desk'}\n"
        )
    )
    assert errors(found) == []


# ---------------------------------------------------------------- tasks and schedules


def test_schedule_task_checks_task_name_and_delay() -> None:
    found = issues_of(
        menu_with(
            """\
            - {action: schedule_task, task: remindr, delay: 24h}
            - {action: schedule_task, task: remind, delay: tomorrow}
            - {action: schedule_task, task: remind, delay: "{{ data.delay }}"}
            """
        )
        + "tasks:\n  remind:\n    - {action: send_text, text: hi}\n"
    )
    assert [(p, m[:40]) for p, m in errors(found)] == [
        ("states.MENU.on_enter[0].task", "unknown task 'remindr' (did you mean 're"),
        ("states.MENU.on_enter[1].delay", "invalid duration 'tomorrow': expected a "),
    ]
    assert "(tasks defined: remind)" in errors(found)[0][1]


@pytest.mark.parametrize("form", ["list", "mapping"])
def test_standing_schedules_check_task_cron_and_interval(form: str) -> None:
    entries = [
        "{task: nightly, cron: '0 3 * * *', contact_id: owner}",
        "{task: nightly, cron: '0 3 * *', contact_id: owner}",
        "{task: missing, interval: 1h, contact_id: owner}",
        "{task: nightly, interval: often, contact_id: owner}",
    ]
    if form == "list":
        block = "".join(f"  - {e}\n" for e in entries)
        prefix = [f"standing_schedules[{i}]" for i in range(4)]
    else:
        block = "".join(f"  s{i}: {e}\n" for i, e in enumerate(entries))
        prefix = [f"standing_schedules.s{i}" for i in range(4)]
    text = (
        flow_with_states("MENU: {fallback: MENU}")
        + "tasks:\n  nightly:\n    - {action: send_text, text: hi}\nstanding_schedules:\n"
        + block
    )
    found = issues_of(text)
    assert [(p, m.split(" ")[0]) for p, m in errors(found)] == [
        (f"{prefix[1]}.cron", "cron"),
        (f"{prefix[2]}.task", "unknown"),
        (f"{prefix[3]}.interval", "invalid"),
    ]
    assert "needs 5 fields" in errors(found)[0][1]
    assert [i.line for i in found] == [10, 11, 12]


def test_a_standing_interval_of_zero_is_an_error() -> None:
    text = (
        flow_with_states("MENU: {fallback: MENU}")
        + "tasks:\n  nightly:\n    - {action: send_text, text: hi}\nstanding_schedules:\n"
        + "  never: {task: nightly, interval: 0m, contact_id: owner}\n"
        + "  hourly: {task: nightly, interval: 1h, contact_id: owner}\n"
    )
    assert errors(issues_of(text)) == [
        ("standing_schedules.never.interval", "'0m': an interval must be longer than zero")
    ]


def test_a_template_in_standing_data_is_said_not_to_be_rendered() -> None:
    text = (
        flow_with_states("MENU: {fallback: MENU}")
        + "tasks:\n  weekly:\n    - {action: send_text, text: hi}\nstanding_schedules:\n"
        + "  summary:\n    task: weekly\n    cron: '0 9 * * mon'\n    contact_id: owner\n"
        + "    data: {label: 'week of {{ today }}', kind: summary, to: ['{{ tenant.name }}']}\n"
    )
    found = warnings(issues_of(text))
    assert [path for path, _ in found] == [
        "standing_schedules.summary.data.label",
        "standing_schedules.summary.data.to[0]",
    ]
    assert "not rendered" in found[0][1] and "task's actions" in found[0][1]


def test_a_standing_schedule_without_a_contact_is_warned_about() -> None:
    """Its every run was skipped, said only in the log at run time (`task_without_contact`)."""
    text = (
        flow_with_states("MENU: {fallback: MENU}")
        + "tasks:\n  weekly:\n    - {action: send_text, text: hi}\nstanding_schedules:\n"
        + "  nobody: {task: weekly, cron: '0 9 * * mon'}\n"
        + "  blank: {task: weekly, cron: '0 9 * * mon', contact_id: ' '}\n"
        + "  owner: {task: weekly, cron: '0 9 * * mon', contact_id: '34600111222'}\n"
    )
    found = warnings(issues_of(text))
    assert [path for path, _ in found] == [
        "standing_schedules.nobody",
        "standing_schedules.blank",
    ]
    assert found[0][1].startswith("no contact_id: every run is skipped")
    assert "docs/scheduler.md" in found[0][1]


def test_cron_rules_are_read_by_the_schedulers_parser() -> None:
    # Each of these has 5 fields; the scheduler would drop them at boot.
    text = (
        flow_with_states("MENU: {fallback: MENU}")
        + "tasks:\n  nightly:\n    - {action: send_text, text: hi}\nstanding_schedules:\n"
        + "  ok: {task: nightly, cron: '0 9 29 2 mon-fri'}\n"
        + "  hour: {task: nightly, cron: '0 25 * * *'}\n"
        + "  feb31: {task: nightly, cron: '0 9 31 2 *'}\n"
        + "  day: {task: nightly, cron: '* * * * monday'}\n"
    )
    found = issues_of(text)
    assert errors(found) == [
        (
            "standing_schedules.hour.cron",
            "cron '0 25 * * *': hour field '25': 25 is outside 0-23",
        ),
        ("standing_schedules.feb31.cron", "cron '0 9 31 2 *' never fires (no such date)"),
        (
            "standing_schedules.day.cron",
            "cron '* * * * monday': day-of-week field 'monday': 'monday' is not a number or a "
            "name: day names are sun, mon, tue, wed, thu, fri, sat (or 0-7, 0 and 7 being "
            "Sunday), e.g. mon-fri",
        ),
    ]
    assert [i.line for i in found if i.severity == "error"] == [10, 11, 12]
    assert all(str(i).startswith("t.yaml:") for i in found)


def test_session_timeout_must_be_a_duration() -> None:
    text = flow_with_states("MENU: {fallback: MENU}") + "settings:\n  session_timeout: 1 hour\n"
    assert [p for p, _ in errors(issues_of(text))] == ["settings.session_timeout"]


def test_templates_in_the_failure_texts_are_a_warning_with_their_line() -> None:
    text = flow_with_states("MENU: {fallback: MENU}") + (
        "settings:\n"
        "  error_text: 'Sorry {{ contact.name }}'\n"
        "  llm_fallback_text: 'Ask {% if true %}staff{% endif %}'\n"
    )
    found = issues_of(text)
    assert [p for p, _ in warnings(found)] == ["settings.error_text", "settings.llm_fallback_text"]
    assert "never rendered" in warnings(found)[0][1]
    assert [i.line for i in found if i.path.startswith("settings.")] == [6, 7]
    plain = flow_with_states("MENU: {fallback: MENU}") + "settings:\n  error_text: 'Sorry {x}'\n"
    assert warnings(issues_of(plain)) == []


@pytest.mark.parametrize(
    ("value", "bad"), [(800, False), (60_000, False), (60_001, True), (-1, True)]
)
def test_debounce_is_at_most_a_minute(value: int, bad: bool) -> None:
    text = flow_with_states("MENU: {fallback: MENU}") + f"settings:\n  debounce_ms: {value}\n"
    found = [p for p, _ in errors(issues_of(text))]
    assert found == (["settings.debounce_ms"] if bad else [])


# ---------------------------------------------------------------- dynamic options


def test_dynamic_options_from_a_key_nothing_sets_is_a_warning() -> None:
    found = issues_of(
        menu_with("- {action: send_dynamic_options, source_key: slots, text: Pick}\n")
    )
    assert warnings(found) == [
        (
            "states.MENU.on_enter[0].source_key",
            "source_key 'slots' is never set by this flow (no invoke_connector result_key, "
            "set_data or extract_suffix_as writes it)",
        )
    ]


@pytest.mark.parametrize(
    "setter",
    [
        "- {action: invoke_connector, connector: calendar, operation: get_slots_for_day,"
        " result_key: slots}\n",
        "- {action: set_data, values: {slots: []}}\n",
    ],
)
def test_dynamic_options_from_a_key_the_flow_sets_is_fine(setter: str) -> None:
    text = menu_with(setter + "- {action: send_dynamic_options, source_key: slots, text: Pick}\n")
    assert issues_of(text) == []


def test_dynamic_options_key_set_by_a_transition_is_fine() -> None:
    text = flow_with_states(
        """\
        MENU:
          fallback: MENU
          transitions:
            - {on_payload_prefix: "p_", extract_suffix_as: slots, target: MENU}
            - {on_payload: x, set_data: {other: 1}, target: MENU}
          on_enter:
            - {action: send_dynamic_options, source_key: slots, text: Pick}
            - {action: send_dynamic_options, source_key: other, text: Pick}
        """
    )
    assert issues_of(text) == []


# ---------------------------------------------------------------- the function itself


def test_validate_spec_locates_issues_with_the_given_lines() -> None:
    spec = FlowSpec.model_validate(
        {"id": "t", "initial_state": "A", "states": {"A": {"fallback": "B"}}}
    )
    (issue,) = validate_spec(spec, source="cp:flow/3", lines={"states.A": 7})
    assert (issue.source, issue.line, issue.path) == ("cp:flow/3", 7, "states.A.fallback")
    assert issue.severity == "error"
    (bare,) = validate_spec(spec)
    assert (bare.source, bare.line) == ("<flow>", None)


def test_validate_spec_accepts_custom_connector_categories() -> None:
    spec = FlowSpec.model_validate(
        {
            "id": "t",
            "initial_state": "A",
            "states": {
                "A": {
                    "fallback": "A",
                    "on_enter": [
                        {"action": "invoke_connector", "connector": "crm", "operation": "x"}
                    ],
                }
            },
        }
    )
    assert validate_spec(spec, known_connectors=frozenset({"crm"})) == []
    assert [i.path for i in validate_spec(spec)] == ["states.A.on_enter[0].connector"]


def test_conditional_next_branches_are_checked() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              fallback: MENU
              next:
                - {condition: "data.vip ==", target: VIP}
                - {condition: "{{ data.new }}", target: MENU}
                - {target: REGULR}
            VIP: {fallback: MENU}
            REGULAR: {fallback: MENU}
            """
        )
    )
    assert errors(found) == [
        ("states.MENU.next[0].condition", errors(found)[0][1]),
        ("states.MENU.next[2].target", "unknown state 'REGULR' (did you mean 'REGULAR'?)"),
    ]
    assert errors(found)[0][1].startswith("condition syntax error:")
    # line 6: MENU -> MENU through a condition (a warning); REGULAR, reached only through the
    # typo 'REGULR', is not also reported unreachable
    assert [i.line for i in found] == [6, 7, 9]


#: B's only way on is a condition: the cycle B -> C -> B ends when it is false (or loops).
CONDITIONAL_CYCLE = """\
MENU: {transitions: [{on_payload: go, target: B}], fallback: MENU}
B:
  on_enter: [{action: send_text, text: b}]
  next: [{condition: "data.more", target: C}]
  transitions: [{on_payload: menu, target: MENU}]
C: {next: B}
"""

#: A counter: the first branch leads out, the last (unconditional) goes round again.
COUNTER_LOOP = """\
MENU: {transitions: [{on_payload: go, target: COUNT}], fallback: MENU}
COUNT:
  on_enter:
    - {action: set_data, values: {n: "{{ (data.n or 0) + 1 }}"}}
  next:
    - {condition: "data.n >= 3", target: DONE}
    - {target: COUNT}
DONE:
  on_enter: [{action: send_text, text: "counted {{data.n}}"}]
  fallback: MENU
"""


def test_a_next_cycle_that_only_a_condition_ends_is_a_warning_naming_it() -> None:
    found = issues_of(flow_with_states(CONDITIONAL_CYCLE))
    assert errors(found) == []
    [(path, message)] = warnings(found)
    assert path == "states.B.next"
    assert message.startswith("'next' cycle B -> C -> B runs without waiting for the user")
    assert "more than 10 states" in message


def test_a_counter_loop_whose_last_branch_goes_round_is_not_an_error() -> None:
    found = issues_of(flow_with_states(COUNTER_LOOP))
    assert errors(found) == []
    assert [p for p, _ in warnings(found)] == ["states.COUNT.next"]


@pytest.mark.parametrize(
    ("states", "path", "shown"),
    [
        ("A: {next: B}\nB: {next: A}", "states.A.next", "A -> B -> A"),
        # every branch that can run goes round; the one after the unconditional never runs
        (
            "A: {next: [{condition: data.x, target: B}, {target: B}, {target: MENU}]}\n"
            "B: {next: A}",
            "states.A.next",
            "A -> B -> A",
        ),
        # two ways round, neither leads out
        (
            "A: {next: [{condition: data.x, target: B}, {target: C}]}\nB: {next: A}\nC: {next: A}",
            "states.A.next",
            "A -> B -> A",
        ),
    ],
)
def test_a_next_cycle_no_condition_can_stop_or_leave_is_an_error(
    states: str, path: str, shown: str
) -> None:
    text = "MENU: {fallback: MENU, transitions: [{on_payload: a, target: A}]}\n" + states
    found = issues_of(flow_with_states(text))
    assert errors(found) == [(path, f"'next' loops forever: {shown}")]


def test_a_state_that_always_moves_on_into_a_cycle_that_can_end_is_fine() -> None:
    # A always goes on, but to B, whose condition may stop: a warning for the cycle only
    text = (
        "MENU: {fallback: MENU, transitions: [{on_payload: a, target: A}]}\n"
        "A: {next: B}\n"
        "B: {next: [{condition: data.x, target: A}]}\n"
    )
    found = issues_of(flow_with_states(text))
    assert errors(found) == []
    assert [p for p, _ in warnings(found)] == ["states.A.next"]


# ---------------------------------------------------------------- options no transition takes


def unmatched(issues: list[FlowIssue]) -> list[tuple[str, str]]:
    return [w for w in warnings(issues) if "matched by no transition" in w[1]]


def test_a_button_no_transition_matches_is_a_warning_on_its_line() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              on_enter:
                - action: send_interactive_buttons
                  body: Pick
                  buttons:
                    - {id: book, title: Book}
                    - {id: cancle, title: Cancel}
              transitions:
                - {on_payload: book, target: MENU}
                - {on_payload: cancel, target: MENU}
              fallback: MENU
            """
        )
    )
    assert unmatched(found) == [
        (
            "states.MENU.on_enter[0].buttons[1].id",
            "button 'cancle' is matched by no transition of 'MENU' nor by a global transition: "
            "a tap on it goes to its fallback 'MENU'",
        )
    ]
    assert [i.line for i in found if "cancle" in i.message] == [10]


def test_list_rows_are_checked_in_the_state_next_leads_to() -> None:
    # OFFER shows the rows and moves on to MENU: the tap is answered by MENU's transitions.
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              transitions:
                - {on_payload_prefix: "svc_", target: MENU}
              llm_fallback: true
            OFFER:
              on_enter:
                - action: send_interactive_list
                  body: Pick
                  sections:
                    - rows: [{id: svc_cut, title: Cut}, {id: srv_dye, title: Dye}]
              next: MENU
            """,
            top="global_transitions:\n  - {on_payload: offer, target: OFFER}\n",
        )
    )
    assert unmatched(found) == [
        (
            "states.OFFER.on_enter[0].sections[0].rows[1].id",
            "list row 'srv_dye' is matched by no transition of 'MENU' (the state 'OFFER' moves "
            "on to with `next`, where taps are answered) nor by a global transition: a tap on "
            "it is answered by the LLM fallback",
        )
    ]


@pytest.mark.parametrize(
    ("transition", "reported"),
    [
        ('{on_payload: "yes", target: MENU}', []),
        ('{on_payload_prefix: "ye", target: MENU}', []),
        ("{on_type: button, target: MENU}", []),
        ("{on_type: button_reply, target: MENU}", []),
        ("{condition: \"message.payload == 'y' ~ 'es'\", target: MENU}", []),  # may hold
        ("{target: MENU}", []),  # matches everything
        # a condition is taken to hold, but the payload must still match
        ('{on_payload: "no", condition: "true", target: MENU}', ["buttons[0]"]),
    ],
)
def test_a_transition_that_can_take_the_tap_is_enough(transition: str, reported: list[str]) -> None:
    found = issues_of(
        flow_with_states(
            f"""\
            MENU:
              on_enter:
                - action: send_interactive_buttons
                  body: Pick
                  buttons: [{{id: "yes", title: "Yes"}}, {{id: "no", title: "No"}}]
              transitions:
                - {{on_payload: "no", target: MENU}}
                - {transition}
              fallback: MENU
            """
        )
    )
    expected = [f"states.MENU.on_enter[0].{button}.id" for button in reported]
    assert [path for path, _ in unmatched(found)] == expected


@pytest.mark.parametrize(
    "other",
    [
        "{on_type: list, target: MENU}",  # a list reply is not a button tap
        "{on_type: text, target: MENU}",
        '{on_payload_prefix: "yes", target: MENU}',  # needs more than the prefix
        '{on_payload: "Yes", target: MENU}',  # ids are compared exactly
    ],
)
def test_a_transition_that_cannot_take_the_tap_is_not_enough(other: str) -> None:
    found = issues_of(
        flow_with_states(
            f"""\
            MENU:
              on_enter:
                - action: send_interactive_buttons
                  body: Pick
                  buttons: [{{id: "yes", title: "Yes"}}]
              transitions:
                - {other}
              fallback: MENU
            """
        )
    )
    assert [path for path, _ in unmatched(found)] == ["states.MENU.on_enter[0].buttons[0].id"]


def test_templated_ids_global_transitions_and_conditional_next_are_not_reported() -> None:
    found = issues_of(
        flow_with_states(
            """\
            MENU:
              on_enter:
                - action: send_interactive_buttons
                  body: Pick
                  buttons:
                    - {id: "opt_{{ data.n }}", title: A}
                    - {id: back_to_menu, title: Menu}
              fallback: MENU
            ASK:
              on_enter:
                - action: send_interactive_buttons
                  body: Pick
                  buttons: [{id: anything, title: A}]
              next:
                - {condition: "data.x", target: MENU}
                - {target: MENU}
            """,
            top=(
                "global_transitions:\n"
                "  - {on_payload: back_to_menu, target: MENU}\n"
                "  - {on_payload: ask, target: ASK}\n"
            ),
        )
    )
    assert unmatched(found) == []


def test_the_demo_flow_offers_nothing_unmatched() -> None:
    text = (REPO / "flows" / "peluqueria_flow.yaml").read_text(encoding="utf-8")
    assert unmatched(issues_of(text)) == []
