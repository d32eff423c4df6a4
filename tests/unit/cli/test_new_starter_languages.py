"""`botfleet new --language X` writes the starter in X for each language the platform has
built-in texts for (a walk-through got an English starter under `--language es`, its first
chat mixing English and Spanish), and says so when it has to stay in English."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.cli.starter import starter_files
from botfleet.cli.starter_texts import ENGLISH_STARTER, STARTER_TEXTS, StarterTexts
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS
from botfleet.domain.outputs import Capabilities

LANGUAGES = ["en", "es", "pt", "fr", "de", "it", "ca"]


def test_there_is_a_starter_in_every_built_in_language() -> None:
    assert sorted(STARTER_TEXTS) == sorted(BUILT_IN_TEXTS) == sorted(LANGUAGES)
    for language, texts in STARTER_TEXTS.items():
        # A longer title is cut with "…" on WhatsApp: the owner's first menu would show it so.
        for title in (texts.hours_button, texts.message_button):
            assert len(title) <= Capabilities().max_button_title, (language, title)
        assert texts.say_menu in texts.menu_words, language
        assert all(word == word.lower() for word in texts.menu_words), language


def _folded(text: str) -> str:
    """As typed on a phone without accents: "Horário" -> "horario"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _typed_words_test(texts: StarterTexts) -> str:
    """A conversation test typing, as a contact would, the menu's titles and every menu word
    (from the free-text question, where a word not understood would be taken as the message)."""
    say = json.dumps
    steps = [f"  - say: {say(texts.say_hello)}\n    state: MENU\n"]
    for typed in dict.fromkeys([texts.hours_button.lower(), _folded(texts.hours_button)]):
        steps.append(
            f"  - say: {say(typed)}\n"
            f"    expect: [{say(texts.hours)}, {{type: buttons}}]\n"
            "    state: MENU\n"
        )
    for word in texts.menu_words:
        steps.append(
            f"  - say: {say(_folded(texts.message_button))}\n"
            f"    expect: [{say(texts.ask_message)}]\n"
            "    state: ASK_MESSAGE\n"
            f"  - say: {say(word.upper())}\n"
            f"    expect: [{{contains: {say(texts.help_question)}}}]\n"
            "    state: MENU\n"
        )
    return "name: typed words\ntenant: ../tenant.yaml\nsteps:\n" + "".join(steps)


@pytest.mark.parametrize("language", LANGUAGES)
def test_new_writes_a_starter_in_the_language_whose_tests_pass(
    invoke: Invoke, tmp_path: Path, language: str
) -> None:
    texts = STARTER_TEXTS[language]
    target = tmp_path / "casa_lola"
    result = invoke("new", "casa_lola", "--dir", target, "--language", language)
    assert result.exit_code == 0, result.output
    assert "in English" not in result.stdout

    validated = invoke("validate", target / "tenant.yaml", target / "casa_lola.yaml")
    assert validated.exit_code == 0, validated.output
    assert "0 error(s), 0 warning(s)" in validated.stdout
    tested = invoke("test", target / "tests", "--min-coverage", "100")
    assert tested.exit_code == 0, tested.output
    assert "2 passed, 0 failed" in tested.stdout

    written = "".join(path.read_text(encoding="utf-8") for path in target.rglob("*.yaml"))
    for said in (texts.greeting_to_ana, texts.hours, texts.ask_message, texts.business_name):
        assert said in written
    if language != "en":
        english = ENGLISH_STARTER
        for word in (english.business_name, english.hours_button, english.help_question):
            assert word not in written
        assert english.say_nothing not in written and "Welcome" not in written

    typed = target / "typed" / "typed_words.yaml"
    typed.parent.mkdir()
    typed.write_text(_typed_words_test(texts), encoding="utf-8")
    understood = invoke("test", typed.parent)
    assert understood.exit_code == 0, understood.output
    assert "1 passed, 0 failed" in understood.stdout


@pytest.mark.parametrize(("tag", "language"), [("es-MX", "es"), ("pt-BR", "pt"), ("ca_ES", "ca")])
def test_a_regional_tag_gets_its_language_s_starter(tag: str, language: str) -> None:
    files = starter_files("bot", language=tag)
    assert f"language: {tag}\n" in files["tenant.yaml"]
    assert STARTER_TEXTS[language].greeting_to_ana in files["tests/bot_menu.yaml"]


def test_a_language_without_a_starter_keeps_english_and_says_so(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "winkel"
    result = invoke("new", "winkel", "--dir", target, "--language", "nl")
    assert result.exit_code == 0, result.output
    said = [line for line in result.stdout.splitlines() if "in English" in line]
    assert said == [
        f"the starter's texts are in English (none written in 'nl'): translate them in "
        f"{target / 'winkel.yaml'} and {target / 'tests'}"
    ]
    english = starter_files("winkel", language="en")
    for path, text in starter_files("winkel", language="nl").items():
        assert text == english[path].replace("language: en\n", "language: nl\n")
    assert (target / "winkel.yaml").read_text(encoding="utf-8") == english["winkel.yaml"]
    tested = invoke("test", target / "tests")
    assert tested.exit_code == 0, tested.output
