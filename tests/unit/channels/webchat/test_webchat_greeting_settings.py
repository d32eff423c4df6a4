"""`greeting` in a web chat binding: a text, or one per language, bounded, refused in words that
name the key (and never quote the text); the page's text chosen by the tenant's language."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.channels.webchat.greeting import MAX_GREETING, greeting_in
from botfleet.adapters.channels.webchat.settings import webchat_settings
from botfleet.control_plane.binding_schemas import validate_channel
from botfleet.control_plane.errors import InvalidInput
from botfleet.domain.errors import ConfigError

SECRET_LIKE = "Hola, pregunta por el horario"


def test_left_out_there_is_none() -> None:
    assert webchat_settings({"type": "webchat"}).greeting is None


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("Hi! Ask me about opening hours.", "Hi! Ask me about opening hours."),
        ("Hi!\nAsk me anything.\n", "Hi!\nAsk me anything."),  # a YAML block's final newline
        ("x" * MAX_GREETING, "x" * MAX_GREETING),
        ({"es": " ¡Hola! ", "pt_BR": "Olá!"}, {"es": "¡Hola!", "pt_BR": "Olá!"}),
    ],
)
def test_a_text_or_one_per_language(written: Any, kept: Any) -> None:
    assert webchat_settings({"greeting": written}).greeting == kept


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("", "the greeting is empty: write its text, or leave greeting out"),
        (" \n ", "the greeting is empty"),
        ("x" * (MAX_GREETING + 1), f"the greeting is 1001 characters long: at most {MAX_GREETING}"),
        ({"es": "y" * 2000}, "the greeting in 'es' is 2000 characters long: at most 1000"),
        ({"es": ""}, "the greeting in 'es' is empty"),
        ({"es": 3}, "the greeting in 'es' is not a text"),
        ({}, "no language given: the greeting is a text, or one text per language"),
        ({"spanish!": "x"}, "'spanish!' is not a language tag, as in 'es' or 'pt-BR'"),
        ({"es": "x", "ES": "y"}, "'es' and 'ES' are the same language"),
        (["Hola"], "the greeting is a text, or one text per language"),
        (3, "the greeting is a text, or one text per language"),
        ({f"en-x{i}": "x" for i in range(51)}, "the greeting is in 51 languages: at most 50"),
    ],
)
def test_a_wrong_greeting_is_refused_naming_the_key(written: Any, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"type": "webchat", "greeting": written}, source="tenants/bella.yaml")
    message = str(caught.value)
    assert "tenants/bella.yaml" in message
    assert "channel.greeting: web chat channel: " + says in message


def test_the_text_is_never_quoted_in_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        webchat_settings({"greeting": SECRET_LIKE * 100})
    assert SECRET_LIKE not in str(caught.value)


def test_the_control_plane_checks_it_too() -> None:
    assert validate_channel({"type": "webchat", "greeting": "Hi!"})["greeting"] == "Hi!"
    with pytest.raises(InvalidInput) as caught:
        validate_channel({"type": "webchat", "greeting": "x" * (MAX_GREETING + 1)})
    assert caught.value.field == "channel.greeting"
    assert "at most 1000" in caught.value.detail


GREETINGS = {"ca": "Hola!", "es": "¡Hola!", "en": "Hi!", "pt-BR": "Olá (BR)", "pt-PT": "Olá (PT)"}


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("es", "¡Hola!"),
        ("ES_es", "¡Hola!"),  # its language, written as tenant files may
        ("en-GB", "Hi!"),
        ("pt-BR", "Olá (BR)"),
        ("pt_pt", "Olá (PT)"),
        ("pt", "Olá (BR)"),  # Brazil's, as the page's words for "pt"
        ("pt-AO", "Olá (PT)"),  # Portugal's, as the page's words for "pt-AO"
        ("de", "Hola!"),  # none in German: the first listed
    ],
)
def test_the_page_shows_the_tenants_language(language: str, shown: str) -> None:
    assert greeting_in(GREETINGS, language) == shown


def test_another_tag_of_the_language_before_the_default() -> None:
    assert greeting_in({"en": "Hi!", "es-ES": "¡Hola!"}, "es-MX") == "¡Hola!"
    assert greeting_in({"pt-PT": "Olá (PT)"}, "pt-BR") == "Olá (PT)"
    assert greeting_in("Hi!", "es") == "Hi!"
    assert greeting_in(None, "es") is None
