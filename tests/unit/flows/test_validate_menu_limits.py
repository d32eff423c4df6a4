"""WhatsApp limit warnings the walk-through found missing, each saying what is sent instead:
buttons whose titles read the same, a list's `button_label` over 20 characters and a section
title over 24; and the options a task sends that no transition anywhere can match."""

from __future__ import annotations

from textwrap import dedent, indent

from botfleet.domain.errors import FlowIssue, FlowValidationError
from botfleet.flows.load import load_flow_text

ACTION = "states.MENU.on_enter[0]"


def load_issues(text: str) -> list[FlowIssue]:
    try:
        return list(load_flow_text(dedent(text), "t.yaml").warnings)
    except FlowValidationError as exc:
        return list(exc.issues)


def menu_warnings(actions: str) -> list[tuple[str, str]]:
    """The warnings of a flow whose MENU runs `actions` and whose every option is answered by
    a catch-all transition (so only channel limits are left to warn about)."""
    on_enter = indent(dedent(actions), "      ")
    issues = load_issues(
        "id: t\ninitial_state: MENU\nstates:\n  MENU:\n"
        "    transitions: [{target: MENU}]\n    on_enter:\n" + on_enter
    )
    return [(i.path, i.message) for i in issues if i.severity == "warning"]


def buttons(*titles: str) -> str:
    listed = ", ".join(f"{{id: b{i}, title: {title!r}}}" for i, title in enumerate(titles))
    return f"- action: send_interactive_buttons\n  body: Pick\n  buttons: [{listed}]\n"


# ---------------------------------------------------------------- titles that read the same


def test_titles_equal_once_trimmed_are_sent_as_a_list_and_say_so() -> None:
    assert menu_warnings(buttons("Yes", "Yes ", "No")) == [
        (
            f"{ACTION}.buttons[1].title",
            "buttons[0] and buttons[1] both read 'Yes' (blanks at the ends and runs of blanks "
            "do not count): WhatsApp refuses a title twice in one message, so it gets these "
            "buttons as a list (one button that opens the choices); a person cannot tell them "
            "apart, nor does typing the title pick either; make the titles differ",
        )
    ]


def test_runs_of_blanks_inside_a_title_count_as_one() -> None:
    [(path, message)] = menu_warnings(buttons("Pedir  cita", "Pedir cita"))
    assert path == f"{ACTION}.buttons[1].title"
    assert message.startswith("buttons[0] and buttons[1] both read 'Pedir cita'")


def test_titles_a_button_would_cut_go_as_a_list_shown_whole() -> None:
    """Cut to 20 they would read alike ("Appointment Tuesday…"): a WhatsApp list shows them
    whole, so the one warning says so, and none says they read alike."""
    warnings = menu_warnings(buttons("Appointment Tuesday 10:00", "Appointment Tuesday 10:30"))
    assert warnings == [
        (
            f"{ACTION}.buttons",
            "a title of 25 characters: WhatsApp shows at most 20 on a button, so it gets these "
            "buttons as a list (one button that opens the choices), each title shown whole (a "
            "row shows 24, the rest under it); keep titles to 20 characters for buttons",
        )
    ]


def test_a_blank_title_reads_as_its_id() -> None:
    actions = (
        "- action: send_interactive_buttons\n  body: Pick\n"
        "  buttons: [{id: later, title: ''}, {id: b1, title: later}]\n"
    )
    [(path, _)] = menu_warnings(actions)
    assert path == f"{ACTION}.buttons[1].title"


def test_more_than_three_buttons_are_a_list_already_and_only_the_confusion_is_told() -> None:
    warnings = menu_warnings(buttons("A", "B", "C", "A"))
    same = [message for _, message in warnings if "both read" in message]
    assert same == [
        "buttons[0] and buttons[3] both read 'A' (blanks at the ends and runs of blanks do not "
        "count): a person cannot tell them apart, nor does typing the title pick either; make "
        "the titles differ"
    ]


def test_distinct_titles_case_and_templates_are_not_warned_about() -> None:
    assert menu_warnings(buttons("Yes", "yes", "No")) == []
    assert menu_warnings(buttons("{{ data.a }}", "{{ data.a }}")) == []


# ---------------------------------------------------------------- list label and sections


