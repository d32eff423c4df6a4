"""The chat page's script when the server refuses a message: 429, 503 and 413 in the page's own
words (every built-in language), any other refusal with the server's reason, and a message
refused for the moment sent again by the page after `Retry-After`, once, never twice and never
after a later message (chat_refusals_harness.js)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import botfleet.adapters.channels.webchat as webchat
from botfleet.adapters.channels.webchat.page_words import PAGE_WORDS, page_words

CHAT_JS = Path(webchat.__file__).parent / "static" / "chat.js"
HARNESS = Path(__file__).with_name("chat_refusals_harness.js")
#: The words a page carried before the refusal words: such a page (served before an upgrade)
#: may run the new script, and shows the server's reasons as before.
WORDS_BEFORE = (
    "not_delivered",
    "send_again",
    "send_again_hint",
    "not_accepted",
    "timed_out",
    "no_answer",
    "unreachable",
    "no_connection",
    "http_error",
    "confirm_reset",
    "options",
)

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def run_harness(words: dict[str, str]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None
    return subprocess.run(
        [node, str(HARNESS), str(CHAT_JS), json.dumps(words)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@needs_node
@pytest.mark.parametrize("language", sorted(PAGE_WORDS))
def test_refusals_are_told_in_the_pages_language_and_sent_again_once(language: str) -> None:
    result = run_harness(page_words(language).script_words())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@needs_node
def test_a_page_from_before_the_refusal_words_shows_the_servers_reasons() -> None:
    words = page_words("es").script_words()
    result = run_harness({name: words[name] for name in WORDS_BEFORE})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
