"""Slips a newcomer makes writing a flow from the docs, and what the validator says: a typo'd
target without a cascade of "unreachable" warnings, a key at the wrong indentation told where
it belongs, an empty `on_payload_prefix`, a cron rule in another language."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text


def issues_of(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(dedent(text), "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def found(text: str) -> list[tuple[str, str, str]]:
    return [(i.severity, i.path, i.message) for i in issues_of(text)]


# ---------------------------------------------------------------- a typo'd target


BOOKING = """\
id: t
initial_state: MENU
states:
  MENU:
    transitions:
      - {on_payload: book, target: BOOK_CONFRIM}
    fallback: MENU
  BOOK_CONFIRM:
    transitions:
      - {on_payload: confirm, target: BOOK_DO}
    fallback: MENU
  BOOK_DO: {next: BOOKED}
  BOOKED: {next: MENU}
  OLD: {fallback: MENU}
"""


def test_states_behind_a_typod_target_are_not_reported_unreachable() -> None:
    assert found(BOOKING) == [
        (
            "error",
            "states.MENU.transitions[0].target",
            "unknown state 'BOOK_CONFRIM' (did you mean 'BOOK_CONFIRM'?)",
        ),
        (  # reached by nothing, typo or not
            "warning",
            "states.OLD",
            "state 'OLD' is unreachable: no transition, fallback, next or on_error leads to "
            "it from the initial state 'MENU'",
        ),
    ]


def test_a_target_that_suggests_no_state_names_the_unreachable_states_once() -> None:
    flow = BOOKING.replace("BOOK_CONFRIM", "CHECKOUT")
    assert found(flow) == [
        ("error", "states.MENU.transitions[0].target", "unknown state 'CHECKOUT'"),
        (
            "warning",
            "states.MENU.transitions[0].target",
            "no transition, fallback, next or on_error leads to states BOOK_CONFIRM, BOOK_DO, "
            "BOOKED, OLD from the initial state 'MENU'; not listed as unreachable one by one "
            "while a target names no state (it may be the way to them): fix the target first",
        ),
    ]


# ---------------------------------------------------------------- keys out of place


def errors_of(text: str) -> list[tuple[str, str]]:
    return [(path, message) for severity, path, message in found(text) if severity == "error"]


def test_a_state_dedented_to_the_top_level_is_told_to_go_under_states() -> None:
    flow = """\
        id: t
        initial_state: MENU
        states:
          MENU:
            fallback: MENU
        THANKS:
          on_enter: [{action: send_text, text: Thanks!}]
          next: MENU
        CLOSED: {}
        """
    hint = ": it looks like a state: indent it under `states:`, like the other states"
    assert errors_of(flow) == [
        ("THANKS", f"unknown key 'THANKS'{hint}"),
        ("CLOSED", f"unknown key 'CLOSED'{hint}"),  # the name alone says so
    ]


@pytest.mark.parametrize(
    ("state", "path", "message"),
    [
        (  # indented under the transition above it
            "transitions:\n  - target: MENU\n    fallback: MENU\n",
            "states.MENU.transitions[0].fallback",
            "unknown key 'fallback': `fallback` belongs to the state, not to a transition: "
            "dedent it to line up with `transitions:`",
        ),
        (
            "on_enter:\n  - action: send_text\n    text: hi\n    next: MENU\nfallback: MENU\n",
            "states.MENU.on_enter[0].next",
            "unknown key 'next': `next` belongs to the state, not to an action: dedent it to "
            "line up with `on_enter:`",
        ),
        (  # dedented out of its action: `text` is close to `next`, but an action's as written
            "on_enter:\n  - action: send_text\ntext: hi\nfallback: MENU\n",
            "states.MENU.text",
            "unknown key 'text': `text` belongs to an action: put it in an item of `on_enter:`",
        ),
        (
            "on_payload: go\ntarget: MENU\nfallback: MENU\n",
            "states.MENU.on_payload",
            "unknown key 'on_payload': `on_payload` belongs to a transition: put it in an item "
            "of `transitions:`",
        ),
        (  # a typo stays a typo
            "fallbak: MENU\n",
            "states.MENU.fallbak",
            "unknown key 'fallbak' (did you mean 'fallback'?)",
        ),
    ],
)
def test_a_key_of_the_part_above_or_below_says_where_it_belongs(
    state: str, path: str, message: str
) -> None:
    flow = "id: t\ninitial_state: MENU\nstates:\n  MENU:\n" + "".join(
        f"    {line}\n" for line in state.splitlines()
    )
    assert (path, message) in errors_of(flow)


def test_top_level_keys_of_settings_and_states_say_where_they_go() -> None:
    flow = """\
        id: t
        initial_state: MENU
        error_text: Sorry!
        on_enter: []
        states:
          MENU: {fallback: MENU}
        """
    assert errors_of(flow) == [
        (
            "error_text",
            "unknown key 'error_text': `error_text` belongs to `settings`: indent it under "
            "`settings:`",
        ),
        (
            "on_enter",
            "unknown key 'on_enter': `on_enter` belongs to a state: indent it under a state "
            "of `states:`",
        ),
    ]


def test_a_mapping_where_a_list_goes_says_to_start_items_with_a_dash() -> None:
    flow = """\
        id: t
        initial_state: MENU
        states:
          MENU:
            fallback: MENU
            on_enter:
              action: send_text
              text: hi
        """
    assert errors_of(flow) == [
        (
            "states.MENU.on_enter",
            "expected a list, got a mapping: start each item with `- `, at the same column",
        )
    ]


# ---------------------------------------------------------------- triggers and schedules


def test_an_empty_payload_prefix_is_an_error() -> None:
    flow = """\
        id: t
        initial_state: MENU
        states:
          MENU:
            transitions:
              - on_payload_prefix: ""
                extract_suffix_as: choice
                target: MENU
            fallback: MENU
        """
    assert errors_of(flow) == [
        (
            "states.MENU.transitions[0].on_payload_prefix",
            "an empty prefix: every payload starts with it, so it would match every button, "
            "row and typed text; write the prefix (e.g. `day_`), or leave the key out (a "
            "transition without triggers matches any message)",
        )
    ]


@pytest.mark.parametrize(
    ("cron", "names"),
    [
        ("0 8 * * lun-vie", "day names are sun, mon, tue, wed, thu, fri, sat"),
        ("0 8 1 ene *", "month names are jan, feb, mar, apr, may, jun, jul, aug, sep, oct"),
        ("0 ocho * * *", "this field takes numbers only"),
    ],
)
def test_a_cron_word_it_does_not_know_lists_the_names_it_takes(cron: str, names: str) -> None:
    flow = f"""\
        id: t
        initial_state: MENU
        states:
          MENU: {{fallback: MENU}}
        tasks:
          summary: [{{action: send_text, text: hi}}]
        standing_schedules:
          daily: {{task: summary, cron: "{cron}", contact_id: "+34600"}}
        """
    ((path, message),) = errors_of(flow)
    assert path == "standing_schedules.daily.cron"
    assert "is not a number or a name: " + names in message


def test_a_yes_read_as_true_where_a_text_goes_says_to_quote_it() -> None:
    flow = """\
        id: t
        initial_state: MENU
        states:
          MENU:
            transitions:
              - {on_payload: yes, target: MENU}
            fallback: MENU
        """
    assert errors_of(flow) == [
        (
            "states.MENU.transitions[0].on_payload",
            "expected a string, got true: YAML reads yes, no, on, off, true and false without "
            "quotes as true or false; put the text in quotes",
        )
    ]
