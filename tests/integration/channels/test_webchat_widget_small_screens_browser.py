"""The widget on small screens: at 320x256 CSS px (the reflow size of WCAG 1.4.10) and on a
1280x720 laptop zoomed to 200% (640x360 CSS px), the open chat takes the whole window, with a
message list that has room, nothing wider than the screen, and the close control in sight and
on the keyboard's way. A large screen keeps the floating panel.

Headless Chromium through Playwright, with the documented tag on another site, as in
test_webchat_widget_elsewhere_browser.py, with the same bot and site (widget_site_kit.py;
skipped, saying so, without either).
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
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def chat() -> Iterator[str]:
    bot = EchoBot(InMemoryOutbox())
    routes = build_routes(bot, bot.outbox, title="Bella", clock=SystemClock())
    with serve(JsonApi(routes, title="test")) as url:
        yield url


@pytest.fixture(scope="module")
def salon(chat: str) -> Iterator[str]:
    """The business's site (another origin than the data plane), as a phone would show it."""
    body = salon_page(chat, head="<meta name='viewport' content='width=device-width'>")
    with serve(Starlette(routes=[Route("/", lambda _request: HTMLResponse(body))])) as url:
        yield url


def opened_at(browser: Any, salon: str, width: int, height: int, zoom: int) -> Any:
    """The site in a window of `width` x `height` CSS px (a `zoom` times larger screen), the
    chat opened from the keyboard."""
    page = new_page(browser, width, height, device_scale_factor=zoom)
    page.goto(salon)
    page.get_by_role("button", name="Open chat: Bella").focus()
    page.keyboard.press("Enter")
    expect(page.frame_locator("iframe").locator("#text")).to_be_visible()
    return page


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize(
    ("width", "height", "zoom"),
    [(320, 256, 1), (640, 360, 2)],
    ids=["wcag-reflow-320x256", "1280x720-at-200pc"],
)
def test_on_a_small_screen_the_open_chat_takes_the_whole_window(
    browser: Any, salon: str, width: int, height: int, zoom: int
) -> None:
    page = opened_at(browser, salon, width, height, zoom)
    try:
        chat = page.frame_locator("iframe")
        assert page.get_by_role("dialog").bounding_box() == {
            "x": 0,
            "y": 0,
            "width": width,
            "height": height,
        }
        # the messages get most of what the header and the message box leave (the floating
        # panel left them ~30 px at 320x256)
        log_height = chat.locator("#log").evaluate("e => e.clientHeight")
        assert log_height >= height / 2, f"a message list {log_height} px tall in {height} px"
        # nothing wider than the screen, on the site or in the chat
        wider = "() => document.documentElement.scrollWidth - innerWidth"
        assert page.evaluate(wider) <= 0
        assert chat.locator("html").evaluate(wider.replace("()", "_e")) <= 0
        # the close control: in sight, on top, beside (not over) the chat's own buttons
        close = page.get_by_role("button", name="Close chat")
        box = close.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] >= 0
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y)?.closest('button')"
            "?.getAttribute('aria-label')",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert on_top == "Close chat"
        # the chat, told where the button is, keeps that corner clear
        expect(chat.locator(".chat-header")).to_have_css("padding-right", "52px")
        for name in ("#reset", "#chat-title", "#composer button"):
            other = chat.locator(name).bounding_box()
            assert other is not None and not overlaps(box, other), f"the close button hides {name}"
        # from the keyboard: Tab goes into the chat, Shift+Tab back to the close control,
        # which closes it and keeps the focus, now on the bubble to open it again
        page.keyboard.press("Tab")
        expect(chat.locator("#reset")).to_be_focused()
        page.keyboard.press("Shift+Tab")
        expect(close).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog")).to_be_hidden()
        bubble = page.get_by_role("button", name="Open chat: Bella")
        expect(bubble).to_be_focused()
        box = bubble.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
    finally:
        page.context.close()


def test_on_a_large_screen_the_chat_floats_beside_the_site(browser: Any, salon: str) -> None:
    page = opened_at(browser, salon, 1280, 720, 1)
    try:
        box = page.get_by_role("dialog").bounding_box()
        assert box is not None
        assert (box["width"], box["height"]) == (380, 600)
        assert box["x"] + box["width"] == 1280 - 20  # on the right, the site beside it
        expect(page.get_by_role("button", name="Close chat")).to_have_css("bottom", "20px")
    finally:
        page.context.close()


def test_on_a_small_screen_the_keyboard_stays_in_the_open_chat(browser: Any, salon: str) -> None:
    """Tab and Shift+Tab go round the close control and the chat: never on the site's own
    links, hidden under the whole-window chat (WCAG 2.4.11)."""
    page = opened_at(browser, salon, 375, 667, 1)
    where = (
        "() => { const e = document.activeElement; if (e.tagName === 'IFRAME') return 'chat';"
        " return e.getAttribute('aria-label') || e.textContent }"
    )
    try:
        expect(page.get_by_role("dialog")).to_have_attribute("aria-modal", "true")
        seen = []
        for _ in range(12):
            page.keyboard.press("Tab")
            seen.append(page.evaluate(where))
        for _ in range(6):
            page.keyboard.press("Shift+Tab")
            seen.append(page.evaluate(where))
        assert set(seen) == {"chat", "Close chat"}, seen
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        # closed, the site is the keyboard's again
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(where) == "Prices"
    finally:
        page.context.close()
