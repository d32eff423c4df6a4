"""The platform's own texts (calendar messages, the apology and the LLM's safe text, the chat
page's words) take no side between the familiar and the formal "you": a clinic's flow says
usted, a hairdresser's tú, and either shows these texts in the middle of its conversation.

The lists are words that only a second person says (pronouns, possessives, the imperatives these
texts would need); a few are also other words ("prueba" is a noun too), which no text here needs.
"""

from __future__ import annotations

import re
from dataclasses import astuple

import pytest

from botfleet.adapters.channels.webchat.page_words import PAGE_WORDS, page_words
from botfleet.adapters.connectors.calendar.texts import CALENDAR_TEXTS
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.degrade import BUILT_IN_MENU_TEXTS

#: Per language: (familiar, formal) words, matched as whole words in any case.
SECOND_PERSON: dict[str, tuple[str, str]] = {
    "es": (
        "tu tus te ti contigo tuyo tuya tuyos tuyas puedes quieres tienes has eres estás "
        "elige escoge revisa comprueba prueba inténtalo intenta vuelve pulsa toca escribe espera "
        "envía envíalo responde",
        "usted ustedes su sus elija escoja revise compruebe pruebe inténtelo intente vuelva "
        "pulse toque escriba espere envíe envíelo responda",
    ),
    "ca": (
        "tu teu teva teus teves et t' pots vols tens has ets estàs tria revisa comprova prova "
        "torna torna-ho prem escriu escriu-ne espera envia obre tanca reinicia respon",
        "vostè vostès seu seva seus seves triï revisi comprovi provi torni premi escrigui esperi "
        "enviï obri tanqui reiniciï respongui",
    ),
    "pt": (
        "tu te ti contigo teu tua teus tuas escolhe tenta verifica aguarda digita escreve "
        "pressiona prime liga desculpa responde",
        "você vocês senhor senhora seu sua seus suas escolha tente verifique aguarde digite "
        "escreva envie pressione prima ligue desculpe responda",
    ),
    "fr": (
        "tu te toi ton ta tes choisis réessaie vérifie écris attends appuie réponds",
        "vous votre vos veuillez choisissez réessayez vérifiez écrivez attendez appuyez renvoyez "
        "répondez",
    ),
    "de": ("du dich dir dein deine deinen deinem deiner wähle prüfe versuche warte schreibe", ""),
    "it": (
        "tu ti te tuo tua tuoi tue scegli riprova controlla premi scrivi attendi invia apri "
        "chiudi ricomincia rispondi",
        "scelga riprovi controlli prema scriva attenda invii apra chiuda ricominci risponda",
    ),
}
#: Formal pronouns that are other words in lower case ("sie": they, "lei": she), so matched
#: only as written with a capital.
CAPITALISED_FORMAL = {"de": "Sie Ihr Ihre Ihren Ihrem Ihrer Ihnen", "it": "Lei Suo Sua Suoi Sue"}


def _pattern(words: str, flags: int = re.IGNORECASE) -> re.Pattern[str] | None:
    """Whole words, a hyphen counting as part of one ("vous" is not in "rendez-vous"); a word
    ending in an apostrophe ("t'") is the start of the next one."""
    if not words:
        return None
    alternatives = "|".join(
        re.escape(word) + ("" if word.endswith("'") else r"(?![\w-])") for word in words.split()
    )
    return re.compile(rf"(?<![\w-])(?:{alternatives})", flags)


def second_person(language: str, text: str) -> list[str]:
    """The words of `text` that say "you" in `language`, familiar or formal."""
    familiar, formal = SECOND_PERSON[language]
    patterns = [
        _pattern(familiar),
        _pattern(formal),
        _pattern(CAPITALISED_FORMAL.get(language, ""), 0),
    ]
    return [m.group() for p in patterns if p is not None for m in p.finditer(text)]


def platform_texts(language: str) -> list[str]:
    calendar = CALENDAR_TEXTS[language]
    texts = [
        *calendar.refusals.values(),
        calendar.booked,
        calendar.moved,
        calendar.cancelled,
        calendar.already_cancelled,
        *astuple(BUILT_IN_TEXTS[language]),
        *astuple(PAGE_WORDS[language])[1:],  # after `language`, a code
        *astuple(BUILT_IN_MENU_TEXTS[language]),
    ]
    if language == "pt":  # Portugal's page words too ("pt" alone is Brazil's)
        texts.extend(astuple(page_words("pt-PT"))[1:])
    assert all(isinstance(text, str) for text in texts)
    return texts


@pytest.mark.parametrize("language", sorted(SECOND_PERSON))
def test_no_platform_text_says_you_familiar_or_formal(language: str) -> None:
    found = {
        text: words for text in platform_texts(language) if (words := second_person(language, text))
    }
    assert found == {}


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        # the texts as they were, each in one register
        ("es", "Lo sentimos, esa hora se acaba de ocupar. Elige otra, por favor.", ["Elige"]),
        ("es", "Revisa tus citas, por favor.", ["Revisa", "tus"]),
        ("es", "Comprueba tu conexión e inténtalo de nuevo.", ["tu", "Comprueba", "inténtalo"]),
        ("es", "No hemos encontrado esa cita a su nombre.", ["su"]),
        ("ca", "Tria'n una altra, si us plau.", ["Tria"]),
        ("ca", "Revisa les teves cites.", ["Revisa", "teves"]),
        ("ca", "Torna-ho a provar d'aquí a una estona.", ["Torna-ho"]),
        ("ca", "No hem trobat aquesta cita al teu nom.", ["teu"]),
        ("fr", "Veuillez vérifier vos rendez-vous.", ["Veuillez", "vos"]),
        ("de", "Bitte prüfen Sie Ihre Termine.", ["Sie", "Ihre"]),
        ("it", "Controlla i tuoi appuntamenti.", ["Controlla", "tuoi"]),
        ("pt", "Verifique sua conexão.", ["Verifique", "sua"]),
        # the menu hints as they were
        ("es", "Responde con un número.", ["Responde"]),
        ("ca", "Respon amb un número.", ["Respon"]),
        ("it", "Rispondi con un numero.", ["Rispondi"]),
        ("fr", "Répondez par un numéro.", ["Répondez"]),
        ("pt", "Responda com um número.", ["Responda"]),
    ],
)
def test_the_check_finds_either_register(language: str, text: str, expected: list[str]) -> None:
    assert sorted(second_person(language, text)) == sorted(expected)


def test_every_language_with_a_formal_you_is_checked() -> None:
    assert set(SECOND_PERSON) == set(CALENDAR_TEXTS) - {"en"}
    assert set(SECOND_PERSON) == set(BUILT_IN_TEXTS) - {"en"} == set(PAGE_WORDS) - {"en"}
    assert set(SECOND_PERSON) == set(BUILT_IN_MENU_TEXTS) - {"en"}
