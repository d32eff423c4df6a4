"""Whatever a flow outputs, what the senders put on the wire is within the providers' documented
limits: WhatsApp Cloud API (text 4096, interactive body 1024, 3 buttons of 20 distinct
characters, list button 20, 10 rows, row title 24, description 72, section title 24) and the
Telegram Bot API (text 1-4096, callback_data 1-64 bytes), with ids unique in a message (WhatsApp
requires it; a Telegram press could not tell two apart). A request over a limit is refused
whole, so each of these is a lost message."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.channels.telegram.payloads import TELEGRAM_CAPABILITIES
from botfleet.adapters.channels.telegram.payloads import message_payloads as telegram_payloads
from botfleet.adapters.channels.whatsapp.payloads import WHATSAPP_CAPABILITIES
from botfleet.adapters.channels.whatsapp.payloads import message_payloads as whatsapp_payloads
from botfleet.domain.degrade import degrade
from botfleet.domain.outputs import Buttons, ListMenu, Option, Output, Section, Text

# Blanks at the ends, emoji with modifiers and combining accents: where cuts and comparisons
# go wrong.
pieces = st.sampled_from(["a", "Z", " ", "\n", "é", "e\u0301", "👍🏽", "🇪🇸", ".", "Yes", "x" * 30])
words = st.lists(pieces, max_size=12).map("".join)
long_words = st.lists(pieces, max_size=400).map("".join)
# Short ids repeat often: connector data can give two options one id.
ids = st.one_of(
    st.text(alphabet=st.sampled_from("ab"), min_size=1, max_size=2),
    st.text(alphabet=st.sampled_from("ab_01ñ😀"), min_size=1, max_size=80),
)
option = st.builds(Option, id=ids, title=words, description=words)
options = st.lists(option, min_size=1, max_size=12).map(tuple)
outputs = st.one_of(
    st.builds(Text, text=long_words),
    st.builds(Buttons, body=long_words, buttons=options),
    st.builds(
        ListMenu,
        body=long_words,
        button_label=words,
        sections=st.lists(st.builds(Section, title=words, rows=options), max_size=3).map(tuple),
    ),
)


def whatsapp_wire(given_outputs: list[Output]) -> list[dict[str, Any]]:
    return [
        payload
        for output in degrade(given_outputs, WHATSAPP_CAPABILITIES)
        for payload in whatsapp_payloads("16505551234", output)
    ]


def assert_whatsapp_limits(payload: dict[str, Any]) -> None:
    if payload["type"] == "text":
        assert 0 < len(payload["text"]["body"]) <= 4096 and payload["text"]["body"].strip()
        return
    interactive = payload["interactive"]
    assert 0 < len(interactive["body"]["text"]) <= 1024 and interactive["body"]["text"].strip()
    action = interactive["action"]
    if interactive["type"] == "button":
        titles = [b["reply"]["title"] for b in action["buttons"]]
        assert 0 < len(titles) <= 3
        assert all(0 < len(t) <= 20 for t in titles)
        assert len(set(titles)) == len(titles)
        button_ids = [b["reply"]["id"] for b in action["buttons"]]
        assert all(0 < len(i) <= 256 for i in button_ids)
        assert len(set(button_ids)) == len(button_ids)
        return
    assert 0 < len(action["button"]) <= 20
    sections = action["sections"]
    rows = [row for section in sections for row in section["rows"]]
    assert 0 < len(sections) <= 10 and 0 < len(rows) <= 10
    assert all(0 < len(r["title"]) <= 24 and 0 < len(r["id"]) <= 200 for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)  # across sections
    assert all(len(r.get("description", "")) <= 72 for r in rows)
    assert all(0 < len(s["title"]) <= 24 for s in sections if len(sections) > 1 or "title" in s)


@settings(max_examples=200)
@given(st.lists(outputs, min_size=1, max_size=3))
def test_whatsapp_requests_are_within_meta_s_limits(given_outputs: list[Output]) -> None:
    for payload in whatsapp_wire(given_outputs):
        assert_whatsapp_limits(payload)


@settings(max_examples=200)
@given(st.lists(outputs, min_size=1, max_size=3))
def test_degraded_buttons_go_to_whatsapp_as_buttons(given_outputs: list[Output]) -> None:
    # Degradation compares titles as sent: the payloads need not turn buttons into a list.
    for output in degrade(given_outputs, WHATSAPP_CAPABILITIES):
        if isinstance(output, Buttons):
            *_, payload = whatsapp_payloads("16505551234", output)
            assert payload["interactive"]["type"] == "button"


def test_button_titles_that_differ_only_in_blanks_are_not_sent_twice() -> None:
    # "Yes" and "Yes " are sent as one title: Graph would refuse the whole message (131009).
    # A list takes rows with one title twice.
    menu = Buttons("Confirm?", (Option("yes", "Yes"), Option("sure", "Yes ")))
    (payload,) = whatsapp_wire([menu])
    assert payload["interactive"]["type"] == "list"
    rows = payload["interactive"]["action"]["sections"][0]["rows"]
    assert [(r["id"], r["title"]) for r in rows] == [("yes", "Yes"), ("sure", "Yes")]


def test_a_blank_button_title_shown_as_its_id_does_not_meet_another_title() -> None:
    menu = Buttons("Pick", (Option("Book", " "), Option("b", "Book")))
    (payload,) = whatsapp_wire([menu])
    assert payload["interactive"]["type"] == "list"


def test_repeated_option_ids_are_sent_once_the_first_kept() -> None:
    menu = Buttons("When?", (Option("s1", "10:00"), Option("s2", "10:30"), Option("s1", "11:00")))
    (payload,) = whatsapp_wire([menu])
    buttons = payload["interactive"]["action"]["buttons"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in buttons] == [
        ("s1", "10:00"),
        ("s2", "10:30"),
    ]


def test_distinct_button_titles_stay_buttons() -> None:
    menu = Buttons("Confirm?", (Option("yes", " Yes"), Option("no", "No ")))
    (payload,) = whatsapp_wire([menu])
    assert payload["interactive"]["type"] == "button"


@settings(max_examples=200)
@given(st.lists(outputs, min_size=1, max_size=3))
def test_telegram_requests_are_within_the_bot_api_s_limits(given_outputs: list[Output]) -> None:
    for output in degrade(given_outputs, TELEGRAM_CAPABILITIES):
        for payload in telegram_payloads("-1001234567890:topic:42", output):
            assert payload["message_thread_id"] == 42
            assert "parse_mode" not in payload  # plain text: nothing to escape, no entity to cut
            assert 0 < len(payload["text"]) <= 4096 and payload["text"].strip()
            keyboard = payload.get("reply_markup", {}).get("inline_keyboard", [])
            for (button,) in keyboard:
                assert 0 < len(button["text"]) <= 40
                assert 0 < len(button["callback_data"].encode()) <= 64
            data = [button["callback_data"] for (button,) in keyboard]
            assert len(set(data)) == len(data)  # a press names one option
