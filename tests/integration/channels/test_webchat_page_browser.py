"""The chat page in a real browser, used as a person uses it: pressing, typing, waiting, failing.

Runs headless Chromium through Playwright (a dev dependency) against the real web chat routes (a
scripted bot behind them, served by uvicorn on a free port). Playwright's own browser download
is not needed: the system's Chromium is used, and without one the tests skip, saying so
(`apt-get install chromium`, or BOTFLEET_CHROMIUM=/path/to/chrome).
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
from starlette.exceptions import HTTPException

from botfleet.adapters.channels.webchat import build_routes
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.messages import InboundMessage
from botfleet.domain.outputs import Buttons, ListMenu, Option, Output, Section, Text, output_to_dict
from botfleet.ports.channels import TurnResult
from botfleet.ports.clock import SystemClock
from botfleet.web import JsonApi

pytestmark = needs_chromium

XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
LONG = "A long answer that goes on. " * 120
ARABIC = "مرحبا! كيف يمكنني مساعدتك اليوم؟"
SEE_YOU = "See you tomorrow at 10:00."


def menu() -> Buttons:
    return Buttons("What would you like?", (Option("book", "Book"), Option("info", "Info")))


def replies_to(message: InboundMessage) -> tuple[Output, ...]:
    if message.payload == "book":
        return (Text("Booked once."),)
    text = message.text or ""
    if text == "xss":
        row = Option("x", XSS[:80], XSS)
        return (
            Text(XSS),
            Buttons(XSS, (Option("x", XSS[:40]),)),
            ListMenu(XSS, XSS[:20], (Section(XSS[:24], (row,)),)),
        )
    if text == "rtl":
        return (Text(ARABIC),)
    if text == "list":
        rows = tuple(Option(f"t{i}", f"Time {i}", "30 min") for i in range(30))
        return (ListMenu("Which time?", "Times", (Section("Times", rows),)),)
    if text == "long":
        return (Text(LONG),)
    if text == "slow":
        return (Text("Here is the slow answer."),)
    if text == "when?":
        return (Text(SEE_YOU),)
    if text == "busy":
        raise HTTPException(503, "busy")
    return (Text(f"You said: {text}"), menu())


class ScriptedBot:
    """The runtime's place: answers by `replies_to`, writes the outbox, keeps every message.
    Answers give the replies' outbox seqs, as the runtime's do; `with_seqs = False` answers as a
    data plane from before them."""

    def __init__(self, outbox: InMemoryOutbox) -> None:
        self.outbox = outbox
        self.received: list[InboundMessage] = []
        self.answers: dict[str, TurnResult] = {}
        self.open = threading.Event()  # cleared: "slow" and "when?" wait
        self.open.set()
        self.with_seqs = True

    async def handle(self, message: InboundMessage) -> TurnResult:
        self.received.append(message)
        if message.message_id in self.answers:
            first = self.answers[message.message_id]
            return TurnResult(message.message_id, first.outputs, True, first.seqs)
        if message.text in ("slow", "when?"):
            await asyncio.to_thread(self.open.wait, 10)
        outputs = replies_to(message)
        seqs = [
            await self.outbox.append(message.contact_id, output_to_dict(o), datetime.now(UTC))
            for o in outputs
        ]
        result = TurnResult(
            message.message_id, outputs, seqs=tuple(seqs) if self.with_seqs else None
        )
        self.answers[message.message_id] = result
        return result

    async def accept(self, message: InboundMessage) -> bool:
        raise AssertionError("the page always waits for the answer")

    def texts(self) -> list[str]:
        return [m.text or "" for m in self.received]


class Served:
    def __init__(self, bot: ScriptedBot, url: str) -> None:
        self.bot = bot
        self.url = url
        self.dialogs: list[str] = []  # alert() and the like, which the page must never open


@pytest.fixture
def served() -> Iterator[Served]:
    outbox = InMemoryOutbox()
    bot = ScriptedBot(outbox)
    app = JsonApi(build_routes(bot, outbox, title="Bella", clock=SystemClock()), title="test")
    with serve(app) as url:
        yield Served(bot, url)
        bot.open.set()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Any]:
    opened = new_page(browser)

    def dialog(shown: Any) -> None:
        served.dialogs.append(shown.message)
        shown.dismiss()

    opened.on("dialog", dialog)
    opened.goto(served.url)
    yield opened
    opened.context.close()


def visible_in_log(page: Any, selector: str) -> bool:
    """Whether the top of the last `selector` is inside the log's visible box."""
    return bool(
        page.evaluate(
            """(selector) => {
                const log = document.getElementById("log").getBoundingClientRect();
                const nodes = document.querySelectorAll(selector);
                const box = nodes[nodes.length - 1].getBoundingClientRect();
                return box.top >= log.top - 1 && box.top < log.bottom - 10;
            }""",
            selector,
        )
    )


