"""A Spanish tenant's chat page and widget in a real browser: every word a visitor meets is
Spanish, from the message box to a message that was not delivered, and the words reach the
script without breaking the page's Content-Security-Policy.

Headless Chromium through Playwright, as in test_webchat_page_browser.py (skipped, saying so,
without either).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page, say
from served_kit import serve

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Text, output_to_dict
from botfleet.ports.channels import TurnResult
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium


class EchoBot:
    """Answers "Has dicho: <text>"; "lento" waits until `open` is set; "lang:<tag>" makes the
    flow's language `<tag>` from then on (`TurnResult.language`, as `settings.language`)."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        self.outbox = outbox
        self.open = threading.Event()
        self.open.set()
        self.language = ""

    async def handle(self, message: InboundMessage) -> TurnResult:
        if message.text == "lento":
            await asyncio.to_thread(self.open.wait, 10)
        if message.text.startswith("lang:"):
            self.language = message.text.removeprefix("lang:")
        reply = Text(f"Has dicho: {message.text}")
        await self.outbox.append(message.contact_id, output_to_dict(reply), datetime.now(UTC))
        return TurnResult(message.message_id, (reply,), language=self.language)

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the page always waits for the answer")


@pytest.fixture
def spanish_chat() -> Iterator[tuple[EchoBot, str]]:
    outbox = InMemoryOutbox()
    bot = EchoBot(outbox)
    routes = build_routes(bot, outbox, title="Bella", clock=SystemClock(), language="es")
    with serve(JsonApi(routes, title="test")) as url:
        yield bot, url
        bot.open.set()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page, and the console errors it logged (a policy violation is one)."""
    page = new_page(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield page, errors
    page.context.close()


def test_a_spanish_tenants_chat_speaks_spanish(
    browser_page: tuple[Any, list[str]], spanish_chat: tuple[EchoBot, str]
) -> None:
    page, errors = browser_page
    bot, url = spanish_chat
    page.goto(url)
    assert page.evaluate("document.documentElement.lang") == "es"
    box = page.get_by_role("textbox", name="Mensaje")
    expect(box).to_have_attribute("placeholder", "Escribir un mensaje…")
    expect(page.locator("button[type=submit]")).to_have_text("Enviar")

    bot.open.clear()
    say(page, "lento")
    expect(page.locator("#typing")).to_have_text("Bella está escribiendo…")
    expect(page.locator("#typing")).to_be_visible()
    bot.open.set()
    expect(page.locator(".msg.bot", has_text="Has dicho: lento")).to_have_count(1)

    # lost on the way: marked, explained and offered again, in Spanish
    page.route("**/inbound", lambda route: route.abort())
    say(page, "¿hay alguien?")
    failed = page.locator(".msg.user.failed")
    expect(failed).to_contain_text("No entregado: sin conexión")
    expect(page.locator("#status")).to_have_text(
        "No se ha podido conectar con el chat. Conviene comprobar la conexión y volver a "
        "intentarlo."
    )
    retry = failed.get_by_role("button", name="Enviar de nuevo")
    expect(retry).to_have_attribute("title", "Enviar este mensaje de nuevo")
    page.unroute("**/inbound")
    retry.click()
    expect(page.locator(".msg.bot", has_text="Has dicho: ¿hay alguien?")).to_have_count(1)
    expect(page.locator(".msg.user.failed")).to_have_count(0)

    reset = page.locator("#reset")
    expect(reset).to_have_text("Reiniciar conversación")
    reset.click()
    expect(reset).to_contain_text("Pulsar otra vez para empezar de nuevo")
    reset.click()
    expect(page.locator(".msg")).to_have_count(0)
    expect(reset).to_have_text("Reiniciar conversación")
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_the_widget_of_a_spanish_tenant_opens_a_spanish_chat(
    browser_page: tuple[Any, list[str]], spanish_chat: tuple[EchoBot, str]
) -> None:
    page, _ = browser_page
    _, url = spanish_chat
    # the business's own page: any page with the one tag (here made up by the browser, on the
    # data plane's host, so that Chromium's private network rules do not get in the way)
    site = url + "salon.html"
    page.route(
        site,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<!doctype html><title>Salón</title><script src="{url}widget.js"></script>',
        ),
    )
    page.goto(site)
    bubble = page.get_by_role("button", name="Abrir chat: Bella")
    bubble.click()
    expect(page.get_by_role("button", name="Cerrar chat")).to_have_count(1)
    chat = page.frame_locator("iframe")
    expect(chat.locator("#text")).to_have_attribute("placeholder", "Escribir un mensaje…")
    chat.locator("#text").fill("hola")
    chat.locator("#text").press("Enter")
    expect(chat.locator(".msg.bot", has_text="Has dicho: hola")).to_have_count(1)


def test_the_page_follows_the_language_the_flow_talks_in(
    browser_page: tuple[Any, list[str]], spanish_chat: tuple[EchoBot, str]
) -> None:
    """A Spanish tenant's flow that talks English to this contact (`settings.language`): the
    page's words and `<html lang>` follow from its first English answer, stay on a reload, and
    go back to Spanish with a new conversation."""
    page, errors = browser_page
    bot, url = spanish_chat
    page.goto(url)
    say(page, "hola")
    expect(page.locator(".msg.bot", has_text="Has dicho: hola")).to_have_count(1)
    expect(page.get_by_role("textbox", name="Mensaje")).to_have_count(1)

    say(page, "lang:en")
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_have_attribute("placeholder", "Type a message…")
    assert page.evaluate("document.documentElement.lang") == "en"
    expect(page.locator("button[type=submit]")).to_have_text("Send")
    expect(page.locator("#reset")).to_have_text("Reset conversation")
    bot.open.clear()
    say(page, "lento")
    expect(page.locator("#typing")).to_have_text("Bella is typing…")
    bot.open.set()
    expect(page.locator(".msg.bot", has_text="Has dicho: lento")).to_have_count(1)
    page.route("**/inbound", lambda route: route.abort())
    say(page, "anyone?")
    expect(page.locator(".msg.user.failed")).to_contain_text("Not delivered: no connection")
    expect(page.locator("#status")).to_have_text(
        "Could not reach the chat. Check your connection and try again."
    )
    page.unroute("**/inbound")

    page.reload()  # the conversation goes on in English
    expect(page.get_by_role("textbox", name="Message")).to_have_count(1)
    assert page.evaluate("document.documentElement.lang") == "en"
    reset = page.locator("#reset")
    reset.click()
    expect(reset).to_contain_text("Press again to start over")
    reset.click()
    expect(page.locator(".msg")).to_have_count(0)
    expect(reset).to_have_text("Reiniciar conversación")
    expect(page.get_by_role("textbox", name="Mensaje")).to_have_attribute(
        "placeholder", "Escribir un mensaje…"
    )
    assert page.evaluate("document.documentElement.lang") == "es"
    assert [e for e in errors if "Content Security Policy" in e] == []
