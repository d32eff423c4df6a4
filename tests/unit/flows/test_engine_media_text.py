"""`settings.media_text`: a voice note, photo, video, document or unsupported content that no
transition takes is answered with a sentence saying the bot reads text only, then the fallback as
before; without it the contact got the menu again with no word about their voice note."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.errors import FlowValidationError, TemplateError
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.flows.load import load_flow_text
from botfleet.flows.turn import TenantInfo
from botfleet.testing.engine import Conversation, flow_from_yaml, message

FLOW = """\
id: barber
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}, {id: hours, title: Hours}]
    transitions:
      - {on_payload: book, target: ASK_NAME}
      - {on_payload: hours, target: MENU}
    fallback: MENU
  ASK_NAME:
    on_enter: [{action: send_text, text: "Your name?"}]
    transitions:
      - {on_type: text, target: MENU}
"""
LISBON = TenantInfo(id="barber", timezone="Europe/Lisbon", language="pt-PT")
EN = BUILT_IN_TEXTS["en"].media
UNREAD = ["audio", "image", "video", "document", "unsupported"]


def chat(text: str = FLOW, tenant: TenantInfo = LISBON) -> Conversation:
    return Conversation(flow_from_yaml(text), tenant=tenant)


@pytest.mark.parametrize("kind", UNREAD)
def test_unread_content_gets_the_notice_then_the_fallback(kind: str) -> None:
    exchange = chat().send(message(kind))
    assert exchange.texts == [BUILT_IN_TEXTS["pt"].media, "Menu"]
    assert exchange.fired == ("states.MENU.fallback",)
    assert exchange.state.node == "MENU"
    assert exchange.option_ids == ["book", "hours"]  # the menu still answers


def test_the_contacts_language_wins_over_the_tenants() -> None:
    exchange = chat().send(message("audio", language="es"))
    assert exchange.texts == [BUILT_IN_TEXTS["es"].media, "Menu"]


def test_english_without_a_language_the_platform_writes() -> None:
    tenant = TenantInfo(language="nl")
    assert chat(tenant=tenant).send(message("audio")).texts == [EN, "Menu"]


def test_the_flows_language_wins() -> None:
    flow = FLOW + "settings:\n  language: ca\n"
    assert chat(flow).send(message("audio")).texts[0] == BUILT_IN_TEXTS["ca"].media


def test_a_state_without_fallback_sends_the_notice_then_the_error_text() -> None:
    flow = FLOW + "settings:\n  error_text: Only text here.\n"
    exchange = chat(flow).at("ASK_NAME").send(message("audio"))
    assert exchange.texts == [BUILT_IN_TEXTS["pt"].media, "Only text here."]
    assert exchange.state.node == "ASK_NAME"


@pytest.mark.parametrize(
    "transition",
    [
        "{on_type: audio, target: VOICE}",
        "{target: VOICE}",  # a catch-all takes anything
    ],
)
def test_a_transition_that_takes_it_gets_no_notice(transition: str) -> None:
    flow = FLOW.replace(
        "      - {on_payload: hours, target: MENU}\n",
        f"      - {{on_payload: hours, target: MENU}}\n      - {transition}\n",
    )
    flow += '  VOICE:\n    on_enter: [{action: send_text, text: "No voice notes"}]\n'
    exchange = chat(flow).send(message("audio"))
    assert exchange.texts == ["No voice notes"]


def test_a_global_transition_that_takes_it_gets_no_notice() -> None:
    flow = FLOW + "global_transitions:\n  - {on_type: image, target: $current}\n"
    assert chat(flow).send(message("image")).texts == ["Menu"]


def test_an_empty_setting_turns_it_off() -> None:
    flow = FLOW + 'settings:\n  media_text: ""\n'
    assert chat(flow).send(message("audio")).texts == ["Menu"]


def test_the_flows_own_text_is_a_template_reading_texts() -> None:
    flow = (
        FLOW
        + 'settings:\n  media_text: "{{ texts.media }}"\n'
        + "texts:\n  en: {media: Type please}\n  pt: {media: Escreva por favor}\n"
    )
    assert chat(flow).send(message("audio")).texts == ["Escreva por favor", "Menu"]


def test_a_text_that_renders_blank_sends_nothing() -> None:
    flow = FLOW + "settings:\n  media_text: '{% if data.nope %}Text only{% endif %}'\n"
    assert chat(flow).send(message("audio")).texts == ["Menu"]


@pytest.mark.parametrize(
    "msg",
    [
        message("text", text="hola"),
        message("location", text="Rossio"),
        message("contacts", text="Ana"),
        message("button", payload="nope"),
    ],
)
def test_text_locations_contacts_and_presses_get_only_the_fallback(msg: InboundMessage) -> None:
    exchange = chat().send(msg)
    assert exchange.texts == ["Menu"]


def test_a_reaction_still_gets_no_answer() -> None:
    exchange = chat().send(message(MessageType.REACTION, text="👍"))
    assert exchange.texts == []


def test_a_missing_value_fails_the_turn_with_strict_templates() -> None:
    flow = FLOW + "settings:\n  strict_templates: true\n  media_text: 'Hi {{ data.nick }}'\n"
    with pytest.raises(TemplateError, match=r"settings\.media_text"):
        chat(flow).send(message("audio"))


def test_a_broken_text_is_a_load_error_naming_its_place() -> None:
    broken = 'settings:\n  media_text: "{{ data.x | uppr }}"\n'
    with pytest.raises(FlowValidationError) as caught:
        load_flow_text(FLOW + broken, "barber.yaml")
    assert [i.path for i in caught.value.issues if i.severity == "error"] == ["settings.media_text"]


def test_every_built_in_sentence_is_quoted_in_the_flow_format_docs() -> None:
    docs = (Path(__file__).parents[3] / "docs" / "flow-dsl.md").read_text(encoding="utf-8")
    missing = [
        language
        for language, texts in BUILT_IN_TEXTS.items()
        if f'{language} "{texts.media}"' not in docs
    ]
    assert missing == []
