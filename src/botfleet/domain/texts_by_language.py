"""A text an author writes once, or once per language: the LLM fallback's safe text (the
tenant's `llm.fallback_text`, a flow's `settings.llm_fallback_text`).

`{es: "Llámenos al ...", en: "Call us on ..."}` is picked for a turn as the platform's built-in
sentences are (`built_in_texts`): in the turn's language (`StepResult.language`: the flow's
`settings.language` as it rendered, else the contact's when the channel gives it), else in the
tenant's `language`, else the first one listed, the default (as in a flow's `texts`). A tag
finds itself ("pt-BR", "pt_br"), else its language ("pt"), else another tag of its language.
One text is every language's, sent as written (as before there were maps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from botfleet.domain.built_in_texts import primary_language, well_formed_tag

#: What such a setting holds once checked: a text, or texts by language tag.
TextByLanguage = str | dict[str, str]

#: As many languages as one text may be written in.
MAX_LANGUAGES = 50


def check_text_by_language(value: Any) -> Any:
    """`value` as a setting written once or per language: None and one text pass as they are;
    a map must have language tags for keys, each language once, and a text that is not blank
    under each. Raises `ValueError` in words that read after the setting's name and never
    quote the texts themselves."""
    if value is None or isinstance(value, str):
        return value
    shape = "a text, or one text per language ({es: '...', en: '...'})"
    if not isinstance(value, Mapping):
        raise ValueError(f"expected {shape}")
    if not value:
        raise ValueError(f"no language given: write {shape}")
    if len(value) > MAX_LANGUAGES:
        raise ValueError(f"written in {len(value)} languages: at most {MAX_LANGUAGES}")
    seen: dict[str, str] = {}
    for tag, text in value.items():
        if not isinstance(tag, str) or not well_formed_tag(tag):
            raise ValueError(
                f"{tag!r} is not a language tag: name each language by its code, as in 'es', "
                "'en' or 'pt-BR'"
            )
        if tag_key(tag) in seen:
            raise ValueError(f"{seen[tag_key(tag)]!r} and {tag!r} are the same language")
        seen[tag_key(tag)] = tag
        if not isinstance(text, str):
            raise ValueError(f"the value under {tag!r} is not a text")
        if not text.strip():
            raise ValueError(
                f"the text in {tag!r} is empty: write it, or leave {tag!r} out (a turn in "
                "that language then gets the tenant's language's text, else the first one)"
            )
    return dict(value)


def text_in_language(text: str | Mapping[str, str] | None, language: str, fallback: str) -> str:
    """The text to send on a turn in `language` (`StepResult.language`) of a tenant speaking
    `fallback`: one text as it is ("" for None); of a map, the text of `language`, else of
    `fallback`, else the first listed."""
    if text is None or isinstance(text, str):
        return text or ""
    key = language_key(text, (language, fallback))
    if key is not None:
        return text[key]
    return next(iter(text.values()), "")


def lacks_language(text: str | Mapping[str, str] | None, language: str) -> bool:
    """Whether a text given by language has none in `language`'s: a turn in it gets the first
    one listed, in another language."""
    return isinstance(text, Mapping) and language_key(text, (language,)) is None


def language_key(keys: Iterable[str], languages: Iterable[str]) -> str | None:
    """The first of `keys` (tags as written) that stands for the first of `languages` found:
    the same tag ("pt_BR" for "pt-br"), else its language ("pt"), else another tag of its
    language (the first listed). None when no language is there; blank ones are skipped."""
    written = list(keys)
    by_key = {tag_key(tag): tag for tag in reversed(written)}  # the first of equals wins
    for language in languages:
        if not language.strip():
            continue
        primary = primary_language(language)
        found = by_key.get(tag_key(language)) or by_key.get(primary)
        if found is None:
            found = next((tag for tag in written if primary_language(tag) == primary), None)
        if found is not None:
            return found
    return None


def tag_key(tag: str) -> str:
    """A tag as compared: "pt_BR", "PT-br" -> "pt-br"."""
    return tag.strip().replace("_", "-").casefold()
