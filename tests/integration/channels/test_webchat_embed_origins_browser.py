"""`embed_origins` in a browser: the business's listed site shows the chat; a look-alike site
gets no bubble from the widget, and a frame of its own holding the chat page is refused by
the browser (the page's `frame-ancestors`).

Headless Chromium through Playwright, as in test_webchat_page_browser.py (skipped, saying so,
without either). Every site is 127.0.0.1 on a port of its own: another origin each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page
from served_kit import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from widget_site_kit import EchoBot, salon_page

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium


class Site:
    """A site whose home page is set once the chat's address is known."""

    def __init__(self) -> None:
        self.body = ""

    async def home(self, request: Request) -> HTMLResponse:
        return HTMLResponse(self.body)


@pytest.fixture
def sites() -> Iterator[tuple[Site, str, Site, str]]:
    """(the salon's site, its URL, a look-alike's site, its URL)."""
    salon, look_alike = Site(), Site()
    with (
        serve(Starlette(routes=[Route("/", salon.home)])) as salon_url,
        serve(Starlette(routes=[Route("/", look_alike.home)])) as look_alike_url,
    ):
        yield salon, salon_url, look_alike, look_alike_url


@contextmanager
def served_chat(embed_origins: list[str], *on: Site) -> Iterator[str]:
    """A chat for `embed_origins`, its widget's tag on the sites `on`."""
    bot = EchoBot(InMemoryOutbox())
    routes = build_routes(
        bot, bot.outbox, title="Bella", clock=SystemClock(), embed_origins=embed_origins
    )
    with serve(JsonApi(routes, title="test")) as url:
        for site in on:
            site.body = salon_page(url)
        yield url


@pytest.fixture
def chat(sites: tuple[Site, str, Site, str]) -> Iterator[str]:
    """The salon's chat, for its own site only."""
    salon, salon_url, look_alike, _ = sites
    with served_chat([salon_url.rstrip("/")], salon, look_alike) as url:
        yield url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def test_the_listed_site_shows_the_chat(
    page: Any, sites: tuple[Site, str, Site, str], chat: str
) -> None:
    page.goto(sites[1])
    page.get_by_role("button", name="Open chat: Bella").click()
    chat_frame = page.frame_locator("iframe")
    chat_frame.locator("#text").fill("hello")
    chat_frame.locator("#text").press("Enter")
    expect(chat_frame.get_by_text("You said 5 characters")).to_be_visible()


def test_a_look_alike_site_gets_no_bubble(
    page: Any, sites: tuple[Site, str, Site, str], chat: str
) -> None:
    look_alike = sites[3].rstrip("/")
    with page.expect_console_message(lambda m: "embed_origins" in m.text) as said:
        page.goto(look_alike)
    assert said.value.type == "warning"
    assert look_alike in said.value.text
    assert "the chat is not shown on this site" in said.value.text
    expect(page.get_by_role("button", name="Open chat: Bella")).to_have_count(0)


def test_a_look_alike_sites_own_frame_of_the_chat_is_refused(
    page: Any, sites: tuple[Site, str, Site, str], chat: str
) -> None:
    """A copy of the widget that skips its check, or any `<iframe>`: the browser refuses to
    show the chat page, whatever the framing page's script does."""
    salon_url, look_alike, look_alike_url = sites[1], sites[2], sites[3]
    look_alike.body = (
        "<!doctype html><title>Bella Salon</title><link rel='icon' href='data:,'>"
        "<script>addEventListener('message', (e) => { document.title = e.data.botfleet; });"
        "</script>"
        f"<iframe src='{chat}?embed=1' onload='document.body.dataset.loaded = 1'></iframe>"
    )
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as said:
        page.goto(look_alike_url)
    # Chromium's words vary by version; the policy it quotes does not
    assert said.value.type == "error"
    assert f"frame-ancestors 'self' {salon_url.rstrip('/')}" in said.value.text
    expect(page.locator("body[data-loaded]")).to_have_count(1)  # the frame is done loading
    assert page.frames[1].url.startswith("chrome-error://"), page.frames[1].url
    expect(page.frame_locator("iframe").locator("#text")).to_have_count(0)
    assert page.title() == "Bella Salon"  # the chat page never said "ready"


def test_a_wildcard_lets_in_the_subdomains_not_the_name(
    page: Any, sites: tuple[Site, str, Site, str]
) -> None:
    """`http://*.salon.localhost:<port>`: Chromium takes any `*.localhost` name as this machine,
    so the salon's site is also `www.salon.localhost` and `salon.localhost`."""
    salon, salon_url = sites[0], sites[1]
    port = salon_url.rstrip("/").rsplit(":", 1)[1]
    with served_chat([f"http://*.salon.localhost:{port}"], salon):
        page.goto(f"http://www.salon.localhost:{port}/")
        page.get_by_role("button", name="Open chat: Bella").click()
        expect(page.frame_locator("iframe").locator("#text")).to_be_visible()
        with page.expect_console_message(lambda m: "embed_origins" in m.text):
            page.goto(f"http://salon.localhost:{port}/")
        expect(page.get_by_role("button", name="Open chat: Bella")).to_have_count(0)