def test_a_double_click_on_a_button_presses_it_once(page: Any, served: Served) -> None:
    say(page, "hi")
    page.locator(".choice", has_text="Book").dblclick()
    expect(page.locator(".msg.bot", has_text="Booked once.")).to_have_count(1)
    page.wait_for_timeout(300)
    assert [m.payload for m in served.bot.received] == ["", "book"]
    expect(page.locator(".msg.user", has_text="Book")).to_have_count(1)


def test_pressing_again_while_the_answer_is_awaited_sends_nothing(
    page: Any, served: Served
) -> None:
    say(page, "hi")
    expect(page.locator(".choice")).to_have_count(2)
    served.bot.open.clear()
    say(page, "slow")
    page.locator(".choice", has_text="Book").click()
    page.locator(".choice", has_text="Book").click()  # impatient
    page.locator(".choice", has_text="Info").click()  # same menu: one answer at a time
    served.bot.open.set()
    expect(page.locator(".msg.bot", has_text="Booked once.")).to_have_count(1)
    page.wait_for_timeout(300)
    assert [m.payload for m in served.bot.received] == ["", "", "book"]


def test_a_slow_answer_shows_typing_and_the_contact_can_write_on(page: Any, served: Served) -> None:
    typing = page.locator("#typing")
    expect(typing).to_be_hidden()
    served.bot.open.clear()
    say(page, "slow")
    expect(typing).to_be_visible()
    expect(typing).to_contain_text("Bella is typing")
    say(page, "and another thing")
    expect(page.locator(".msg.user")).to_have_count(2)
    assert page.evaluate("document.activeElement.id") == "text"
    served.bot.open.set()
    expect(page.locator(".msg.bot").first).to_have_text("Here is the slow answer.")
    expect(typing).to_be_hidden()
    texts = page.locator(".msg").all_inner_texts()
    assert texts[:3] == ["slow", "and another thing", "Here is the slow answer."]


def test_a_message_lost_on_the_way_is_sent_again_with_its_id(page: Any, served: Served) -> None:
    lost: list[str] = []

    def drop(route: Any) -> None:
        lost.append(route.request.post_data_json["message_id"])
        route.abort()

    page.route("**/inbound", drop)
    say(page, "are you there?")
    failed = page.locator(".msg.user.failed")
    expect(failed).to_contain_text("Not delivered: no connection")
    expect(page.locator("#status")).to_contain_text("Could not reach the chat")
    page.unroute("**/inbound")
    say(page, "hello")  # the server is back
    expect(page.locator(".msg.bot", has_text="You said: hello")).to_have_count(1)
    retry = failed.get_by_role("button", name="Send again")
    retry.click()
    expect(page.locator(".msg.bot", has_text="You said: are you there?")).to_have_count(1)
    assert [m.message_id for m in served.bot.received][-1] == lost[0]
    expect(page.locator(".msg.user.failed")).to_have_count(0)
    texts = page.locator(".msg").all_inner_texts()
    # the message moved to where it was delivered, its answer after it
    assert texts.index("are you there?") > texts.index("hello")
    assert texts[texts.index("are you there?") + 1] == "You said: are you there?"
    page.reload()
    expect(page.locator(".msg.user.failed")).to_have_count(0)
    assert page.locator(".msg").all_inner_texts() == texts


