"""Triggers one by one: on_type for every type, conditions over every namespace, set_data typing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from botfleet.domain.messages import MessageType
from botfleet.flows.schema import MESSAGE_TYPES, FlowSpec
from botfleet.testing.clock import FrozenClock
from botfleet.testing.engine import Conversation, button, flow_from_yaml, message, text


def one_transition_flow(**transition: Any) -> FlowSpec:
    """START --(transition)--> HIT, else fallback MISS."""
    return FlowSpec.model_validate(
        {
            "id": "one_transition",
            "initial_state": "START",
            "states": {
                "START": {"transitions": [{**transition, "target": "HIT"}], "fallback": "MISS"},
                "HIT": {"next": "START"},
                "MISS": {"next": "START"},
            },
        }
    )


def hits(flow: FlowSpec, chat: Conversation | None = None, **fields: Any) -> bool:
    chat = chat or Conversation(flow)
    kind = fields.pop("type", "text")
    # An unmatched reaction enters nothing (it is not an answer), others enter the fallback.
    return chat.send(message(kind, **fields)).entered[:1] == ("HIT",)


@pytest.mark.parametrize("dsl_type", MESSAGE_TYPES)
def test_on_type_matches_exactly_its_type_and_aliases(dsl_type: str) -> None:
    flow = one_transition_flow(on_type=dsl_type)
    expected = MessageType.parse(dsl_type)
    for kind in MessageType:
        assert hits(flow, type=kind, text="x", payload="p") == (kind is expected), kind


def test_button_and_list_aliases_name_the_reply_types() -> None:
    assert MessageType.parse("button") is MessageType.BUTTON_REPLY
    assert MessageType.parse("list") is MessageType.LIST_REPLY


LIST_AND_BUTTONS = flow_from_yaml(
    """
    id: typed_choices
    initial_state: MENU
    states:
      MENU:
        on_enter:
          - action: send_interactive_list
            body: "Services"
            sections: [{rows: [{id: cut, title: Cut}, {id: dye, title: Dye}]}]
        transitions:
          - {on_type: list, target: FROM_LIST}
          - {on_type: button, target: FROM_BUTTONS}
        fallback: MENU
      FROM_LIST:
        on_enter:
          - action: send_interactive_buttons
            body: "Sure?"
            buttons: [{id: "yes", title: "Yes"}, {id: "no", title: "No"}]
        transitions:
          - {on_type: list, target: FROM_LIST}
          - {on_type: button, target: FROM_BUTTONS}
      FROM_BUTTONS: {fallback: MENU}
    """
)


@pytest.mark.parametrize("typed", ["2", "dye", "DYE"])
def test_typing_a_list_rows_number_or_title_is_pressing_that_row(typed: str) -> None:
    chat = Conversation(LIST_AND_BUTTONS)
    chat.send("hola")  # the fallback shows the list
    exchange = chat.send(typed)
    assert exchange.entered[0] == "FROM_LIST"
    pressed = Conversation(LIST_AND_BUTTONS)
    pressed.send("hola")
    assert pressed.choose("dye").entered[0] == "FROM_LIST"


def test_typing_a_buttons_number_after_a_list_is_still_a_button_reply() -> None:
    chat = Conversation(LIST_AND_BUTTONS)
    chat.send("hola")
    chat.send("1")  # a list row: now buttons are on screen
    assert chat.state.last_options_list is False
    assert chat.send("2").entered[0] == "FROM_BUTTONS"


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("data.count > 2", True),
        ("data.count > 3", False),
        ("data.nested.level == 'gold'", True),
        ("data.missing", False),
        ("not data.missing", True),
        ("data.missing.deeper == 'x'", False),
        ("data.items == 'a key, not the method'", True),
        ("'gold' in data.tags", True),
        ("message.type == 'text' and message.text == 'hi there'", True),
        ("message.text.startswith('hi')", True),
        ("message.payload == 'hi there'", True),  # a text's payload is its stripped text
        ("message.contact_id == 'contact-1'", True),
        ("message.timestamp.startswith('2024-01-08T09:00')", True),
        ("contact.id == 'contact-1'", True),
        ("contact.name == 'Ana'", True),
        ("contact.language == 'es'", True),
        ("tenant.id == 'tenant-1'", True),
        ("tenant.name == 'Test Salon'", True),
        ("tenant.timezone == 'Europe/Madrid'", True),
        ("today == '2024-01-08'", True),
        ("data.today == today", True),
        ("now.hour == 10", True),  # 09:00 UTC is 10:00 in Madrid
        ("now.strftime('%A') == 'Monday'", True),
        ("{{ data.count == 3 }}", True),  # braces around a condition are tolerated
        ("data.count >", False),  # broken: never true, never raises
        ("data.count.__class__", False),
    ],
)
def test_conditions_see_every_namespace(condition: str, expected: bool) -> None:
    flow = one_transition_flow(condition=condition)
    chat = Conversation(flow).with_data(
        count=3, nested={"level": "gold"}, items="a key, not the method", tags=["gold"]
    )
    assert hits(flow, chat, text="hi there", contact_name="Ana", language="es") is expected


@pytest.mark.parametrize(
    "sent",
    [
        text(" menu_y "),
        button("menu_y"),
        message("list_reply", payload="menu_y"),
        text("typed", payload="menu_y"),
    ],
)
def test_message_payload_in_a_condition_is_the_payload_on_payload_matches(
    sent: Any,
) -> None:
    on_payload = one_transition_flow(on_payload="menu_y")
    both = one_transition_flow(on_payload="menu_y", condition="message.payload == 'menu_y'")
    by_condition = one_transition_flow(condition="message.payload == 'menu_y'")
    assert hits(on_payload, type=sent.type, text=sent.text, payload=sent.payload)
    assert hits(both, type=sent.type, text=sent.text, payload=sent.payload)
    assert hits(by_condition, type=sent.type, text=sent.text, payload=sent.payload)


def test_media_has_no_payload_even_with_a_caption() -> None:
    flow = one_transition_flow(condition="message.payload == '' and message.text == 'caption'")
    assert hits(flow, type="image", text="caption")


def test_today_and_now_are_in_the_tenants_time_zone() -> None:
    flow = one_transition_flow(condition="today == '2024-01-09' and now.hour == 0")
    late = FrozenClock(datetime(2024, 1, 8, 23, 30, tzinfo=UTC))  # 00:30 on the 9th in Madrid
    chat = Conversation(flow, clock=late)
    assert hits(flow, chat)
    assert chat.state.data["today"] == "2024-01-09"


def test_data_today_is_refreshed_on_every_message() -> None:
    flow = one_transition_flow(condition="false")
    clock = FrozenClock()
    chat = Conversation(flow, clock=clock)
    chat.send("x")
    assert chat.state.data["today"] == "2024-01-08"
    clock.advance(days=2)
    chat.send("x")
    assert chat.state.data["today"] == "2024-01-10"


def test_a_transition_without_trigger_or_condition_matches_any_message() -> None:
    flow = one_transition_flow()
    for kind in MessageType:
        assert hits(flow, type=kind)


SET_DATA_FLOW = """
id: set_data_typing
initial_state: START
states:
  START:
    transitions:
      - on_payload: go
        target: DONE
        set_data:
          int: 3
          float: 2.5
          bool: false
          none: null
          list: [1, "two", {three: 3}]
          mapping: {a: 1, b: "{{ data.n }}"}
          lone_int: "{{ data.n }}"
          lone_list: "{{ data.list_in }}"
          lone_sum: "{{ data.n + 1 }}"
          spaced: "  {{ data.n }}  "
          mixed: "{{ data.n }} min"
          two: "{{ data.n }}{{ data.n }}"
          plain: "just text"
          from_message: "{{ message.payload }}"
          missing: "{{ data.nope }}"
  DONE:
    on_enter:
      - action: set_data
        values:
          action_int: "{{ data.lone_int * 2 }}"
          action_text: "n={{ data.n }}"
          action_yaml: 7
    next: START
