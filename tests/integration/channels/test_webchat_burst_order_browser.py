"""A burst over the rate limit is sent again by the page, each message after its wait (refused
again as the limit refills: once more), until all are delivered: none left behind, marked, for
the visitor to send by hand. The real page and rate limit, in headless Chromium (the finer rules,
on a fake clock: tests/integration/adapters/channels/chat_refusals_harness.js).

Skipped, saying so, without Chromium or Playwright (chromium_kit, playwright_kit).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page
from served_kit import serve

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.channels.webchat.rate_limit import MessageRateLimit
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.data_plane.api.errors import install_error_handlers
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Text, output_to_dict
from botfleet.ports.channels import TurnResult
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium


class EchoBot:
    def __init__(self, outbox: InMemoryOutbox) -> None:
        self.outbox = outbox
        self.received: list[str] = []

    async def handle(self, message: InboundMessage) -> TurnResult:
        self.received.append(message.text)
        reply = Text(f"{message.text}!")
        await self.outbox.append(message.contact_id, output_to_dict(reply), datetime.now(UTC))
        return TurnResult(message.message_id, (reply,))

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the page always waits for the answer")


def chat(per_minute: int, burst: int) -> Iterator[tuple[EchoBot, str]]:
    outbox = InMemoryOutbox()
    bot = EchoBot(outbox)
    api = JsonApi(build_routes(bot, outbox, title="Bella", clock=SystemClock()), title="t")
    install_error_handlers(api)
    with serve(MessageRateLimit(api, path="/inbound", per_minute=per_minute, burst=burst)) as url:
        yield bot, url


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = new_page(browser)

    def from_a_visitor(route: Any) -> None:  # a client on this machine is not limited
        route.continue_(headers={**route.request.headers, "x-forwarded-for": "203.0.113.9"})

    opened.route("**/inbound", from_a_visitor)
    yield opened
    opened.context.close()


class RefuseTheSecond:
    """The rate limit as it meets a burst while it refills: the second post is refused (429,
    Retry-After: 1), and each of `also` (their numbers), the others let in."""

    def __init__(self, app: Any, also: frozenset[int] = frozenset()) -> None:
        self.app = app
        self.refused = {2, *also}
        self.posts = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/inbound":
            self.posts += 1
            if self.posts in self.refused:
                body = b'{"detail": "too many messages: send again in 1 s"}'
                headers = [(b"content-type", b"application/json"), (b"retry-after", b"1")]
                await send({"type": "http.response.start", "status": 429, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


SEND_ALL = """(texts) => {
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  for (const text of texts) { input.value = text; form.requestSubmit(); }
}"""


def test_a_burst_over_the_limit_is_delivered_whole_and_in_order(page: Any) -> None:
    texts = [f"b{n}" for n in range(5)]
    # two at once, then one a second: three of the five are refused at first
    for bot, url in chat(per_minute=60, burst=2):
        page.goto(url)
        page.evaluate(SEND_ALL, texts)
        expect(page.locator(".msg.bot")).to_have_count(len(texts), timeout=20_000)
        assert bot.received == texts
        expect(page.locator(".msg.user.failed")).to_have_count(0)
        expect(page.locator("#status")).to_be_hidden(timeout=3_000)


def bot_behind() -> tuple[EchoBot, Any]:
    outbox = InMemoryOutbox()
    bot = EchoBot(outbox)
    api = JsonApi(build_routes(bot, outbox, title="Bella", clock=SystemClock()), title="t")
    install_error_handlers(api)
    return bot, api


def test_a_message_refused_again_as_the_limit_refills_goes_once_more(page: Any) -> None:
    bot, api = bot_behind()
    with serve(RefuseTheSecond(api, also=frozenset({3}))) as url:  # its first send again too
        page.goto(url)
        expect(page.locator("#text")).to_be_visible()
        page.evaluate(SEND_ALL, ["d0", "d1"])
        expect(page.locator(".msg.bot")).to_have_count(2, timeout=15_000)
        assert bot.received == ["d0", "d1"]
        expect(page.locator(".msg.user.failed")).to_have_count(0)
        expect(page.locator("#status")).to_be_hidden(timeout=3_000)