def test_a_message_sent_again_that_had_arrived_is_answered_once(page: Any, served: Served) -> None:
    """The connection dropped after the bot got the message: sent again (same id), it is a
    duplicate, and its replies show once, whether a poll got them first or not."""

    def run_then_drop(route: Any) -> None:
        route.fetch()
        route.abort()

    page.route("**/inbound", run_then_drop)
    say(page, "first")
    say(page, "second")
    expect(page.locator(".msg.user.failed")).to_have_count(2)
    page.unroute("**/inbound")
    page.wait_for_timeout(2500)  # a poll shows the replies of both, as the bot's own messages
    expect(page.locator(".msg.bot", has_text="You said: first")).to_have_count(1)
    page.locator(".msg.user", has_text="first").get_by_role("button", name="Send again").click()
    page.locator(".msg.user", has_text="second").get_by_role("button", name="Send again").click()
    expect(page.locator(".msg.user.failed")).to_have_count(0)
    page.wait_for_timeout(2500)
    assert served.bot.texts() == ["first", "second", "first", "second"]
    assert served.bot.received[2].message_id == served.bot.received[0].message_id
    expect(page.locator(".msg.bot", has_text="You said: first")).to_have_count(1)
    expect(page.locator(".msg.bot", has_text="You said: second")).to_have_count(1)
    expect(page.locator(".msg.bot", has_text="What would you like?")).to_have_count(2)
    # they had arrived: they stay where they were sent, their answers after them
    assert page.locator(".msg").all_inner_texts()[:3] == ["first", "second", "You said: first"]


def test_a_refused_message_offers_no_retry_a_busy_one_does(page: Any, served: Served) -> None:
    page.route("**/inbound", lambda route: route.fulfill(status=422, json={"detail": "no"}))
    say(page, "too odd")
    expect(page.locator(".msg.user.failed")).to_contain_text("Not delivered: no")
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
    page.unroute("**/inbound")
    say(page, "busy")
    expect(page.locator(".msg.user.failed")).to_have_count(2)
    expect(page.get_by_role("button", name="Send again")).to_have_count(1)
    page.reload()  # the message to send again is kept with the mark
    expect(page.get_by_role("button", name="Send again")).to_have_count(1)


def test_html_from_the_bot_or_the_contact_stays_text(page: Any, served: Served) -> None:
    say(page, XSS)
    say(page, "xss")
    expect(page.locator(".msg.bot")).to_have_count(5)
    page.locator("details.menu summary").last.click()
    page.wait_for_timeout(300)
    assert page.locator("#log img, #log script").count() == 0
    assert page.evaluate("window.pwned === undefined")
    assert served.dialogs == []
    expect(page.locator(".msg.user").first).to_have_text(XSS)
    expect(page.locator(".msg.bot").nth(2)).to_contain_text(XSS)


def test_right_to_left_text_reads_right_to_left(page: Any, served: Served) -> None:
    say(page, "rtl")
    bot = page.locator(".msg.bot .text").last
    expect(bot).to_have_text(ARABIC)
    assert bot.evaluate("n => getComputedStyle(n).direction") == "rtl"
    say(page, "שלום, מה שלומך?")
    user = page.locator(".msg.user .bubble").last
    assert user.evaluate("n => getComputedStyle(n).direction") == "rtl"
    page.fill("#text", "صباح الخير")
    assert page.locator("#text").evaluate("n => getComputedStyle(n).direction") == "rtl"
    say(page, "hello")
    assert page.locator(".msg.user .bubble").last.evaluate(
        "n => getComputedStyle(n).direction"
    ) == ("ltr")


def test_a_long_answer_is_shown_from_its_start(page: Any, served: Served) -> None:
    say(page, "long")
    expect(page.locator(".msg.bot")).to_have_count(1)
    page.wait_for_timeout(200)
    assert visible_in_log(page, ".msg.bot")


def test_opening_a_list_at_the_bottom_shows_its_rows(page: Any, served: Served) -> None:
    for text in ("one", "two", "three"):
        say(page, text)
    say(page, "list")
    expect(page.locator("details.menu")).to_have_count(1)
    page.locator("details.menu summary").click()
    page.wait_for_timeout(200)
    first_row = page.locator(".row").first
    assert first_row.evaluate(
        """(row) => {
            const log = document.getElementById("log").getBoundingClientRect();
            const box = row.getBoundingClientRect();
            return box.bottom <= log.bottom && box.top >= log.top;
        }"""
    )


