"""Errors about an action's name say which action was meant: `send_buttons` is
`send_interactive_buttons`, and `type: send_text` is `action: send_text`."""

from __future__ import annotations

from textwrap import dedent

import pytest

from botfleet.domain.errors import FlowValidationError
from botfleet.flows._schema_errors import ACTION_SYNONYMS
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import ACTION_TYPES
from botfleet.flows.suggestions import closest, similarity


def messages(action: str) -> list[str]:
    """The load errors of a one-state flow whose only action is `action` (YAML lines)."""
    text = dedent(
        """\
        id: x
        initial_state: A
        states:
          A:
            on_enter:
              - {action}
            fallback: A
        """
    ).format(action=action)
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(text, "flow.yaml")
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("send_buttons", "send_interactive_buttons"),
        ("send_button", "send_interactive_buttons"),
        ("buttons", "send_interactive_buttons"),
        ("send_list", "send_interactive_list"),
        ("send_menu", "send_interactive_list"),
        ("menu", "send_interactive_list"),
        ("send_options", "send_dynamic_options"),
        ("options", "send_dynamic_options"),
        ("template", "send_template"),
        ("send_whatsapp_template", "send_template"),
        ("send_tempalte", "send_template"),  # a typo wins over a synonym (`send`)
        ("send_txet", "send_text"),
        ("send_message", "send_text"),
        ("cancel_reminder", "cancel_task"),
        ("reminder", "schedule_task"),
        ("call_connector", "invoke_connector"),
        ("set_variable", "set_data"),
    ],
)
def test_an_unknown_action_suggests_the_action_meant(written: str, meant: str) -> None:
    assert closest(written, ACTION_TYPES, synonyms=ACTION_SYNONYMS) == meant
    (message,) = messages(f"{{action: {written}, body: hi}}")
    assert f"unknown action {written!r} (did you mean {meant!r}?)" in message


def test_send_buttons_no_longer_suggests_send_text() -> None:
    (message,) = messages("{action: send_buttons, body: hi, buttons: [{id: a, title: A}]}")
    assert message.startswith(
        "states.A.on_enter[0].action: unknown action 'send_buttons' "
        "(did you mean 'send_interactive_buttons'?) (known: send_text,"
    )


@pytest.mark.parametrize("key", ["type", "do", "kind", "name"])
def test_the_action_under_another_key_says_to_use_action(key: str) -> None:
    assert messages(f"{{{key}: send_text, text: hi}}") == [
        "states.A.on_enter[0].action: missing required key 'action': use `action: send_text` "
        f"(found `{key}: send_text`)"
    ]


def test_a_misspelt_action_under_type_names_the_action_meant() -> None:
    assert messages("{type: send_buttons, body: hi}") == [
        "states.A.on_enter[0].action: missing required key 'action': use "
        "`action: send_interactive_buttons` (found `type: send_buttons`)"
    ]
    assert messages("{type: zzz, text: hi}") == [
        "states.A.on_enter[0].action: missing required key 'action': use `action:` (found `type:`)"
    ]


def test_a_template_name_is_not_taken_for_an_action() -> None:
    # `name:` belongs to send_template: only an action's exact name there is the mistake.
    assert messages("{name: hello_world, language: en}") == [
        "states.A.on_enter[0].action: missing required key 'action'"
    ]


def test_similarity_compares_words_as_well_as_letters() -> None:
    assert similarity("send_buttons", "send_interactive_buttons") > similarity(
        "send_buttons", "send_text"
    )
    assert closest("slot_minutes", ["timezone", "slot_duration_min", "min_notice_min"]) == (
        "slot_duration_min"
    )
    assert closest("MENUU", ["MENU", "BOOK"]) == "MENU"
    assert closest("menu", ["Menu", "MENU"]) == "Menu"  # equal but for case wins
    assert closest("zzz", ["MENU", "BOOK"]) is None


@pytest.mark.parametrize("key", ["actions", "on_enter", "do"])
def test_actions_on_a_transition_are_sent_to_the_target_states_on_enter(key: str) -> None:
    text = dedent(
        f"""\
        id: x
        initial_state: A
        states:
          A:
            transitions:
              - on_type: text
                target: B
                {key}:
                  - {{action: send_text, text: hi}}
          B:
            on_enter:
              - {{action: send_text, text: b}}
        """
    )
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(text, "flow.yaml")
    (issue,) = caught.value.issues
    assert issue.path == f"states.A.transitions[0].{key}"
    assert "a transition runs no actions" in issue.message
    assert "target state's `on_enter`" in issue.message
