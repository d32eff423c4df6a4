"""Telegram sendMessage shapes per output type (respx), and degradation at each limit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import respx

from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Section,
    TemplateMessage,
    Text,
    options_fingerprint,
)

Send = Callable[..., Awaitable[list[dict[str, Any]]]]


def keyboard(*rows: tuple[str, str]) -> dict[str, Any]:
    return {"inline_keyboard": [[{"text": t, "callback_data": d}] for t, d in rows]}


# ---------------------------------------------------------------- request shapes


async def test_text_request_shape(send: Send) -> None:
    assert await send(Text("Hola <Ana> *bold*")) == [
        {"chat_id": 111111111, "text": "Hola <Ana> *bold*"}  # plain text: no parse_mode
    ]


async def test_buttons_become_an_inline_keyboard(send: Send) -> None:
    menu = Buttons("What would you like?", (Option("book", "Book"), Option("cancel", "Cancel")))
    assert await send(menu) == [
        {
            "chat_id": 111111111,
            "text": "What would you like?",
            "reply_markup": keyboard(("Book", "book"), ("Cancel", "cancel")),
        }
    ]


async def test_a_list_is_a_keyboard_with_descriptions_under_the_body(send: Send) -> None:
    menu = ListMenu(
        "Pick a day",
        "Days",
        (Section("This week", (Option("d1", "Tue 7", "3 slots"), Option("d2", "Wed 8"))),),
    )
    assert await send(menu) == [
        {
            "chat_id": 111111111,
            "text": "Pick a day\n\nThis week\n• Tue 7 — 3 slots\n• Wed 8",
            "reply_markup": keyboard(("Tue 7", "d1"), ("Wed 8", "d2")),
        }
    ]


async def test_a_plain_list_keeps_its_body(send: Send) -> None:
    menu = ListMenu("Pick", "Days", (Section("", (Option("d1", "Tue"),)),))
    (body,) = await send(menu)
    assert body["text"] == "Pick"


async def test_a_template_is_sent_as_its_fallback_text(send: Send) -> None:
    reminder = TemplateMessage("appointment_reminder", "es", ("Ana",), "Recuerda tu cita, Ana")
    assert await send(reminder) == [{"chat_id": 111111111, "text": "Recuerda tu cita, Ana"}]


async def test_answer_callback_query_request_shape(
    sender: TelegramBotSender, api: respx.MockRouter
) -> None:
    assert await sender.answer_callback_query("4382bfdwdsb323b2d9") is True
    (call,) = api["answerCallbackQuery"].calls
    assert json.loads(call.request.content) == {"callback_query_id": "4382bfdwdsb323b2d9"}


# ---------------------------------------------------------------- limits and degradation


def options(count: int) -> tuple[Option, ...]:
    return tuple(Option(f"o{n}", f"Option {n}") for n in range(1, count + 1))


async def test_eight_buttons_stay_buttons_and_nine_become_a_list(send: Send) -> None:
    eight, nine = await send(Buttons("A", options(8)), Buttons("B", options(9)))
    assert len(eight["reply_markup"]["inline_keyboard"]) == 8
    assert len(nine["reply_markup"]["inline_keyboard"]) == 9  # as a list: still a keyboard


async def test_over_twenty_rows_become_numbered_text(send: Send) -> None:
    twenty = ListMenu("Pick", "L", (Section("", options(20)),))
    many = ListMenu("Pick", "L", (Section("", options(21)),))
    as_keyboard, as_text = await send(twenty, many)
    assert len(as_keyboard["reply_markup"]["inline_keyboard"]) == 20
    assert "reply_markup" not in as_text
    assert "21. Option 21" in as_text["text"]


async def test_button_titles_are_cut_to_40_characters(send: Send) -> None:
    (body,) = await send(Buttons("Pick", (Option("a", "x" * 41),)))
    (row,) = body["reply_markup"]["inline_keyboard"]
    assert row[0]["text"] == "x" * 39 + "…"


async def test_callback_data_over_64_bytes_is_sent_by_position(send: Send) -> None:
    fits = "é" * 32  # 64 bytes
    too_long = "é" * 33  # 66 bytes
    options = (Option(fits, "A"), Option(too_long, "B"))
    (body,) = await send(Buttons("Pick", options))
    data = [row[0]["callback_data"] for row in body["reply_markup"]["inline_keyboard"]]
    # the position, and the fingerprint of the menu's ids, so a later press can tell its menu
    assert data == [fits, f"#opt2.{options_fingerprint(options)}"]
    assert len(data[1].encode()) <= 64


async def test_list_rows_are_sent_by_position_across_sections(send: Send) -> None:
    long_id = "slot_2026-12-05T10:00:00+01:00_corte_maria_" + "x" * 30
    rows = (Option("a", "A"), Option(long_id, "B")), (Option(long_id + "2", "C"),)
    menu = ListMenu("Pick", "L", (Section("Morning", rows[0]), Section("Evening", rows[1])))
    (body,) = await send(menu)
    data = [row[0]["callback_data"] for row in body["reply_markup"]["inline_keyboard"]]
    fingerprint = options_fingerprint(menu.options)
    assert data == ["a", f"#opt2.{fingerprint}", f"#opt3.{fingerprint}"]


async def test_menus_with_other_ids_get_other_fingerprints(send: Send) -> None:
    today = Buttons("Pick", (Option("slot_today_" + "x" * 60, "10:00"),))
    tomorrow = Buttons("Pick", (Option("slot_tomorrow_" + "x" * 60, "10:00"),))
    first, second = await send(today, tomorrow)
    assert (
        first["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        != second["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    )


async def test_long_text_is_split_and_the_keyboard_rides_on_the_last_part(send: Send) -> None:
    body = ("word " * 1000).strip()
    first, last = await send(Buttons(body, options(2)))
    assert "reply_markup" not in first
    assert len(first["text"]) <= 4096
    assert last["reply_markup"] == keyboard(("Option 1", "o1"), ("Option 2", "o2"))


async def test_an_empty_body_gets_the_placeholder(send: Send) -> None:
    (body,) = await send(Buttons("", options(1)))
    assert body["text"] == "👇"
