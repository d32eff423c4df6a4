"""The channel's `greeting` on the chat page: written into the page as data in the tenant's
language, shown by chat.js as the bot's first bubble while the conversation has no messages
(chat_greeting_harness.js), never sent to the bot. Without it the page is as before."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import botfleet.adapters.channels.webchat as webchat
from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.channels.webchat.assets import load_assets
from botfleet.adapters.channels.webchat.greeting import Greeting
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.ports.channels import TurnResult
from botfleet.testing.runtime import make_tenant_config, running_app
from botfleet.web import JsonApi

STATIC = Path(webchat.__file__).parent / "static"
HARNESS = Path(__file__).with_name("chat_greeting_harness.js")
GREETING_BLOCK = re.compile(
    r'<script type="application/json" id="chat-greeting">(.*?)</script>', re.S
)
WORDS_BLOCK = re.compile(r'<script type="application/json" id="chat-words">(.*?)</script>', re.S)
#: Markup, a block's end and a comment's start: shown as written, never read as HTML.
HOSTILE = "¡Hola! <b>Pide cita</b> en https://bella.example/book </script><!-- & >"


class NoTurns:
    def __init__(self) -> None:
        self.received: list[InboundMessage] = []

    async def handle(self, message: InboundMessage) -> TurnResult:
        self.received.append(message)
        return TurnResult(message.message_id, ())

    async def accept(self, message: InboundMessage) -> bool:
        return True


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 5, 4, tzinfo=UTC)


def served_page(greeting: Greeting | None, language: str = "es") -> str:
    routes = build_routes(
        NoTurns(),
        InMemoryOutbox(),
        title="Bella",
        clock=Clock(),
        language=language,
        greeting=greeting,
    )
    return TestClient(JsonApi(routes, title="test")).get("/").text


def greeting_of(page: str) -> Any:
    found = GREETING_BLOCK.search(page)
    assert found is not None, "the page has no greeting block"
    return json.loads(found[1])


def test_the_greeting_is_data_in_the_page_that_cannot_end_its_block() -> None:
    page = served_page(HOSTILE)
    assert greeting_of(page) == HOSTILE
    assert "<b>" not in page
    assert "</script><!--" not in page
    # data the browser never runs: the page's only script is still chat.js
    assert [tag for tag in re.findall(r"<script[^>]*>", page) if "src=" in tag] == [
        tag for tag in re.findall(r"<script[^>]*>", served_page(None)) if "src=" in tag
    ]


@pytest.mark.parametrize(
    ("language", "shown"),
    [
        ("es", "¡Hola!"),
        ("es-MX", "¡Hola!"),
        ("en", "Hi!"),
        ("pt-AO", "Olá (PT)"),  # Portugal's words, Portugal's greeting
        ("pt", "Olá (BR)"),
        ("nl", "¡Hola!"),  # not given: the first language listed
    ],
)
def test_the_greeting_is_in_the_tenants_language(language: str, shown: str) -> None:
    greeting = {"es": "¡Hola!", "en": "Hi!", "pt-PT": "Olá (PT)", "pt-BR": "Olá (BR)"}
    assert greeting_of(served_page(greeting, language)) == shown


def test_without_a_greeting_the_page_is_as_before() -> None:
    page = served_page(None)
    assert "chat-greeting" not in page
    assert "__BOTFLEET_" not in page
    plain = load_assets("Bella", "es")
    greeted = load_assets("Bella", "es", greeting="¡Hola!")
    assert plain.page == greeted.page.replace(
        '\n<script type="application/json" id="chat-greeting">"¡Hola!"</script>', ""
    )
    # a data block: the page's policy (its style's hash) is the same
    assert plain.page_headers == greeted.page_headers
    assert plain.chat_js == greeted.chat_js
    assert plain.widget_js == greeted.widget_js


async def test_a_tenants_greeting_is_shown_and_never_sent() -> None:
    config = make_tenant_config(
        channel={"type": "webchat", "greeting": {"en": "Hi! Ask me about opening hours."}},
        language="en",
    )
    async with running_app(config) as chat:
        page = (await chat.http.get("/")).text
        embedded = (await chat.http.get("/", params={"embed": "1"})).text
        outbox = (await chat.http.get("/messages", params={"contact_id": "web-new"})).json()
        replies = await chat.say("web-new", "hello")
    assert greeting_of(page) == greeting_of(embedded) == "Hi! Ask me about opening hours."
    assert outbox == {"messages": [], "last": 0}
    # the visitor's first message is the conversation's first: the flow answers it alone
    assert [reply["text"] for reply in replies] == ["You said: hello"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_page_shows_the_greeting_until_the_conversation_has_messages() -> None:
    node = shutil.which("node")
    assert node is not None
    page = served_page(HOSTILE)
    words = WORDS_BLOCK.search(page)
    block = GREETING_BLOCK.search(page)
    assert words is not None
    assert block is not None
    result = subprocess.run(
        [node, str(HARNESS), str(STATIC / "chat.js"), words[1], block[1], HOSTILE],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