def test_a_list_label_over_twenty_characters_says_what_whatsapp_gets() -> None:
    actions = """
    - action: send_interactive_list
      body: Pick a day
      button_label: See every available day
      sections: [{title: Days, rows: [{id: d1, title: Mon}]}]
    """
    assert menu_warnings(actions) == [
        (
            f"{ACTION}.button_label",
            "23 characters: WhatsApp shows at most 20, so it gets 'See every available…'",
        )
    ]


def test_a_section_title_over_twenty_four_characters_says_what_whatsapp_gets() -> None:
    actions = """
    - action: send_interactive_list
      body: Pick a time
      button_label: Times
      sections:
        - {title: Morning, rows: [{id: t1, title: "10:00"}]}
        - {title: Afternoon and early evening, rows: [{id: t2, title: "17:00"}]}
    """
    assert menu_warnings(actions) == [
        (
            f"{ACTION}.sections[1].title",
            "27 characters: WhatsApp shows at most 24, so it gets 'Afternoon and early eve…'",
        )
    ]


def test_dynamic_options_label_is_measured_too_and_limits_are_not_warned_about() -> None:
    actions = f"""
    - action: set_data
      values: {{slots: []}}
    - action: send_dynamic_options
      source_key: slots
      text: Pick
      button_label: {"L" * 21}
    - action: send_dynamic_options
      source_key: slots
      text: Pick
      button_label: {"L" * 20}
    - action: send_interactive_list
      body: Pick
      button_label: "{{{{ data.label }}}}"
      sections: [{{title: {"S" * 24}, rows: [{{id: r, title: R}}]}}]
    """
    assert menu_warnings(actions) == [
        (
            "states.MENU.on_enter[1].button_label",
            f"21 characters: WhatsApp shows at most 20, so it gets '{'L' * 19}…'",
        )
    ]


# ---------------------------------------------------------------- a task's options


TASK_FLOW = """
id: reminders
initial_state: BOOKED
states:
  BOOKED:
    transitions: [{on_payload: menu, target: BOOKED}]
    fallback: BOOKED
  CHANGING:
    transitions:
      - {on_payload: reschedule_yes, target: BOOKED}
      - {on_payload_prefix: "slot_", condition: "data.open", target: BOOKED}
    fallback: BOOKED
GLOBALS
tasks:
  remind:
    - action: send_template
      name: reminder
      button_payloads: [confirm_yes, cancel_yes]
    - action: send_interactive_buttons
      body: Or
      buttons: [{id: reschedule_yes, title: Change}, {id: "{{ data.x }}", title: X}]
    - action: send_interactive_list
      body: Or pick
      sections: [{rows: [{id: slot_1, title: "10:00"}, {id: stray, title: "11:00"}]}]
"""


def task_warnings(globals_: str = "") -> list[tuple[str, str]]:
    issues = load_issues(TASK_FLOW.replace("GLOBALS", globals_))
    return [
        (i.path, i.message)
        for i in issues
        if i.severity == "warning" and "sent by task" in i.message
    ]


def test_a_task_option_no_transition_anywhere_matches_is_a_warning() -> None:
    tail = (
        "is matched by no transition of any state nor by a global transition: a tap on it "
        "goes to the fallback of the state the contact is in (else settings.error_text); "
        "answer it with a global transition"
    )
    assert task_warnings() == [
        (
            "tasks.remind[0].button_payloads[0]",
            f"quick reply 'confirm_yes', sent by task 'remind', {tail}",
        ),
        (
            "tasks.remind[0].button_payloads[1]",
            f"quick reply 'cancel_yes', sent by task 'remind', {tail}",
        ),
        (
            "tasks.remind[2].sections[0].rows[1].id",
            f"list row 'stray', sent by task 'remind', {tail}",
        ),
    ]


def test_a_global_or_any_state_transition_that_may_match_answers_a_task_option() -> None:
    # CHANGING's own transitions answer reschedule_yes and (its condition may hold) slot_1:
    # the contact may be there when the reminder comes.
    assert task_warnings("global_transitions:\n  - {target: BOOKED}\n") == []
    by_type = "global_transitions:\n  - {on_type: button_reply, target: BOOKED}\n"
    assert [path for path, _ in task_warnings(by_type)] == [
        "tasks.remind[2].sections[0].rows[1].id"
    ]
