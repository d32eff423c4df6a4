"""A text written once or per language (the LLM's safe text): the pick for a turn's language,
else the tenant's, else the first listed, and the checks of a map (docs/llm.md,
"Configuration")."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.domain.texts_by_language import (
    check_text_by_language,
    lacks_language,
    language_key,
    text_in_language,
)

BILINGUAL = {"es": "Llámenos.", "en": "Call us."}


@pytest.mark.parametrize(
    ("language", "tenant", "expected"),
    [
        ("en", "es", "Call us."),  # the turn's language
        ("es", "en", "Llámenos."),
        ("EN-gb", "es", "Call us."),  # a region and any case find the language
        ("es_MX", "en", "Llámenos."),
        ("fr", "es", "Llámenos."),  # a language the map lacks: the tenant's
        ("", "en", "Call us."),  # no language for the turn: the tenant's
        ("fr", "de", "Llámenos."),  # neither: the first listed
        ("", "", "Llámenos."),
    ],
)
def test_a_map_gives_the_text_of_the_turn_else_the_tenant_else_the_first(
    language: str, tenant: str, expected: str
) -> None:
    assert text_in_language(BILINGUAL, language, tenant) == expected


@pytest.mark.parametrize("text", ["Call us.", ""])
def test_one_text_is_every_languages_as_written(text: str) -> None:
    assert text_in_language(text, "es", "en") == text
    assert text_in_language(None, "es", "en") == ""


def test_a_tag_prefers_itself_then_its_language_then_another_tag_of_it() -> None:
    texts = {"pt-BR": "Ligue.", "pt": "Telefone.", "pt_PT": "Telefone-nos."}
    assert text_in_language(texts, "pt-pt", "en") == "Telefone-nos."
    assert text_in_language(texts, "pt-AO", "en") == "Telefone."  # its language
    regions = {"en": "Call us.", "pt-BR": "Ligue.", "pt-PT": "Telefone-nos."}
    assert text_in_language(regions, "pt", "en") == "Ligue."  # the first tag of it listed
    assert language_key(regions, ("nl", "PT-pt")) == "pt-PT"
    assert language_key(regions, ("nl", " ")) is None


def test_a_map_lacks_a_language_none_of_its_tags_is_in() -> None:
    assert lacks_language(BILINGUAL, "pt-PT")
    assert not lacks_language(BILINGUAL, "es-ES")
    assert not lacks_language({"pt-BR": "Ligue."}, "pt-PT")  # Portuguese all the same
    assert not lacks_language("Call us.", "pt")  # one text is every language's
    assert not lacks_language(None, "pt")


@pytest.mark.parametrize("value", [None, "", "Call us.", BILINGUAL, {"pt_BR": "Ligue."}])
def test_a_text_or_a_well_formed_map_passes(value: Any) -> None:
    assert check_text_by_language(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"spanish": "Llámenos."}, "'spanish' is not a language tag"),
        ({"es es": "Llámenos."}, "'es es' is not a language tag"),
        ({1: "Llámenos."}, "1 is not a language tag"),
        ({"es": "Llámenos.", "ES": "Llámenos."}, "'es' and 'ES' are the same language"),
        ({"pt-BR": "Ligue.", "pt_br": "Ligue."}, "'pt-BR' and 'pt_br' are the same language"),
        ({"es": "Llámenos.", "en": " \n"}, "the text in 'en' is empty"),
        ({"es": ["Llámenos."]}, "the value under 'es' is not a text"),
        ({}, "no language given"),
        (["Llámenos.", "Call us."], "expected a text, or one text per language"),
        ({f"x{i:02d}": "t" for i in range(51)}, "written in 51 languages: at most 50"),
    ],
)
def test_a_wrong_map_is_refused_in_words(value: Any, problem: str) -> None:
    with pytest.raises(ValueError, match="^" + problem.replace("[", r"\[")):
        check_text_by_language(value)


def test_the_refusal_never_quotes_the_texts() -> None:
    with pytest.raises(ValueError) as caught:
        check_text_by_language({"es": "Secreto 1234", "e s": "Secreto 1234"})
    assert "Secreto" not in str(caught.value)
