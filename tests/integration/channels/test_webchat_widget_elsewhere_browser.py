"""The widget as a web developer embeds it: the documented tag, verbatim, on a page of another
site (another origin than the data plane), used with the keyboard; and what the chat page does
with a message longer than the chat takes, and with the contrast of its default colours.

Headless Chromium through Playwright, as in test_webchat_page_browser.py (skipped, saying so,
without either).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page
from served_kit import serve
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from widget_site_kit import EchoBot, salon_page

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.channels.webchat.page_words import page_words
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium


@pytest.fixture
def bot() -> EchoBot:
    return EchoBot(InMemoryOutbox())


@pytest.fixture
def chat(bot: EchoBot) -> Iterator[str]:
    routes = build_routes(bot, bot.outbox, title="Bella", clock=SystemClock())
    with serve(JsonApi(routes, title="test")) as url:
        yield url


@pytest.fixture
def salon(chat: str) -> Iterator[str]:
    """The business's own site: another origin (another port) than the data plane."""
    body = salon_page(chat)
    with serve(Starlette(routes=[Route("/", lambda _request: HTMLResponse(body))])) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def active(page: Any) -> str:
    return str(page.evaluate("document.activeElement.tagName"))


def test_the_documented_tag_on_another_site_works_from_the_keyboard(
    page: Any, salon: str, chat: str
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(salon)
    assert not salon.startswith(chat)
    expect(page.get_by_role("button", name="Open chat: Bella")).to_have_count(1)  # async tag
    page.keyboard.press("Tab")  # the site's own link
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("aria-label", "Open chat: Bella")
    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_attribute("aria-label", "Close chat")
    # the next Tab goes into the chat just opened, not past it
    page.keyboard.press("Tab")
    assert active(page) == "IFRAME"
    chat_frame = page.frame_locator("iframe")
    chat_frame.locator("#text").fill("hello")
    chat_frame.locator("#text").press("Enter")
    expect(chat_frame.locator(".msg.bot")).to_have_text("You said 5 characters")
    # Escape in the chat (the frame has the keys) closes it, and the focus is on the bubble
    chat_frame.locator("#text").press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.locator(":focus")).to_have_attribute("aria-label", "Open chat: Bella")
    # a reload of the site: the same conversation, kept by the chat's own origin
    page.reload()
    page.get_by_role("button", name="Open chat: Bella").click()
    expect(chat_frame.locator(".msg.bot")).to_have_text("You said 5 characters")
    assert errors == []


def test_a_chat_that_could_not_load_is_tried_again_at_the_next_open(
    page: Any, salon: str, chat: str
) -> None:
    page.goto(salon)
    page.route(chat + "?embed=1", lambda route: route.abort("connectionrefused"))
    bubble = page.get_by_role("button", name="Open chat: Bella")
    bubble.click()  # the data plane is down: the browser's error page in the panel
    page.get_by_role("button", name="Close chat").click()
    page.unroute(chat + "?embed=1")
    bubble.click()  # back up: the chat, without reloading the site
    expect(page.frame_locator("iframe").locator("#text")).to_have_count(1)


def test_a_chat_that_does_not_load_says_so_and_can_be_tried_again(
    page: Any, salon: str, chat: str
) -> None:
    words = page_words("en")
    page.goto(salon)
    page.route(chat + "?embed=1", lambda route: route.abort("connectionrefused"))
    page.get_by_role("button", name="Open chat: Bella").click()
    # our words, not the browser's grey error page, within moments of its load
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("alert")).to_have_text(words.unavailable)
    expect(page.locator("iframe")).to_be_hidden()
    retry = dialog.get_by_role("button", name=words.try_again)
    retry.click()  # still down: said again
    expect(dialog.get_by_role("alert")).to_have_text(words.unavailable)
    page.unroute(chat + "?embed=1")
    retry.click()  # back up: the chat, in the same panel
    chat_frame = page.frame_locator("iframe")
    chat_frame.locator("#text").fill("hello")
    chat_frame.locator("#text").press("Enter")
    expect(chat_frame.locator(".msg.bot")).to_have_text("You said 5 characters")
    expect(retry).to_be_hidden()
    expect(dialog.get_by_role("alert")).to_have_count(0)  # emptied: nothing left to announce


def test_a_message_over_the_limit_stays_in_the_box_with_a_word(
    page: Any, chat: str, bot: EchoBot
) -> None:
    page.goto(chat)
    box = page.locator("#text")
    box.focus()
    page.keyboard.insert_text("x" * 5000)  # pasted: nothing cut without a word
    expect(box).to_have_value("x" * 5000)
    box.press("Enter")
    expect(page.locator("#status")).to_have_text(page_words("en").write_shorter)
    expect(box).to_have_value("x" * 5000)
    assert page.locator(".msg").count() == 0
    # 4096 emoji are 4096 characters for the chat (8192 for JavaScript's length): sent whole
    box.fill("😀" * 4096)
    box.press("Enter")
    expect(page.locator(".msg.bot")).to_have_text("You said 4096 characters")
    expect(page.locator("#status")).to_be_hidden()
    assert bot.texts == ["😀" * 4096]


CONTRAST = """([fore, back]) => {
    const rgb = (v) => v.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = (c) => {
        const [r, g, b] = rgb(c).map((x) => x / 255)
            .map((x) => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const [a, b] = [lum(fore), lum(back)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


def test_the_default_colours_meet_wcag_aa(page: Any, chat: str) -> None:
    page.goto(chat)

    def style(selector: str, prop: str) -> str:
        return str(page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}"))

    page.eval_on_selector("#typing", "e => { e.hidden = false; e.style.animation = 'none'; }")
    pairs = {
        "typing": (style("#typing", "color"), style("#typing", "backgroundColor"), 4.5),
        "reset": (style("#reset", "color"), style(".chat", "backgroundColor"), 4.5),
        "message box edge": (
            style("#text", "borderTopColor"),
            style(".composer", "backgroundColor"),
            3.0,
        ),
    }
    for name, (fore, back, needed) in pairs.items():
        if back == "rgba(0, 0, 0, 0)":  # transparent: the panel's white shows through
            back = style(".chat", "backgroundColor")
        ratio = page.evaluate(CONTRAST, [fore, back])
        assert ratio >= needed, f"{name}: {fore} on {back} is {ratio:.2f}:1, under {needed}:1"
