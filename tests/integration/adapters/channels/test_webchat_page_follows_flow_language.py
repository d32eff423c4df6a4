"""The chat page's own words follow the language the flow talks in: an answer's `language`
swaps the words chat.js shows and those written into the HTML, and `<html lang>`; a reload keeps
them, a reset goes back to the tenant's (chat_language_harness.js, on the script as served)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from botfleet.adapters.channels.webchat.assets import load_assets
from botfleet.adapters.channels.webchat.page_words import (
    PAGE_WORDS,
    SCRIPT_WORDS,
    SWAPPED_HTML_WORDS,
    answer_language,
    every_language,
    page_words,
)

HARNESS = Path(__file__).with_name("chat_language_harness.js")
#: "$&" would be the matched text in a String.replace replacement: the title stays as written.
TITLE = "Bella $& Co"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_speaks_the_flows_language(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None
    script = tmp_path / "chat.js"
    script.write_text(load_assets(TITLE, "es").chat_js, encoding="utf-8")
    languages = json.dumps(every_language(), ensure_ascii=False)
    result = subprocess.run(
        [node, str(HARNESS), str(script), TITLE, languages],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_every_language_has_every_word_the_page_swaps() -> None:
    sets = every_language()
    assert set(sets) == {*PAGE_WORDS, "pt-PT"}
    for key, words in sets.items():
        assert set(words) == {*SCRIPT_WORDS, *SWAPPED_HTML_WORDS}
        assert words == {name: getattr(page_words(key), name) for name in words}
    assert sets["pt-PT"]["typing"] == "{title} está a escrever…"


def test_the_words_for_every_language_stay_small() -> None:
    """They come in the cached script to every visitor, whatever the tenant's language."""
    size = len(json.dumps(every_language(), ensure_ascii=False).encode())
    assert size < 15_000, size


@pytest.mark.parametrize(
    ("turn", "named"),
    [
        ("", None),  # the flow chose nothing: the tenant's words stay
        ("nl", None),  # no words in it
        ("ca", "ca"),
        ("ca_es", "ca-ES"),
        ("PT-pt", "pt-PT"),
        ("pt-BR", "pt-BR"),
        ("en-GB", "en-GB"),
        ("es-<b>", "es"),  # not a tag: only its language
    ],
)
def test_the_answer_names_a_language_the_page_has_words_for(turn: str, named: str | None) -> None:
    assert answer_language(turn) == named
