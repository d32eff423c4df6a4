"""The bike shop example sets `data.lang` only when the contact chooses a language (docs/llm.md,
"The answer's language"): a greeting ("hello", "hola") is no choice, so the LLM is not told to
answer in the greeting's language, and a question in French after "hello" is left to be
answered in French."""

from __future__ import annotations

import pytest
from cli_helpers import REPO

from botfleet.flows.effects import AskLLM
from botfleet.testing.engine import Conversation, flow_from_file

FLOW = flow_from_file(REPO / "examples" / "bike_shop" / "bike_shop.yaml")


def asked(chat: Conversation, question: str) -> AskLLM:
    [ask] = [e for e in chat.send(question).effects if isinstance(e, AskLLM)]
    return ask


@pytest.mark.parametrize("greeting", ["hello", "hi", "hola", "Buenas"])
def test_a_greeting_sets_no_language_and_the_llm_follows_the_question(greeting: str) -> None:
    chat = Conversation(FLOW, llm_available=True)
    chat.send(greeting)
    assert chat.state.node == "MENU"
    assert "lang" not in chat.state.data
    assert asked(chat, "Vous louez des vélos électriques ?").language == ""


def test_a_menu_press_after_a_greeting_sets_none_either() -> None:
    chat = Conversation(FLOW, llm_available=True)
    chat.send("hello")
    chat.press("menu_hours")
    assert "lang" not in chat.state.data
    assert asked(chat, "Et le dimanche, vous êtes ouverts ?").language == ""


@pytest.mark.parametrize(("choice", "language"), [("español", "es"), ("English", "en")])
def test_a_language_the_contact_chooses_is_the_answers(choice: str, language: str) -> None:
    chat = Conversation(FLOW, llm_available=True)
    chat.send("hello")
    chat.send(choice)
    assert chat.state.data["lang"] == language
    assert asked(chat, "parking?").language == language


def test_the_menu_offers_spanish_until_a_language_is_chosen() -> None:
    chat = Conversation(FLOW)
    [menu] = chat.send("hola").texts
    assert menu.startswith("Hi! This is")
    assert "¿En español? Elige «Español» en el menú." in menu
    assert chat.send("español").texts[0].startswith("¡Hola! Somos")
    [menu] = chat.send("english").texts
    assert "¿En español?" not in menu
