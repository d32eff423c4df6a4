"""WhatsApp request shapes per output type (respx), and degradation at each WhatsApp limit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog.testing

from botfleet.adapters.channels.whatsapp import WhatsAppCloudSender
from botfleet.domain.outputs import (
    Buttons,
    ListMenu,
    Option,
    Section,
    TemplateMessage,
    Text,
    options_fingerprint,
)

TO = "16505551234"
ENVELOPE = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO}
Send = Callable[..., Awaitable[list[dict[str, Any]]]]
Fixture = Callable[[str], Any]

# ---------------------------------------------------------------- request shapes


async def test_text_request_shape(sender: WhatsAppCloudSender, graph: respx.MockRouter) -> None:
    await sender.send(TO, [Text("Hola Ana")])
    (call,) = graph["messages"].calls
    assert call.request.url == "https://graph.test/v19.0/106540352242922/messages"
    token = sender.settings.access_token.get_secret_value()
    assert call.request.headers["Authorization"] == f"Bearer {token}"
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.content) == {
        **ENVELOPE,
        "type": "text",
        "text": {"preview_url": False, "body": "Hola Ana"},
    }


async def test_reply_buttons_request_shape(send: Send) -> None:
    menu = Buttons("What would you like?", (Option("book", "Book"), Option("cancel", "Cancel")))
    assert await send(menu) == [
        {
            **ENVELOPE,
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "What would you like?"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "book", "title": "Book"}},
                        {"type": "reply", "reply": {"id": "cancel", "title": "Cancel"}},
                    ]
                },
            },
        }
    ]


async def test_list_request_shape(send: Send) -> None:
    menu = ListMenu(
        "Pick a day",
        "See days",
        (
            Section("This week", (Option("d1", "Tue 7", "3 slots"), Option("d2", "Wed 8"))),
            Section("", (Option("d3", "Mon 13", "all day"),)),
        ),
    )
    assert await send(menu) == [
        {
            **ENVELOPE,
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Pick a day"},
                "action": {
                    "button": "See days",
                    "sections": [
                        {
                            "title": "This week",
                            "rows": [
                                {"id": "d1", "title": "Tue 7", "description": "3 slots"},
                                {"id": "d2", "title": "Wed 8"},
                            ],
                        },
                        # several sections need titles: an untitled one gets the button label
                        {
                            "title": "See days",
                            "rows": [{"id": "d3", "title": "Mon 13", "description": "all day"}],
                        },
                    ],
                },
            },
        }
    ]


async def test_single_untitled_section_has_no_title(send: Send) -> None:
    menu = ListMenu("Pick", "Days", (Section("", (Option("d1", "Tue"),)),))
    (body,) = await send(menu)
    assert body["interactive"]["action"]["sections"] == [{"rows": [{"id": "d1", "title": "Tue"}]}]


async def test_template_request_shape(send: Send) -> None:
    reminder = TemplateMessage("appointment_reminder", "es", ("Ana", "10:30"), "fallback")
    bare = TemplateMessage("hello_world", "en_US")
    assert await send(reminder, bare) == [
        {
            **ENVELOPE,
            "type": "template",
            "template": {
                "name": "appointment_reminder",
                "language": {"code": "es"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [
                            {"type": "text", "text": "Ana"},
                            {"type": "text", "text": "10:30"},
                        ],
                    }
                ],
            },
        },
        {
            **ENVELOPE,
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    ]


async def test_template_parameters_lose_line_breaks_tabs_and_long_runs_of_spaces(
    send: Send,
) -> None:
    # Graph refuses such a parameter (error 132018) and with it the whole reminder.
    address = TemplateMessage("visit", "es", ("Calle Mayor 1\n2º B", "a\tb      c", " x\r\n"))
    (body,) = await send(address)
    parameters = body["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["Calle Mayor 1 2º B", "a b    c", "x"]


async def test_an_empty_template_parameter_goes_as_a_dash_and_is_logged(send: Send) -> None:
    # Graph refuses an empty text parameter ("Parameter 'text' is mandatory") and with it the
    # whole reminder; a dash keeps the reminder going.
    with structlog.testing.capture_logs() as logs:
        (body,) = await send(TemplateMessage("visit", "es", ("Ana", "", " \n ")))
    parameters = body["template"]["components"][0]["parameters"]
    assert [p["text"] for p in parameters] == ["Ana", "-", "-"]
    (warning,) = [e for e in logs if e["event"] == "whatsapp_template_param_empty"]
    assert warning["template"] == "visit"
    assert warning["positions"] == [2, 3]


async def test_mark_as_read_request_shape(
    sender: WhatsAppCloudSender, graph: respx.MockRouter, graph_fixture: Fixture
) -> None:
    answer = httpx.Response(200, json=graph_fixture("api_read_ok"))
    graph["messages"].mock(return_value=answer)
    assert await sender.mark_read("wamid.ABC") is True
    (call,) = graph["messages"].calls
    assert json.loads(call.request.content) == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.ABC",
    }


async def test_outputs_are_sent_in_order(send: Send) -> None:
    out = await send(Text("one"), Buttons("two", (Option("a", "A"),)), Text("three"))
    assert [b["type"] for b in out] == ["text", "interactive", "text"]
    assert out[2]["text"]["body"] == "three"


# ---------------------------------------------------------------- limits and degradation


def titles(body: dict[str, Any]) -> list[str]:
    action = body["interactive"]["action"]
    if "buttons" in action:
        return [b["reply"]["title"] for b in action["buttons"]]
    return [r["title"] for s in action["sections"] for r in s["rows"]]


def options(count: int, title: str = "Option") -> tuple[Option, ...]:
    return tuple(Option(f"o{n}", f"{title} {n}") for n in range(1, count + 1))


async def test_three_buttons_stay_buttons(send: Send) -> None:
    (body,) = await send(Buttons("Pick", options(3)))
    assert body["interactive"]["type"] == "button"
    assert titles(body) == ["Option 1", "Option 2", "Option 3"]


async def test_a_fourth_button_turns_them_into_a_list(send: Send) -> None:
    (body,) = await send(Buttons("Pick", options(4)))
    assert body["interactive"]["type"] == "list"
    assert titles(body) == ["Option 1", "Option 2", "Option 3", "Option 4"]


async def test_ten_rows_stay_a_list_and_eleven_become_numbered_text(send: Send) -> None:
    ten = ListMenu("Pick", "Days", (Section("", options(10)),))
    eleven = ListMenu("Pick", "Days", (Section("", options(11)),))
    as_list, as_text = await send(ten, eleven)
    assert as_list["interactive"]["type"] == "list"
    assert len(titles(as_list)) == 10
    assert as_text["type"] == "text"
    assert "1. Option 1" in as_text["text"]["body"]
    assert "11. Option 11" in as_text["text"]["body"]


async def test_titles_and_descriptions_are_cut_to_whatsapp_limits(send: Send) -> None:
    buttons = Buttons("Pick", (Option("a", "x" * 20), Option("b", "y" * 20)))
    rows = ListMenu("Pick", "L" * 21, (Section("S" * 25, (Option("r", "t" * 25, "d" * 73),)),))
    button_body, list_body = await send(buttons, rows)
    assert titles(button_body) == ["x" * 20, "y" * 20]
    action = list_body["interactive"]["action"]
    assert action["button"] == "L" * 19 + "…"
    (section,) = action["sections"]
    assert len(section["title"]) == 24
    (row,) = section["rows"]
    assert (len(row["title"]), len(row["description"])) == (24, 72)
    assert row["title"].endswith("…") and row["description"].endswith("…")


async def test_buttons_a_title_would_be_cut_on_go_as_a_list_showing_it_whole(
    send: Send,
) -> None:
    """Buttons hold 20 characters, a list row 24 and its description 72: the appointment's
    time, cut off a button, is in sight."""
    mine = Buttons("Welchen Termin?", (Option("a1", "Mi., 9. Dez. · 09:00 · Krankengymnastik"),))
    (body,) = await send(mine)
    assert body["interactive"]["type"] == "list"
    (section,) = body["interactive"]["action"]["sections"]
    (row,) = section["rows"]
    assert row["description"] == "Mi., 9. Dez. · 09:00 · Krankengymnastik"
    assert len(row["title"]) <= 24


async def test_text_over_4096_characters_is_split(send: Send) -> None:
    exactly = "a" * 4096
    longer = ("word " * 1000).strip()  # 4999 characters
    out = await send(Text(exactly), Text(longer))
    assert out[0]["text"]["body"] == exactly
    assert len(out) == 3
    assert all(len(b["text"]["body"]) <= 4096 for b in out)
    assert " ".join(b["text"]["body"] for b in out[1:]) == longer


async def test_an_interactive_body_over_1024_characters_goes_first_as_text(send: Send) -> None:
    body = "\n\n".join(f"Paragraph {n}. " + "z" * 300 for n in range(5))  # ~1580 characters
    first, menu = await send(Buttons(body, options(2)))
    assert first["type"] == "text"
    assert menu["type"] == "interactive"
    assert len(menu["interactive"]["body"]["text"]) <= 1024
    assert first["text"]["body"].startswith("Paragraph 0.")
    assert menu["interactive"]["body"]["text"].endswith("z" * 300)


async def test_an_empty_body_gets_the_placeholder(send: Send) -> None:
    (body,) = await send(Buttons("", options(2)))
    assert body["interactive"]["body"] == {"text": "👇"}


async def test_ids_over_the_limit_are_sent_by_position(send: Send) -> None:
    buttons = Buttons("Pick", (Option("short", "A"), Option("x" * 257, "B")))
    rows = ListMenu("Pick", "L", (Section("", (Option("y" * 201, "C"), Option("ok", "D"))),))
    button_body, list_body = await send(buttons, rows)
    ids = [b["reply"]["id"] for b in button_body["interactive"]["action"]["buttons"]]
    # the position, and the fingerprint of the menu's ids, so a later press can tell its menu
    assert ids == ["short", f"#opt2.{options_fingerprint(buttons.buttons)}"]
    rows_out = list_body["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows_out] == [f"#opt1.{options_fingerprint(rows.options)}", "ok"]


async def test_row_positions_count_every_section(send: Send) -> None:
    long_id = "y" * 201
    menu = ListMenu(
        "Pick",
        "L",
        (Section("Morning", (Option("a", "A"),)), Section("Evening", (Option(long_id, "B"),))),
    )
    (body,) = await send(menu)
    sections = body["interactive"]["action"]["sections"]
    assert sections[1]["rows"][0]["id"] == f"#opt2.{options_fingerprint(menu.options)}"


def test_a_refused_template_parameter_is_named_a_template_problem() -> None:
    from botfleet.adapters.channels.whatsapp.errors import meaning_of
    from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo

    assert meaning_of(GraphErrorInfo(132018)).event == "whatsapp_template_rejected"


@pytest.mark.parametrize(
    ("code", "event", "retryable"),
    [
        (131037, "whatsapp_display_name_not_approved", False),
        (131045, "whatsapp_number_not_registered", False),
        (131057, "whatsapp_temporary_error", True),  # maintenance mode: it passes
    ],
)
def test_set_up_and_maintenance_codes_have_their_own_meaning(
    code: int, event: str, retryable: bool
) -> None:
    """Each used to be `whatsapp_send_failed`, which says nothing of what to do."""
    from botfleet.adapters.channels.whatsapp.errors import meaning_of
    from botfleet.adapters.channels.whatsapp.parse import GraphErrorInfo

    meaning = meaning_of(GraphErrorInfo(code))
    assert (meaning.event, meaning.retryable) == (event, retryable)
    assert str(code) in (Path(__file__).parents[4] / "docs" / "channels.md").read_text()
