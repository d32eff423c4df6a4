"""The web chat binding's `greeting`: the bot's first bubble on a chat with no messages yet.

Display only: the page shows it, nothing is sent or stored, so the flow still meets the
visitor's first message as a new contact's. One text, or one per language, chosen by the
tenant's `language` as the page's own words are (`page_words`): a conversation that has no
messages yet is one whose flow has chosen no language of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from botfleet.adapters.channels.webchat.page_words import page_words
from botfleet.domain.built_in_texts import primary_language
from botfleet.domain.texts_by_language import tag_key

#: The longest greeting, in characters: a bubble to read at a glance, not a page.
MAX_GREETING = 1000
#: As many languages as a greeting may be written in.
MAX_GREETING_LANGUAGES = 50
#: A language tag as tenant files write them ("es", "pt-BR", "ca_ES").
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")

GreetingText = Annotated[str, Field(min_length=1, max_length=MAX_GREETING)]
#: What the binding's `greeting` holds once checked: a text, or texts by language tag.
Greeting = (
    GreetingText
    | Annotated[dict[str, GreetingText], Field(min_length=1, max_length=MAX_GREETING_LANGUAGES)]
)

_SHAPE = "a text, or one text per language ({es: '¡Hola!', en: 'Hi!'})"


def check_greeting(value: Any) -> Any:
    """`value` as the binding's `greeting`: texts stripped of the blank lines and spaces
    around them (a YAML block scalar ends in a line break the bubble would show); refused in
    words that never quote the text itself (`channel_settings` shows no binding value)."""
    if value is None:
        return None
    if isinstance(value, str):
        return _text(value, "the greeting")
    if not isinstance(value, Mapping):
        raise ValueError(f"the greeting is {_SHAPE}")
    if not value:
        raise ValueError(f"no language given: the greeting is {_SHAPE}")
    if len(value) > MAX_GREETING_LANGUAGES:
        raise ValueError(
            f"the greeting is in {len(value)} languages: at most {MAX_GREETING_LANGUAGES}"
        )
    checked: dict[str, str] = {}
    seen: dict[str, str] = {}
    for tag, text in value.items():
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            raise ValueError(f"{tag!r} is not a language tag, as in 'es' or 'pt-BR'")
        if tag_key(tag) in seen:
            raise ValueError(f"{seen[tag_key(tag)]!r} and {tag!r} are the same language")
        seen[tag_key(tag)] = tag
        if not isinstance(text, str):
            raise ValueError(f"the greeting in {tag!r} is not a text")
        checked[tag] = _text(text, f"the greeting in {tag!r}")
    return checked


def _text(text: str, named: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise ValueError(f"{named} is empty: write its text, or leave greeting out")
    if len(stripped) > MAX_GREETING:
        raise ValueError(f"{named} is {len(stripped)} characters long: at most {MAX_GREETING}")
    return stripped


def greeting_in(greeting: Greeting | None, language: str) -> str | None:
    """The text to show on a page in the tenant's `language`: the greeting in that tag
    ("es-MX"), else in its language ("es"), else in another tag of that language, else in the
    first language listed (the default, as in a flow's `texts`). Portuguese prefers the
    variant of the page's words first: "pt-PT" for "pt-AO", "pt-BR" for "pt"."""
    if greeting is None or isinstance(greeting, str):
        return greeting
    by_key = {tag_key(tag): text for tag, text in greeting.items()}
    primary = primary_language(language)
    wanted = [tag_key(language)]
    if primary == "pt":  # the variant whose words the page shows (`page_words`)
        wanted.append("pt-pt" if page_words(language) == page_words("pt-PT") else "pt-br")
    wanted.append(primary)
    for key in wanted:
        if key in by_key:
            return by_key[key]
    for tag, text in greeting.items():
        if primary_language(tag) == primary:
            return text
    return next(iter(greeting.values()), None)