def test_keyboard_only(page: Any, served: Served) -> None:
    page.focus("#text")
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    expect(page.locator(".msg.user")).to_have_text("first line\nsecond line")
    assert page.evaluate("document.activeElement.id") == "text"
    expect(page.locator(".choice")).to_have_count(2)
    # the newest options are one Shift+Tab away from the message box
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.textContent") == "Book"
    page.keyboard.press("Enter")
    expect(page.locator(".msg.bot", has_text="Booked once.")).to_have_count(1)
    # Send pressed with the mouse: the message box keeps the focus for the next message
    page.fill("#text", "clicked")
    page.click("button[type=submit]")
    expect(page.locator(".msg.user", has_text="clicked")).to_have_count(1)
    assert page.evaluate("document.activeElement.id") == "text"
    # Reset is a button: Space presses it; with a conversation it asks for a second press
    page.focus("#reset")
    page.keyboard.press("Space")
    expect(page.locator("#reset")).to_contain_text("Press again")
    assert page.locator(".msg").count() > 0
    page.keyboard.press("Space")
    expect(page.locator(".msg")).to_have_count(0)
    expect(page.locator("#reset")).to_have_text("Reset conversation")


def test_on_a_phone_nothing_is_wider_than_the_screen(browser: Any, served: Served) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)
    phone = context.new_page()
    phone.goto(served.url)
    say(phone, "https://example.com/" + "a" * 300)
    say(phone, "xss")
    expect(phone.locator(".msg.bot")).to_have_count(5)
    widths = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1]
    context.close()


def test_a_reload_keeps_the_conversation_and_the_contact(page: Any, served: Served) -> None:
    say(page, "hi")
    expect(page.locator(".msg")).to_have_count(3)
    page.reload()
    expect(page.locator(".msg")).to_have_count(3)
    page.wait_for_timeout(2500)  # a poll: the replies already shown are not shown again
    expect(page.locator(".msg")).to_have_count(3)
    say(page, "again")
    expect(page.locator(".msg")).to_have_count(6)
    contacts = {m.contact_id for m in served.bot.received}
    assert len(contacts) == 1


def remind(outbox: InMemoryOutbox, contact_id: str, text: str) -> None:
    """The bot sending `text` on its own. In a thread: Playwright's loop holds this one."""
    output = {"type": "text", "text": text}
    thread = threading.Thread(
        target=lambda: asyncio.run(outbox.append(contact_id, output, SystemClock().now()))
    )
    thread.start()
    thread.join()


def test_a_reminder_reading_like_a_reply_is_shown_in_its_place(page: Any, served: Served) -> None:
    """Reminders stored while a turn ran, the first reading exactly like the turn's reply: the
    poll skips the reply by its seq and shows both reminders. Matched by content, the first
    reminder passed for the reply and the reply came again after the second reminder."""
    served.bot.open.clear()
    say(page, "when?")
    for _ in range(500):
        if served.bot.received:
            break
        page.wait_for_timeout(10)
    contact = served.bot.received[0].contact_id
    for text in (SEE_YOU, "Bring your card."):
        remind(served.bot.outbox, contact, text)
    served.bot.open.set()
    expect(page.locator(".msg.bot")).to_have_count(3)  # the answer, then the next poll
    page.wait_for_timeout(2500)  # and one more: nothing else
    expected = ["when?", SEE_YOU, SEE_YOU, "Bring your card."]
    assert page.locator(".msg").all_inner_texts() == expected


def test_replies_from_a_data_plane_without_seqs_are_shown_once(page: Any, served: Served) -> None:
    served.bot.with_seqs = False
    say(page, "hi")
    say(page, "hi")  # the same replies again
    expect(page.locator(".msg")).to_have_count(6)
    page.wait_for_timeout(2500)  # a poll: recognised by their content
    expect(page.locator(".msg")).to_have_count(6)
