"""A press whose menu is gone (a task's message cleared it, the provider sent no label) is named
by the flow's own options: `message.option_title`, its text and the history read "English", not
"lang_en". An id the flow writes with two titles, or as a template, names nothing."""

from __future__ import annotations

from botfleet.flows.static_options import static_option_title
from botfleet.testing.engine import Conversation, flow_from_yaml

FLOW = flow_from_yaml(
    """
id: press_titles_v1
initial_state: MENU
global_transitions:
  - on_payload: lang_en
    target: CHOSEN
  - on_payload: twice
    target: CHOSEN
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Language?"
        buttons: [{id: lang_en, title: English}, {id: twice, title: One}]
    fallback: MENU
  OTHER:
    on_enter:
      - action: send_interactive_list
        body: "Pick"
        sections: [{rows: [{id: twice, title: Two}, {id: "{{ data.x }}", title: Dynamic}]}]
    fallback: OTHER
  CHOSEN:
    on_enter:
      - action: send_text
        text: "chosen: {{ message.option_title }} / {{ message.text }}"
    fallback: MENU
tasks:
  remind:
    - action: send_text
      text: "Reminder: tomorrow at 10:00"
"""
)


def test_a_press_after_a_task_cleared_its_menu_is_named_by_the_flow() -> None:
    chat = Conversation(FLOW)
    chat.send("hi")
    assert chat.fire_task("remind").texts == ["Reminder: tomorrow at 10:00"]
    assert chat.state.last_options == ()  # the task's text cleared the menu
    exchange = chat.press("lang_en")
    assert exchange.texts == ["chosen: English / English"]
    user_lines = [t.text for t in exchange.state.history if t.role == "user"]
    assert user_lines[-1] == "English"


def test_an_id_with_two_titles_or_a_template_names_nothing() -> None:
    assert static_option_title(FLOW, "lang_en") == "English"
    assert static_option_title(FLOW, "twice") is None
    assert static_option_title(FLOW, "{{ data.x }}") is None
    assert static_option_title(FLOW, "unknown") is None
