"""Titles typed without their emoji, punctuation or spacing (docs/flow-dsl.md, "Numbered and
typed answers"), through the engine: the clinic walk-through's examples."""

from __future__ import annotations

import pytest

from botfleet.testing.engine import Conversation, flow_from_yaml

FLOW = flow_from_yaml(
    """
    id: clinic_titles
    initial_state: MENU
    states:
      MENU:
        on_enter:
          - action: send_interactive_buttons
            body: "¿Qué necesitas?"
            buttons:
              - {id: menu_book, title: "📅 Pedir cita"}
              - {id: menu_hours, title: "🕘 Horario"}
        transitions:
          - {on_payload: menu_book, target: PERIOD}
          - {on_payload: menu_hours, target: HOURS}
        fallback: MENU
      PERIOD:
        on_enter:
          - action: send_interactive_list
            body: "¿Mañana o tarde?"
            sections:
              - rows:
                  - {id: period_am, title: "☀️ Mañana"}
                  - {id: period_pm, title: "🌇 Tarde"}
                  - {id: period_late, title: "🌙 Tarde-noche"}
                  - {id: period_any, title: "🌙 Cualquiera"}
                  - {id: period_other, title: "🌇 Cualquiera"}
        transitions:
          - on_type: list
            on_payload_prefix: "period_"
            extract_suffix_as: period
            target: CHOSEN
        fallback: PERIOD
      HOURS:
        on_enter: [{action: send_text, text: "9 a 14"}]
        fallback: MENU
      CHOSEN:
        on_enter: [{action: send_text, text: "{{ data.period }}"}]
        fallback: MENU
    """
)


def at_menu() -> Conversation:
    chat = Conversation(FLOW)
    chat.send("hola")
    return chat


@pytest.mark.parametrize("typed", ["📅 pedir  cita", "pedir cita", "Pedir cita!", "1"])
def test_a_title_typed_without_its_emoji_or_with_extra_blanks_presses_its_button(
    typed: str,
) -> None:
    exchange = at_menu().send(typed)
    assert exchange.fired[0] == "states.MENU.transitions[0]"
    assert exchange.state.node == "PERIOD"


@pytest.mark.parametrize(
    ("typed", "period"), [("tarde", "pm"), ("MAÑANA", "am"), ("tarde-noche.", "late")]
)
def test_a_row_typed_without_its_emoji_is_a_list_reply(typed: str, period: str) -> None:
    chat = at_menu()
    chat.press("menu_book")
    exchange = chat.send(typed)
    assert exchange.state.node == "CHOSEN"
    assert exchange.state.data["period"] == period


def test_a_word_two_rows_share_once_emoji_are_left_out_picks_neither() -> None:
    chat = at_menu()
    chat.press("menu_book")
    exchange = chat.send("cualquiera")
    assert exchange.fired == ("states.PERIOD.fallback",)
    assert chat.send("🌇 cualquiera").state.data["period"] == "other"  # as shown: that one
