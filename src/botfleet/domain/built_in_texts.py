"""The sentences the platform itself may send a contact, in the languages it knows.

A flow's own texts always win (`settings.error_text`, `settings.llm_fallback_text`, the tenant's
`llm.fallback_text`); these fill in when it wrote none. They are chosen as the menu words are
(`degrade.menu_texts`): the contact's language when the channel gives it (Telegram), else the
tenant's `language`, else English. Only error paths and the LLM's refusals ask for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TypeVar

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class BuiltInTexts:
    """The platform's own sentences in one language."""

    #: The apology when something failed and the flow has no text of its own for it.
    error: str
    #: The LLM fallback's safe answer when it cannot answer from the knowledge document.
    llm_fallback: str


ENGLISH_TEXTS = BuiltInTexts(
    error="Sorry, something went wrong on our side. Please try again in a moment.",
    llm_fallback="I'm sorry, I don't have that information. Please choose an option from the menu.",
)

#: By language (ISO 639-1 code), the languages of the built-in menu words; others get English.
#: The forms of address match those words' (tú in es/it/ca, você in pt, vous in fr, Sie in de).
BUILT_IN_TEXTS: Mapping[str, BuiltInTexts] = MappingProxyType(
    {
        "en": ENGLISH_TEXTS,
        "es": BuiltInTexts(
            error="Lo sentimos, algo ha fallado por nuestra parte. Inténtalo de nuevo en un "
            "momento.",
            llm_fallback="Lo siento, no tengo esa información. Elige una opción del menú.",
        ),
        "pt": BuiltInTexts(
            error="Desculpe, ocorreu um erro do nosso lado. Tente novamente daqui a pouco.",
            llm_fallback="Desculpe, não tenho essa informação. Escolha uma opção do menu.",
        ),
        "fr": BuiltInTexts(
            error="Désolé, un problème est survenu de notre côté. Veuillez réessayer dans un "
            "instant.",
            llm_fallback="Désolé, je n'ai pas cette information. Veuillez choisir une option du "
            "menu.",
        ),
        "de": BuiltInTexts(
            error="Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es "
            "gleich noch einmal.",
            llm_fallback="Leider habe ich dazu keine Informationen. Bitte wählen Sie eine Option "
            "aus dem Menü.",
        ),
        "it": BuiltInTexts(
            error="Ci dispiace, qualcosa è andato storto da parte nostra. Riprova tra un momento.",
            llm_fallback="Mi dispiace, non ho questa informazione. Scegli un'opzione dal menu.",
        ),
        "ca": BuiltInTexts(
            error="Ho sentim, alguna cosa ha fallat per part nostra. Torna-ho a provar d'aquí a "
            "una estona.",
            llm_fallback="Ho sento, no tinc aquesta informació. Tria una opció del menú.",
        ),
    }
)


@lru_cache(maxsize=256)
def built_in_texts(language: str, fallback_language: str = "") -> BuiltInTexts:
    """The sentences of `language` (the contact's) if built in, else of `fallback_language`
    (the tenant's), else English. Tags such as "es", "pt-BR" or "ca_ES", in any case."""
    return in_language(BUILT_IN_TEXTS, language, fallback_language)


def in_language(table: Mapping[str, _T], language: str, fallback_language: str) -> _T:
    """`table`'s entry for `language`, else for `fallback_language`, else its "en" one."""
    return (
        table.get(primary_language(language))
        or table.get(primary_language(fallback_language))
        or table["en"]
    )


def primary_language(tag: str) -> str:
    """The primary language of a tag: "pt-BR", "ca_ES", " ES " -> "pt", "ca", "es"."""
    return tag.strip().replace("_", "-").split("-", 1)[0].casefold()
