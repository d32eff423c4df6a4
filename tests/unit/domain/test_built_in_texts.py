"""The platform's own sentences (the default apology, the LLM's safe text) in the contact's
language, else the tenant's, else English, for the languages of the built-in menu words."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.domain.built_in_texts import BUILT_IN_TEXTS, ENGLISH_TEXTS, built_in_texts
from botfleet.domain.degrade import BUILT_IN_MENU_TEXTS


def test_every_language_of_the_menu_words_has_the_other_sentences_too() -> None:
    # A Catalan salon would otherwise get "Opcions" under its menus and an English apology.
    assert set(BUILT_IN_TEXTS) == set(BUILT_IN_MENU_TEXTS)


@pytest.mark.parametrize("language", sorted(set(BUILT_IN_TEXTS) - {"en"}))
def test_each_language_has_its_own_words_not_english(language: str) -> None:
    texts = BUILT_IN_TEXTS[language]
    assert texts.error.strip() and texts.llm_fallback.strip()
    assert texts.error != ENGLISH_TEXTS.error
    assert texts.llm_fallback != ENGLISH_TEXTS.llm_fallback
    assert texts.error != texts.llm_fallback


def test_the_tenants_language_is_used_when_the_contact_has_none() -> None:
    spanish = built_in_texts("", "es")
    assert spanish.error.startswith("Lo sentimos")
    assert spanish.llm_fallback == (
        "Lo siento, no tengo esa información. Las opciones del menú siguen disponibles."
    )


def test_the_contacts_language_wins_over_the_tenants() -> None:
    assert built_in_texts("pt-BR", "es") == BUILT_IN_TEXTS["pt"]
    assert built_in_texts("de", "es").error.startswith("Entschuldigung")


@pytest.mark.parametrize(
    ("contact", "tenant", "expected"),
    [
        ("nl", "ca_ES", "ca"),  # a contact's language without built-in words: the tenant's
        ("", " FR ", "fr"),
        ("IT-it", "", "it"),
        ("nl", "ja", "en"),  # neither: English
        ("", "", "en"),
    ],
)
def test_tags_of_any_form_fall_back_in_order(contact: str, tenant: str, expected: str) -> None:
    assert built_in_texts(contact, tenant) == BUILT_IN_TEXTS[expected]


def test_every_built_in_sentence_is_quoted_in_the_flow_format_docs() -> None:
    """Authors choose between their own text and these by reading docs/flow-dsl.md."""
    docs = (Path(__file__).parents[3] / "docs" / "flow-dsl.md").read_text(encoding="utf-8")
    missing = [
        f"{language}: {sentence}"
        for language, texts in BUILT_IN_TEXTS.items()
        for sentence in (texts.error, texts.llm_fallback)
        if f'{language} "{sentence}"' not in docs
    ]
    assert missing == []
