"""The sentences the platform itself may send a contact, in the languages it knows.

A flow's own texts always win (`settings.error_text`, `settings.llm_fallback_text`, the tenant's
`llm.fallback_text`, `settings.media_text`); these fill in when it wrote none. They are chosen as
the menu words are (`degrade.menu_texts`): the flow's `settings.language` when it names one of
these languages, else the contact's language when the channel gives it (Telegram), else the
tenant's `language`, else English (the engine puts the first two together in
`StepResult.language`). Only error paths, the LLM's refusals and content the flow cannot read (a
voice note nothing takes) ask for them.

Register: they land in conversations that businesses write, some in the familiar "you" (tú, tu,
du) and some in the formal one (usted, vostè, vous, Sie, Lei, o senhor), so they take no side:
no second person at all, neither pronoun nor imperative, but impersonal phrasing ("Se puede
volver a intentar...", "Merci de réessayer...", "Bitte ... versuchen."). English "you" has no
register and stays. `tests/unit/domain/test_platform_texts_register.py` guards it.
"""

from __future__ import annotations

import re
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
    #: The LLM fallback's answer to a question over `max_question_chars` (not asked): "no
    #: information" would mislead someone who wrote at length.
    llm_too_long: str
    #: Said before the fallback to a voice note, photo, video, document or other content that
    #: nothing in the flow takes: the menu asked again alone reads as if it went unnoticed.
    media: str


ENGLISH_TEXTS = BuiltInTexts(
    error="Sorry, something went wrong on our side. Please try again in a moment.",
    llm_fallback="I'm sorry, I don't have that information. Please choose an option from the menu.",
    llm_too_long="Your message is too long for me to answer. Please ask again in a few words.",
    media="Sorry, I can only read text messages. Please type your answer.",
)

#: By language (ISO 639-1 code), the languages of the built-in menu words; others get English.
BUILT_IN_TEXTS: Mapping[str, BuiltInTexts] = MappingProxyType(
    {
        "en": ENGLISH_TEXTS,
        "es": BuiltInTexts(
            error="Lo sentimos, algo ha fallado por nuestra parte. Se puede volver a intentar "
            "en un momento.",
            llm_fallback="Lo siento, no tengo esa información. Las opciones del menú siguen "
            "disponibles.",
            llm_too_long="El mensaje es demasiado largo para responderlo. Se puede preguntar de "
            "nuevo en pocas palabras.",
            media="Lo siento, solo puedo leer mensajes de texto. Basta con responder por escrito.",
        ),
        "pt": BuiltInTexts(
            error="Lamentamos, ocorreu um erro do nosso lado. É possível tentar novamente "
            "daqui a pouco.",
            llm_fallback="Lamento, não tenho essa informação. As opções do menu continuam "
            "disponíveis.",
            llm_too_long="A mensagem é longa demais para ser respondida. É possível perguntar de "
            "novo em poucas palavras.",
            media="Lamento, só consigo ler mensagens de texto. Basta responder por escrito.",
        ),
        "fr": BuiltInTexts(
            error="Désolé, un problème est survenu de notre côté. Merci de réessayer dans un "
            "instant.",
            llm_fallback="Désolé, je n'ai pas cette information. Merci de choisir une option du "
            "menu.",
            llm_too_long="Ce message est trop long pour y répondre. Merci de reformuler la "
            "question en quelques mots.",
            media="Désolé, je ne peux lire que les messages texte. Il suffit de répondre par "
            "écrit.",
        ),
        "de": BuiltInTexts(
            error="Entschuldigung, bei uns ist etwas schiefgelaufen. Bitte gleich noch einmal "
            "versuchen.",
            llm_fallback="Leider habe ich dazu keine Informationen. Bitte eine Option aus dem "
            "Menü wählen.",
            llm_too_long="Diese Nachricht ist zu lang für eine Antwort. Bitte die Frage in "
            "wenigen Worten stellen.",
            media="Leider kann ich nur Textnachrichten lesen. Bitte schriftlich antworten.",
        ),
        "it": BuiltInTexts(
            error="Ci dispiace, qualcosa è andato storto da parte nostra. È possibile riprovare "
            "tra un momento.",
            llm_fallback="Mi dispiace, non ho questa informazione. Le opzioni del menu restano "
            "disponibili.",
            llm_too_long="Il messaggio è troppo lungo per rispondere. È possibile riformulare la "
            "domanda in poche parole.",
            media="Mi dispiace, posso leggere solo messaggi di testo. Basta rispondere per "
            "iscritto.",
        ),
        "ca": BuiltInTexts(
            error="Ho sentim, alguna cosa ha fallat per part nostra. Es pot tornar a provar "
            "d'aquí a una estona.",
            llm_fallback="Ho sento, no tinc aquesta informació. Les opcions del menú continuen "
            "disponibles.",
            llm_too_long="El missatge és massa llarg per respondre'l. Es pot tornar a preguntar "
            "en poques paraules.",
            media="Ho sento, només puc llegir missatges de text. N'hi ha prou de respondre "
            "per escrit.",
        ),
    }
)


@lru_cache(maxsize=256)
def built_in_texts(language: str, fallback_language: str = "") -> BuiltInTexts:
    """The sentences of `language` (the contact's) if built in, else of `fallback_language`
    (the tenant's), else English. Tags such as "es", "pt-BR" or "ca_ES", in any case."""
    return in_language(BUILT_IN_TEXTS, language, fallback_language)


#: A language tag as written in settings and by channels ("es", "pt-PT", "ca_ES"): ASCII letters,
#: then up to three subtags. A rendered `settings.language` that is anything else is no language.
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


def well_formed_tag(text: str) -> bool:
    """Whether `text` is written as a language tag (not merely one that starts like one: a
    rendered value reaches pages and the LLM's prompt, and contacts may have typed it)."""
    return _LANGUAGE_TAG.fullmatch(text) is not None


def built_in_language(tag: str) -> str:
    """The primary language of `tag` when the platform has its words ("ca-ES" -> "ca"), else
    "" (blank, or a language it does not write, such as "nl")."""
    language = primary_language(tag)
    return language if language in BUILT_IN_TEXTS else ""


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