"""


def test_set_data_keeps_types_of_lone_expressions_and_yaml_values() -> None:
    flow = flow_from_yaml(SET_DATA_FLOW)
    chat = Conversation(flow).with_data(n=30, list_in=["x", "y"])
    data = chat.send(button("go")).state.data
    expected = {
        "int": 3,
        "float": 2.5,
        "bool": False,
        "none": None,
        "list": [1, "two", {"three": 3}],
        "mapping": {"a": 1, "b": 30},
        "lone_int": 30,
        "lone_list": ["x", "y"],
        "lone_sum": 31,
        "spaced": 30,
        "mixed": "30 min",
        "two": "3030",
        "plain": "just text",
        "from_message": "go",
        "missing": "",
        "action_int": 60,
        "action_text": "n=30",
        "action_yaml": 7,
    }
    assert {key: data[key] for key in expected} == expected
    for key in ("int", "lone_int", "lone_sum", "spaced", "action_int"):
        assert type(data[key]) is int, key


def test_user_text_stored_by_set_data_is_never_evaluated_as_a_template() -> None:
    flow = one_transition_flow(set_data={"said": "{{ message.text }}"})
    chat = Conversation(flow).with_data(secret="s3cret")
    chat.send(text("{{ data.secret }} {{ 7 * 7 }}"))
    assert chat.state.data["said"] == "{{ data.secret }} {{ 7 * 7 }}"
