"""The chat page, its script and the widget: served right, self-contained, safe with bot text."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

import botfleet.adapters.channels.webchat as webchat
from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.channels.webchat.page_words import page_words
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.ports.channels import TurnResult
from botfleet.web import JsonApi

TITLE = 'Peluquería "Ana" & <Co>'
STATIC = Path(webchat.__file__).parent / "static"
# A scheme URL (https://...) or a protocol-relative one in an attribute or CSS url().
EXTERNAL_URL = re.compile(
    r"""[a-z][a-z0-9+.-]*://|(?:src|href)\s*=\s*["']?//|url\(\s*["']?//""", re.I
)


class SilentHandler:
    async def handle(self, message: InboundMessage) -> TurnResult:
        return TurnResult(message.message_id, ())

    async def accept(self, message: InboundMessage) -> bool:
        return True


class FixedClock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, tzinfo=UTC)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = JsonApi(
        build_routes(SilentHandler(), InMemoryOutbox(), title=TITLE, clock=FixedClock()),
        title=TITLE,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        yield c


async def test_page_is_html_with_the_title_escaped(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "<title>Peluquería &quot;Ana&quot; &amp; &lt;Co&gt;</title>" in page
    assert "<Co>" not in page
    assert "__BOTFLEET_TITLE__" not in page


async def test_page_loads_only_relative_resources(client: httpx.AsyncClient) -> None:
    page = (await client.get("/")).text
    script = (await client.get("/chat.js")).text
    assert EXTERNAL_URL.search(page) is None
    assert EXTERNAL_URL.search(script) is None
    # Named by its content: a page after an upgrade never runs the cached older script.
    version = hashlib.sha256(script.encode()).hexdigest()[:16]
    assert f'<script src="chat.js?v={version}"></script>' in page
    versioned = await client.get(f"/chat.js?v={version}")
    assert versioned.text == script
    # That URL's content never changes: kept a year; unversioned (or an old version), minutes.
    assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    for other in ("/chat.js", "/chat.js?v=0123456789abcdef"):
        assert (await client.get(other)).headers["cache-control"] == "public, max-age=300"
    # the API is called relative to the page, so a path prefix keeps working
    assert 'fetch("inbound"' in script
    assert 'fetch("messages?' in script
    assert '"/inbound' not in script
    assert '"/messages' not in script


async def test_page_forbids_other_origins_but_may_be_framed(client: httpx.AsyncClient) -> None:
    headers = (await client.get("/")).headers
    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "frame-ancestors *" in policy
    assert headers["x-content-type-options"] == "nosniff"


async def test_chat_script_is_javascript_and_never_puts_bot_data_in_html(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/chat.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    script = response.text
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "textContent" in script
    # the pieces the page is specified to have
    assert "localStorage" in script
    assert '"button_reply"' in script
    assert '"list_reply"' in script
    assert "POLL_MS = 2000" in script
    assert "since" in script


async def test_widget_opens_the_embedded_chat_beside_its_own_script(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    widget = response.text
    assert 'const TITLE = "Peluquer\\u00eda \\"Ana\\" & <Co>";' in widget
    assert "document.currentScript" in widget
    assert 'new URL("?embed=1", base)' in widget
    assert "iframe" in widget
    assert "innerHTML" not in widget
    # the only absolute URLs: the SVG namespace name and the usage example in the comment
    urls = set(re.findall(r"[a-z]+://[^\s\"']+", widget))
    assert urls == {"http://www.w3.org/2000/svg", "https://bot.example.com/widget.js"}


async def test_page_marks_embedded_mode(client: httpx.AsyncClient) -> None:
    page = (await client.get("/", params={"embed": "1"})).text
    script = (await client.get("/chat.js")).text
    assert "body.embed" in page
    assert 'get("embed") === "1"' in script


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("name", ["chat.js", "widget.js"])
def test_scripts_are_valid_javascript(name: str) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, "--check", str(STATIC / name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("language", ["en", "es"])
def test_page_script_chats_without_showing_a_reply_twice(language: str) -> None:
    """Send, poll, get a reminder, press a button, reload, reset, fail (chat_page_harness.js),
    the script's words taken from the page's data block; replies skipped in polls by their
    `seqs`, and by content from a server without them."""
    node = shutil.which("node")
    assert node is not None
    harness = Path(__file__).with_name("chat_page_harness.js")
    words = json.dumps(page_words(language).script_words())
    result = subprocess.run(
        [node, str(harness), str(STATIC / "chat.js"), words],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("path", ["/", "/chat.js", "/widget.js"])
async def test_head_requests_work_for_monitors(client: httpx.AsyncClient, path: str) -> None:
    response = await client.head(path)
    assert response.status_code == 200
    assert response.content == b""
