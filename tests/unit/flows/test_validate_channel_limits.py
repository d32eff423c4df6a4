"""Menu and length warnings follow the channel the flow runs on (its adapter's `Capabilities`);
a flow checked alone gets WhatsApp's, the strictest."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from botfleet.adapters.channels.limits import declared_channel_limits
from botfleet.adapters.channels.telegram.payloads import (
    MAX_CALLBACK_DATA_BYTES,
    TELEGRAM_CAPABILITIES,
)
from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.whatsapp.payloads import (
    MAX_BUTTON_ID,
    MAX_ROW_ID,
    WHATSAPP_CAPABILITIES,
)
from botfleet.flows.channel_limits import WHATSAPP, ChannelLimits, channel_limits
from botfleet.flows.load import load_flow_text

#: Four buttons, a 25-character title, a 70-byte id (over Telegram's 64 bytes of callback_data,
#: well within WhatsApp's 256); a list of 12 rows with a 22-character button label and a
#: 29-character section title.
MENU_FLOW = (Path(__file__).parents[2] / "fixtures/flows/channel_menu.yaml").read_text("utf-8")
BUTTONS = "states.MENU.on_enter[0]"
LIST = "states.MENU.on_enter[1]"

WHATSAPP_WARNINGS = [
    (
        f"{BUTTONS}.buttons",
        "4 buttons: WhatsApp shows at most 3, so it gets them as a list (one button that "
        "opens the choices); keep 3 buttons, or use send_interactive_list to write the list "
        "yourself",
    ),
    (
        f"{BUTTONS}.buttons[0].title",
        # Four buttons go out as a list there: its rows' limit, 24, not a button's 20.
        "25 characters: WhatsApp shows at most 24, so it gets 'Appointment on a Tuesda…'",
    ),
    (
        f"{LIST}.button_label",
        "22 characters: WhatsApp shows at most 20, so it gets 'Choose one of the d…'",
    ),
    (
        f"{LIST}.sections",
        "12 rows in all: WhatsApp lists hold at most 10, so it gets them as numbered text, "
        "answered by typing a number; keep 10 rows, e.g. by splitting the choice in two steps",
    ),
    (
        f"{LIST}.sections[0].title",
        "29 characters: WhatsApp shows at most 24, so it gets 'Every day of the coming…'",
    ),
]
TELEGRAM_WARNINGS = [
    (
        f"{BUTTONS}.buttons[3].id",
        "70 bytes: a press on Telegram carries at most 64 bytes of its option's id, so it "
        "sends this one by its position instead (`#opt<n>.<fingerprint>`), which picks it "
        "from the menu shown last only (a press of an older menu goes to the state's fallback, "
        "else settings.error_text); an id of at most 64 bytes is sent as it is",
    ),
]


def warnings(text: str, channel: ChannelLimits | None) -> list[tuple[str, str]]:
    flow = load_flow_text(text, "menu.yaml", channel=channel)
    return sorted((w.path, w.message) for w in flow.warnings)


def test_a_flow_alone_is_checked_against_whatsapp() -> None:
    assert warnings(MENU_FLOW, None) == sorted(WHATSAPP_WARNINGS)


def test_a_whatsapp_tenant_gets_what_a_flow_alone_gets() -> None:
    whatsapp = declared_channel_limits("whatsapp")
    assert warnings(MENU_FLOW, whatsapp) == sorted(WHATSAPP_WARNINGS)


def test_a_telegram_tenant_gets_telegram_limits_and_none_of_whatsapps() -> None:
    telegram = channel_limits(
        "telegram", TELEGRAM_CAPABILITIES, max_option_id_bytes=MAX_CALLBACK_DATA_BYTES
    )
    assert warnings(MENU_FLOW, telegram) == TELEGRAM_WARNINGS


@pytest.mark.parametrize("kind", ["webchat", "http_dev"])
def test_a_web_chat_tenant_gets_none_of_these(kind: str) -> None:
    assert warnings(MENU_FLOW, channel_limits(kind, WEBCHAT_CAPABILITIES)) == []


def test_telegram_limits_are_its_adapters_and_worded_as_telegram() -> None:
    many = "".join(f"          - {{id: n{i}, title: {'T' * 45}{i}}}\n" for i in range(5))
    flow = MENU_FLOW.replace("          - {id: a,", many + "          - {id: a,", 1)
    telegram = channel_limits("telegram", TELEGRAM_CAPABILITIES)
    found = dict(warnings(flow, telegram))
    assert found[f"{BUTTONS}.buttons"].startswith(
        "9 buttons: Telegram shows at most 8, so it gets them as a list (a button per row, "
        "descriptions under the text)"
    )
    assert found[f"{BUTTONS}.buttons[0].title"].startswith(
        "46 characters: Telegram shows at most 40, so it gets"
    )


def test_titles_cut_alike_name_the_channels_cut_and_form() -> None:
    buttons = "\n".join(
        f"          - {{id: t{i}, title: Appointment for the first Tuesday of May 10:{i}0}}"
        for i in range(2)
    )
    flow = MENU_FLOW.split("        buttons:\n")[0] + "        buttons:\n" + buttons + "\n"
    flow += "    transitions: [{target: MENU}]\n"
    web = channel_limits("webchat", WEBCHAT_CAPABILITIES)
    # A channel with lists shows the titles whole in list rows: nothing is cut alike.
    found = warnings(flow, web)
    assert not [w for w in found if "both become" in w[1]]
    assert (
        f"{BUTTONS}.buttons",
        "a title of 46 characters: the web chat shows at most 40 on a button, so it gets these "
        "buttons as a list, each title shown whole (a row shows 80, the rest under it); keep "
        "titles to 40 characters for buttons",
    ) in found
    # Without lists the buttons are cut: two cut alike are told apart by nothing.
    plain = channel_limits("webchat", replace(WEBCHAT_CAPABILITIES, lists=False))
    [(path, message)] = [w for w in warnings(flow, plain) if "both become" in w[1]]
    assert path == f"{BUTTONS}.buttons[1].title"
    assert message.startswith(
        "buttons[0] and buttons[1] both become 'Appointment for the first Tuesday of Ma…', cut to "
        "the web chat's 40 characters: "
    )


def test_templates_header_is_no_limit_where_templates_are_not_sent() -> None:
    flow = (
        "id: t\ninitial_state: S\nstates:\n  S:\n    on_enter:\n"
        "      - action: send_template\n        name: reminder\n"
        f"        header_param: {'h' * 61}\n"
        "    transitions: [{target: S}]\n"
    )
    header = "states.S.on_enter[0].header_param"
    assert header in dict(warnings(flow, None))
    assert header not in dict(warnings(flow, channel_limits("webchat", WEBCHAT_CAPABILITIES)))


def test_the_default_is_the_whatsapp_adapters_own_capabilities() -> None:
    # The flows package cannot import the adapter; this keeps its default from drifting.
    assert WHATSAPP.capabilities == WHATSAPP_CAPABILITIES
    assert (WHATSAPP.max_button_id, WHATSAPP.max_row_id) == (MAX_BUTTON_ID, MAX_ROW_ID)
    assert declared_channel_limits("whatsapp") == WHATSAPP
