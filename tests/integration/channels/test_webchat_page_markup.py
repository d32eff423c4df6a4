"""The chat page as served over HTTP: its security headers and the markup a person relies on
(keyboard, screen readers, right-to-left text, no stray requests). The behaviour in a real
browser is in test_webchat_page_browser.py."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.ports.channels import TurnResult
from botfleet.web import JsonApi

TITLE = "Bella </style><script>alert(1)</script>"


class NoTurns:
    async def handle(self, message: InboundMessage) -> TurnResult:
        return TurnResult(message.message_id, ())

    async def accept(self, message: InboundMessage) -> bool:
        return True


class Clock:
    def now(self) -> datetime:
        return datetime(2026, 5, 4, tzinfo=UTC)


@pytest.fixture
def client() -> TestClient:
    routes = build_routes(NoTurns(), InMemoryOutbox(), title=TITLE, clock=Clock())
    return TestClient(JsonApi(routes, title="test"))


def policy(client: TestClient) -> dict[str, str]:
    header = client.get("/").headers["content-security-policy"]
    directives = (d.strip().split(" ", 1) for d in header.split(";") if d.strip())
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def test_styles_are_allowed_by_hash_not_unsafe_inline(client: TestClient) -> None:
    """Only the page's own <style> block applies: an injected style attribute or element
    would not (defence in depth: nothing is ever written into the page as HTML)."""
    page = client.get("/").text
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(styles) == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert policy(client)["style-src"] == f"'sha256-{digest}'"
    assert "unsafe-inline" not in client.get("/").headers["content-security-policy"]


def test_policy_keeps_everything_on_the_data_planes_origin(client: TestClient) -> None:
    found = policy(client)
    assert found["default-src"] == "'none'"
    assert found["script-src"] == "'self'"
    assert found["connect-src"] == "'self'"
    assert found["base-uri"] == "'none'"
    assert found["form-action"] == "'none'"
    assert "unsafe-eval" not in found["script-src"]
    headers = client.get("/").headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_page_asks_the_server_for_no_favicon(client: TestClient) -> None:
    """Browsers fetch /favicon.ico for a page that names none: a 404 on every visit."""
    page = client.get("/").text
    assert '<link rel="icon" href="data:,">' in page
    assert "data:" in policy(client)["img-src"]


def test_reset_is_a_real_button(client: TestClient) -> None:
    """A link with role=button is not pressed by the Space key; a <button> is."""
    page = client.get("/").text
    assert re.search(r'<button type="button" id="reset"[^>]*>Reset conversation</button>', page)
    assert 'href="#"' not in page


def test_text_direction_follows_the_text(client: TestClient) -> None:
    """Arabic or Hebrew typed or sent by the bot reads right to left, punctuation included."""
    page = client.get("/").text
    script = client.get("/chat.js").text
    assert re.search(r'<textarea id="text"[^>]* dir="auto"', page)
    assert 'dir = "auto"' in script


def test_page_has_a_typing_indicator_for_slow_answers(client: TestClient) -> None:
    page = client.get("/").text
    found = re.search(r'<p id="typing" class="typing" role="status" hidden>(.*?)</p>', page)
    assert found is not None
    assert "Bella &lt;/style&gt;&lt;script&gt;alert(1)&lt;/script&gt; is typing" in found[1]


def test_title_cannot_end_the_style_block(client: TestClient) -> None:
    page = client.get("/").text
    assert "</style><script>" not in page
    # the script, and the words it shows as a data block the browser never runs
    assert re.findall(r"<script[^>]*>", page) == [
        '<script type="application/json" id="chat-words">',
        f'<script src="chat.js?v={_script_version(client)}">',
    ]


def _script_version(client: TestClient) -> str:
    return hashlib.sha256(client.get("/chat.js").text.encode()).hexdigest()[:16]
