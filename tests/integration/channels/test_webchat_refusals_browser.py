"""The chat page in a real browser when the data plane refuses a message: a 429 from the real
rate limit (Spanish page), a 503 from the real error handlers and a 413 from the real body guard
(English page). Each is told in the page's own words; the 429 and the 503 are sent again by the
page after `Retry-After`, with the same message id, and reach the bot once.

Headless Chromium through Playwright, as in test_webchat_page_browser.py (skipped, saying so,
without either).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from chromium_kit import needs_chromium
from playwright_kit import expect, new_page, say
from served_kit import serve

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.channels.webchat.page_words import page_words
from botfleet.adapters.channels.webchat.rate_limit import MessageRateLimit
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.data_plane.api.errors import RETRY_AFTER_S, install_error_handlers
from botfleet.domain.errors import Overloaded
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Text, output_to_dict
from botfleet.http_guards import BodyGuard
from botfleet.ports.channels import TurnResult
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium

#: One message at once, then one every 2 s: the second of two is refused with Retry-After: 2.
PER_MINUTE = 30
#: A small body limit for /inbound, so a message can be "too long" for it.
BODY_LIMIT = 400


class EchoBot:
    """Answers "<text>!"; "overloaded" is refused as a full backlog (503) the first time."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        self.outbox = outbox
        self.received: list[InboundMessage] = []
        self.refused: list[str] = []

    async def handle(self, message: InboundMessage) -> TurnResult:
        if message.text == "overloaded" and not self.refused:
            self.refused.append(message.message_id)
            raise Overloaded("test: the backlog is full")
        self.received.append(message)
        reply = Text(f"{message.text}!")
        await self.outbox.append(message.contact_id, output_to_dict(reply), datetime.now(UTC))
        return TurnResult(message.message_id, (reply,))

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the page always waits for the answer")


def guarded_chat(language: str) -> Iterator[tuple[EchoBot, str]]:
    """The web chat behind the data plane's guards: the message limit outside the body guard."""
    outbox = InMemoryOutbox()
    bot = EchoBot(outbox)
    routes = build_routes(bot, outbox, title="Bella", clock=SystemClock(), language=language)
    api = JsonApi(routes, title="test")
    install_error_handlers(api)
    guarded = BodyGuard(api, path_limits={"/inbound": BODY_LIMIT})
    app = MessageRateLimit(guarded, path="/inbound", per_minute=PER_MINUTE, burst=1)
    with serve(app) as url:
        yield bot, url


@pytest.fixture
def spanish_chat() -> Iterator[tuple[EchoBot, str]]:
    yield from guarded_chat("es")


@pytest.fixture
def english_chat() -> Iterator[tuple[EchoBot, str]]:
    yield from guarded_chat("en")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = new_page(browser)
    yield opened
    opened.context.close()


def posted_ids(page: Any) -> list[str]:
    """The message ids the page posts, each post counted. Posts come as from a visitor behind a
    proxy (a client on this machine is not limited)."""
    ids: list[str] = []

    def forward(route: Any) -> None:
        ids.append(route.request.post_data_json["message_id"])
        headers = {**route.request.headers, "x-forwarded-for": "203.0.113.7"}
        route.continue_(headers=headers)

    page.route("**/inbound", forward)
    return ids


def test_too_many_messages_are_sent_again_after_the_wait_in_spanish(
    page: Any, spanish_chat: tuple[EchoBot, str]
) -> None:
    bot, url = spanish_chat
    words = page_words("es")
    page.goto(url)
    ids = posted_ids(page)
    say(page, "uno")
    expect(page.locator(".msg.bot", has_text="uno!")).to_have_count(1)
    say(page, "dos")  # over the limit: refused, with Retry-After: 2
    failed = page.locator(".msg.user.failed")
    expect(failed).to_contain_text(words.not_delivered.format(reason=words.too_many))
    status = page.locator("#status")
    # 2 s, or 1 if "uno" took over a second
    waiting = words.sending_again_in.format(reason=words.too_many, seconds="SECONDS")
    expect(status).to_have_text(re.compile(re.escape(waiting).replace("SECONDS", "[12]")))
    assert "from your address" not in page.locator("body").inner_text()
    expect(page.locator(".msg.bot", has_text="dos!")).to_have_count(1, timeout=8000)
    expect(failed).to_have_count(0)
    expect(status).to_be_hidden()
    assert [m.text for m in bot.received] == ["uno", "dos"]
    assert ids[1:] == [bot.received[1].message_id] * 2
    page.wait_for_timeout(500)
    assert len(ids) == 3


def test_a_busy_chat_sends_the_message_again_a_long_one_is_refused(
    page: Any, english_chat: tuple[EchoBot, str]
) -> None:
    bot, url = english_chat
    words = page_words("en")
    page.goto(url)
    say(page, "overloaded")  # 503, Retry-After: 5 (the data plane's)
    status = page.locator("#status")
    expect(status).to_have_text(
        words.sending_again_in.format(reason=words.busy, seconds=RETRY_AFTER_S)
    )
    expect(page.locator(".msg.user.failed")).to_contain_text("Not delivered: the chat is busy")
    expect(page.locator(".msg.bot", has_text="overloaded!")).to_have_count(
        1, timeout=(RETRY_AFTER_S + 5) * 1000
    )
    assert [m.message_id for m in bot.received] == bot.refused
    expect(page.locator(".msg.user.failed")).to_have_count(0)

    say(page, "x" * BODY_LIMIT)  # 413 from the body guard
    failed = page.locator(".msg.user.failed")
    expect(failed).to_contain_text("Not delivered: the message is too long")
    expect(status).to_have_text("The message is too long: write a shorter one.")
    expect(failed.get_by_role("button", name="Send again")).to_have_count(0)
    assert "over the limit" not in page.locator("body").inner_text()
    assert len(bot.received) == 1
