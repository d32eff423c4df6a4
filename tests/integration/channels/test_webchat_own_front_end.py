"""The front end of docs/channels.md ("Your own front end"), taken from the docs as written, on
a page of another origin in headless Chromium, calling the real data plane over CORS.

Skips without Playwright or a system Chromium, as test_webchat_page_browser.py does.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page
from served_kit import serve
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from botfleet.data_plane.app import create_app
from botfleet.testing.runtime import make_settings, make_tenant_config

DOCS = Path(__file__).parents[3] / "docs" / "channels.md"
pytestmark = needs_chromium
HEBREW = "שלום 👋"
TOKEN = "internal-token-for-tests"
FLOW: dict[str, Any] = {
    "id": "shop",
    "initial_state": "MENU",
    "tasks": {"remind": [{"action": "send_text", "text": "Reminder: your order ships today"}]},
    "states": {
        "MENU": {
            "on_enter": [
                {
                    "action": "send_interactive_buttons",
                    "body": "Pick",
                    "buttons": [{"id": "track", "title": "Track"}, {"id": "help", "title": "Help"}],
                }
            ],
            "transitions": [
                {"on_payload": "track", "target": "TRACK"},
                {"on_type": "text", "target": "ECHO"},
            ],
        },
        "TRACK": {"on_enter": [{"action": "send_text", "text": "On its way"}], "next": "MENU"},
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "echo {{ message.text }}"}],
            "next": "MENU",
        },
    },
}


def documented_front_end() -> str:
    """The HTML block right after the docs' `own-front-end-example` marker."""
    found = re.search(
        r"<!-- own-front-end-example -->\n```html\n(.*?)\n```", DOCS.read_text(), re.S
    )
    assert found, "docs/channels.md lost its front end example"
    return found[1]


@pytest.fixture
def shop_socket() -> Iterator[socket.socket]:
    """The shop's port, known before the data plane is configured with its origin."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


@pytest.fixture
def data_plane(tmp_path: Path, shop_socket: socket.socket) -> Iterator[str]:
    shop = f"http://localhost:{shop_socket.getsockname()[1]}"
    config = make_tenant_config(FLOW, channel={"type": "webchat", "allowed_origins": [shop]})
    app = create_app(make_settings(tmp_path / "state.db", internal_token=TOKEN), config=config)
    with serve(app, lifespan="auto") as url:  # the data plane's own start-up included
        yield url.removesuffix("/")


@pytest.fixture
def shop_page(data_plane: str, shop_socket: socket.socket) -> Iterator[str]:
    html = documented_front_end().replace("https://chat.bella.example", data_plane)

    async def page(request: Any) -> HTMLResponse:
        head = "<!doctype html><meta charset='utf-8'><link rel='icon' href='data:,'>"
        return HTMLResponse(f"{head}<body>{html}</body>")

    # another origin than the data plane's (another host name and port)
    with serve(Starlette(routes=[Route("/", page)]), shop_socket):
        yield f"http://localhost:{shop_socket.getsockname()[1]}/"


@pytest.fixture
def page(browser: Any, shop_page: str) -> Iterator[Any]:
    # Playwright's default window, and the longer wait of a page on a real data plane
    opened = new_page(browser, 1280, 720, timeout=8000)
    failures: list[str] = []
    opened.on("console", lambda m: m.type == "error" and failures.append(m.text))
    opened.goto(shop_page)
    yield opened
    opened.context.close()
    assert not failures, failures  # a CORS refusal shows up here


def test_the_documented_front_end_talks_to_the_bot_from_another_origin(
    page: Any, data_plane: str
) -> None:
    page.fill("#chat-text", HEBREW)
    page.press("#chat-text", "Enter")
    expect(page.locator(".bot", has_text=f"echo {HEBREW}")).to_have_count(1)
    assert page.locator(".bot", has_text=f"echo {HEBREW}").get_attribute("dir") == "auto"
    page.locator(".bot button", has_text="Track").last.click()
    expect(page.locator(".bot", has_text="On its way")).to_have_count(1)
    contact = page.evaluate("localStorage.getItem('chat-contact')")
    # the bot writes on its own (a reminder): the next poll shows it
    ran = httpx.post(
        f"{data_plane}/run-task",
        json={"task": "remind", "contact_id": contact},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert ran.status_code == 200, ran.text
    expect(page.locator(".bot", has_text="Reminder: your order ships today")).to_have_count(1)
    texts = page.eval_on_selector_all("#chat-log > div", "rows => rows.map(r => r.firstChild.data)")
    assert texts == [
        HEBREW,
        f"echo {HEBREW}",
        "Pick",
        "Track",
        "On its way",
        "Pick",
        "Reminder: your order ships today",
    ]
