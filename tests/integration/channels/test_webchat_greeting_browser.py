"""The channel's `greeting` in a real browser: the bot's first bubble on the chat page and in the
widget on the business's site, as text, in the log screen readers follow, never sent; gone
once the conversation has messages.

Headless Chromium through Playwright, as in test_webchat_page_browser.py (skipped, saying so,
without either).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page, say
from served_kit import serve
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from widget_site_kit import EchoBot, salon_page

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium

GREETING = 'Hi! <img src=x onerror="window.pwned=1"> Ask me about opening hours.'

#: Records, from before the page's own script, when the page loaded and when each bot bubble
#: came into the log: a live region announces what is added to it once the page is there.
WATCH = """
window.loadedAt = null;
window.botBubbles = [];
addEventListener("load", () => { window.loadedAt = performance.now(); });
new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of change.addedNodes) {
      if (node.classList && node.classList.contains("bot")) {
        window.botBubbles.push({ at: performance.now(), text: node.textContent });
      }
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


@pytest.fixture
def bot() -> EchoBot:
    return EchoBot(InMemoryOutbox())


@pytest.fixture
def chat(bot: EchoBot) -> Iterator[str]:
    routes = build_routes(
        bot, bot.outbox, title="Bella", clock=SystemClock(), greeting={"en": GREETING}
    )
    with serve(JsonApi(routes, title="test")) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def test_the_page_greets_a_new_visitor_until_the_conversation_has_messages(
    page: Any, chat: str, bot: EchoBot
) -> None:
    page.add_init_script(WATCH)
    page.goto(chat)
    greeting = page.locator("#log[role=log][aria-live=polite] > .msg.bot")
    expect(greeting).to_have_text(GREETING)  # as text: the markup shows, nothing runs
    assert page.evaluate("window.pwned") is None
    assert page.locator("#log img").count() == 0
    added = page.evaluate("window.botBubbles")
    assert [bubble["text"] for bubble in added] == [GREETING]
    assert added[0]["at"] > page.evaluate("window.loadedAt")  # announced, as answers are
    assert bot.texts == []
    kept = page.evaluate("JSON.parse(localStorage.getItem('botfleet.webchat:/'))")
    assert kept is None or kept["transcript"] == []

    say(page, "hello")
    expect(page.locator(".msg")).to_have_text([GREETING, "hello", "You said 5 characters"])
    assert bot.texts == ["hello"]

    page.reload()
    expect(page.locator(".msg")).to_have_text(["hello", "You said 5 characters"])
    page.wait_for_timeout(1000)  # past the greeting's moment: it does not come
    expect(page.locator(".msg")).to_have_count(2)

    page.locator("#reset").click()
    page.locator("#reset").click()  # confirmed: a new conversation, greeted
    expect(page.locator(".msg")).to_have_text([GREETING])


def test_the_widget_greets_on_the_business_site(page: Any, chat: str, bot: EchoBot) -> None:
    body = salon_page(chat)
    with serve(Starlette(routes=[Route("/", lambda _request: HTMLResponse(body))])) as salon:
        page.goto(salon)
        page.get_by_role("button", name="Open chat: Bella").click()
        frame = page.frame_locator("iframe")
        expect(frame.locator("#log .msg.bot")).to_have_text(GREETING)
        frame.locator("#text").fill("hello")
        frame.locator("#text").press("Enter")
        expect(frame.locator(".msg")).to_have_text([GREETING, "hello", "You said 5 characters"])
        assert bot.texts == ["hello"]
