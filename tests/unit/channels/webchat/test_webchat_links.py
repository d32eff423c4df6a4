"""Web addresses in the bot's text are links on the chat page (WhatsApp and Telegram make them
clickable; the page showed them as plain text): http and https only, in a new tab, no opener,
the text itself unchanged and never parsed as HTML."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import botfleet.adapters.channels.webchat as webchat

STATIC = Path(webchat.__file__).parent / "static"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_web_addresses_in_bot_text_are_safe_links() -> None:
    node = shutil.which("node")
    assert node is not None
    harness = Path(__file__).with_name("chat_links_harness.js")
    result = subprocess.run(
        [node, str(harness), str(STATIC / "chat.js")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_links_are_styled_on_the_page() -> None:
    page = (STATIC / "chat.html").read_text(encoding="utf-8")
    assert ".bubble a" in page
