"""`settings.llm_fallback_text` given per language: the engine's `AskLLM` carries the text of
the turn's language (the one the built-in safe text would be in), else the tenant's, else the
first listed; one text is carried as written (docs/flow-dsl.md, "Settings")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from botfleet.flows.effects import AskLLM
from botfleet.flows.schema import FlowSettings
from botfleet.testing.engine import TEST_TENANT, Conversation, flow_from_yaml, text

FLOW = flow_from_yaml(
    """
    id: school
    initial_state: ASK
    settings:
      language: "{{ data.lang }}"
      llm_fallback_text:
        es: "No tengo esa información."
        en: "I don't have that information."
    states:
      ASK:
        llm_fallback: true
        fallback: ASK
    """
)
SPANISH, ENGLISH = "No tengo esa información.", "I don't have that information."


def safe_text(*, tenant: str = "es", contact: str = "", **data: Any) -> str:
    """The safe text the engine hands the runtime for a question in the flow's `ASK`."""
    chat = Conversation(FLOW, llm_available=True, tenant=replace(TEST_TENANT, language=tenant))
    (asked,) = chat.with_data(**data).send(text("parking?", language=contact)).effects
    assert isinstance(asked, AskLLM)
    return asked.fallback_text


def test_the_language_the_contact_chose_picks_the_text() -> None:
    assert safe_text(lang="en") == ENGLISH
    assert safe_text(lang="es", tenant="en") == SPANISH


def test_before_a_choice_the_contacts_language_then_the_tenants() -> None:
    assert safe_text(contact="en-GB") == ENGLISH
    assert safe_text(tenant="en") == ENGLISH
    assert safe_text(tenant="es") == SPANISH


def test_a_language_the_map_lacks_gets_the_tenants_then_the_first() -> None:
    assert safe_text(lang="fr", tenant="en") == ENGLISH  # French is built in: the turn's
    assert safe_text(contact="de", tenant="it") == SPANISH  # neither: the first listed


@pytest.mark.parametrize("lang", ["es", "en"])
def test_one_text_is_sent_in_every_language_as_written(lang: str) -> None:
    settings = FlowSettings(language="{{ data.lang }}", llm_fallback_text="Call 600 000 000.")
    flow = FLOW.model_copy(update={"settings": settings})
    chat = Conversation(flow, llm_available=True).with_data(lang=lang)
    (asked,) = chat.send("parking?").effects
    assert isinstance(asked, AskLLM)
    assert asked.fallback_text == "Call 600 000 000."
