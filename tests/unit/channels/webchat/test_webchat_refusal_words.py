"""Every built-in language has the chat page's words for a refused message (429, 503, 413, and
the page sending it again by itself), translated, with the placeholders chat.js fills in, and
they reach the page's data block."""

from __future__ import annotations

import dataclasses
import re

import pytest

from botfleet.adapters.channels.webchat.assets import load_assets
from botfleet.adapters.channels.webchat.page_words import (
    ENGLISH_WORDS,
    PAGE_WORDS,
    SCRIPT_WORDS,
    PageWords,
)

#: The words chat.js shows for a refusal, and the placeholders each must have.
REFUSAL_WORDS = {
    "too_many": set(),
    "wait_and_send_again": {"seconds"},
    "busy": set(),
    "try_again_soon": set(),
    "too_long": set(),
    "write_shorter": set(),
    "sending_again_in": {"reason", "seconds"},
}
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TRANSLATED = sorted(language for language in PAGE_WORDS if language != "en")


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_the_refusal_words_are_script_words() -> None:
    assert set(REFUSAL_WORDS) <= set(SCRIPT_WORDS)


@pytest.mark.parametrize("language", sorted(PAGE_WORDS))
def test_every_language_has_the_refusal_words(language: str) -> None:
    words = PAGE_WORDS[language].script_words()
    for name, expected in REFUSAL_WORDS.items():
        assert words[name].strip(), f"{language}: {name} is empty"
        assert placeholders(words[name]) == expected, f"{language}: {name}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_refusal_words_are_translated(language: str) -> None:
    words = PAGE_WORDS[language]
    for name in REFUSAL_WORDS:
        assert getattr(words, name) != getattr(ENGLISH_WORDS, name), f"{language}: {name}"


@pytest.mark.parametrize("language", sorted(PAGE_WORDS))
def test_every_word_has_the_placeholders_of_the_english_one(language: str) -> None:
    """chat.js and the server fill in the English word's placeholders, whatever the language."""
    words = PAGE_WORDS[language]
    for field in dataclasses.fields(PageWords):
        if field.name == "language":
            continue
        english = placeholders(getattr(ENGLISH_WORDS, field.name))
        assert placeholders(getattr(words, field.name)) == english, f"{language}: {field.name}"


@pytest.mark.parametrize("language", ["es", "de"])
def test_the_page_carries_the_refusal_words(language: str) -> None:
    page = load_assets("Bella", language).page
    for name in REFUSAL_WORDS:
        assert f'"{name}": ' in page
    assert PAGE_WORDS[language].try_again_soon in page
