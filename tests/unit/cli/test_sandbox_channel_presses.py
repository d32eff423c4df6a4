"""`SandboxChannel.press_of` and `Sandbox.press_of`: the message a press is on each channel, the
one rule `botfleet chat` and `botfleet test` share."""

from __future__ import annotations

from typing import Any

import pytest

from botfleet.adapters.channels.whatsapp.payloads import MAX_BUTTON_ID
from botfleet.domain.messages import OPTION_MENU, MessageType
from botfleet.domain.outputs import Buttons, ListMenu, Option, Section, Text, options_fingerprint
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import open_sandbox
from botfleet.testing.sandbox_channels import CHANNELS, sandbox_channel

ROWS = (Option("row_1", "One"), Option("row_2", "Two"))
ROW_LIST = ListMenu("Pick", "Rows", (Section("", ROWS),))
#: Fits WhatsApp's 256 characters for a button id, not Telegram's 64 bytes.
AT_WHATSAPP_LIMIT = "b" * MAX_BUTTON_ID
#: 33 characters but 66 bytes: Telegram counts bytes.
ACCENTED = "é" * 33


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_button_shown_is_pressed_as_a_button_reply_carrying_its_title(channel: str) -> None:
    menu = Buttons("Pick", (Option("yes", "Yes"), Option("no", "No")))
    press = sandbox_channel(channel).press_of("no", (menu, menu.buttons[1]), ())
    assert (press.kind, press.route, press.payload, press.text) == (
        MessageType.BUTTON_REPLY,
        "id",
        "no",
        "No",
    )


@pytest.mark.parametrize(
    ("channel", "kind"),
    [
        ("webchat", MessageType.LIST_REPLY),
        ("whatsapp", MessageType.LIST_REPLY),
        ("telegram", MessageType.BUTTON_REPLY),  # its lists are inline keyboards
    ],
)
def test_a_list_row_is_a_list_reply_except_on_telegram(channel: str, kind: MessageType) -> None:
    press = sandbox_channel(channel).press_of("row_2", (ROW_LIST, ROWS[1]), ())
    assert (press.kind, press.payload) == (kind, "row_2")


@pytest.mark.parametrize(
    ("channel", "option_id", "by_position"),
    [
        ("whatsapp", AT_WHATSAPP_LIMIT, False),
        ("whatsapp", AT_WHATSAPP_LIMIT + "b", True),
        ("telegram", AT_WHATSAPP_LIMIT, True),
        ("telegram", ACCENTED, True),
        ("whatsapp", ACCENTED, False),
        ("webchat", AT_WHATSAPP_LIMIT + "b", False),
    ],
)
def test_an_id_over_the_channels_limit_goes_by_position_with_its_menus_fingerprint(
    channel: str, option_id: str, by_position: bool
) -> None:
    menu = Buttons("Pick", (Option("first", "First"), Option(option_id, "Second")))
    press = sandbox_channel(channel).press_of(option_id, (menu, menu.buttons[1]), ())
    if not by_position:
        assert (press.route, press.kind, press.payload) == (
            "id",
            MessageType.BUTTON_REPLY,
            option_id,
        )
        return
    assert (press.route, press.kind, press.text, press.payload) == (
        "position",
        MessageType.TEXT,
        "2",
        "",
    )
    assert press.extra[OPTION_MENU] == options_fingerprint(menu.buttons)
    # WhatsApp's reply carries the title shown; Telegram's callback query does not.
    assert ("option_title" in press.extra) is (channel != "telegram")


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_option_no_menu_shows_but_the_engine_offered_is_typed_by_its_number(
    channel: str,
) -> None:
    press = sandbox_channel(channel).press_of("row_2", None, ROWS)
    assert (press.route, press.kind, press.text, press.payload) == (
        "number",
        MessageType.TEXT,
        "2",
        "",
    )


def test_an_id_nothing_offers_is_pressed_as_it_is() -> None:
    press = sandbox_channel("whatsapp").press_of("older", None, ROWS)
    assert (press.route, press.kind, press.payload) == (
        "unshown",
        MessageType.BUTTON_REPLY,
        "older",
    )


TWELVE_ROWS: dict[str, Any] = {
    "id": "rows_v1",
    "initial_state": "ROWS",
    "states": {
        "ROWS": {
            "on_enter": [
                {
                    "action": "send_interactive_list",
                    "body": "Which row?",
                    "button_label": "Rows",
                    "sections": [
                        {
                            "title": "Rows",
                            "rows": [{"id": f"row_{n}", "title": f"Row {n}"} for n in range(1, 13)],
                        }
                    ],
                }
            ],
            "transitions": [{"on_payload_prefix": "row_", "target": "PICKED"}],
            "fallback": "ROWS",
        },
        "PICKED": {
            "on_enter": [{"action": "send_text", "text": "picked {{ message.payload }}"}],
            "next": "ROWS",
        },
    },
}


@pytest.mark.parametrize(("channel", "route"), [("whatsapp", "number"), ("webchat", "id")])
async def test_the_sandbox_presses_on_its_channel(channel: str, route: str) -> None:
    # Twelve rows: numbered text on WhatsApp (10 rows at most), a list on the web chat.
    async with open_sandbox(
        make_tenant_config(TWELVE_ROWS), channel=sandbox_channel(channel)
    ) as bot:
        await bot.enter("ROWS")
        press = await bot.press_of("row_3")
        assert press.route == route
        replies = await bot.press("row_3")
    assert replies[0] == Text("picked row_3")


async def test_a_sandbox_is_on_the_web_chat_unless_told() -> None:
    async with open_sandbox(make_tenant_config(TWELVE_ROWS)) as bot:
        assert bot.channel is sandbox_channel("webchat")
