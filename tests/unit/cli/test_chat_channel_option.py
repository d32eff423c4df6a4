"""`botfleet chat --channel`: outputs shown as that channel sends them (degraded with its own
capabilities), presses delivered as it delivers them; by default the tenant's channel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.adapters.channels.telegram import TELEGRAM_CAPABILITIES
from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.whatsapp import WHATSAPP_CAPABILITIES
from botfleet.cli.chat_session import chat_session
from botfleet.cli.flow_files import read_tenant
from botfleet.testing.runtime import make_tenant_config
from botfleet.testing.sandbox import Contact
from botfleet.testing.sandbox_channels import CHANNELS, sandbox_channel, tenant_channel

Write = Callable[[str, str], Path]

#: Over Telegram's 64 bytes of `callback_data`, within WhatsApp's 200 for a row.
LONG_ID = "key_" + "x" * 70
ROWS = "\n".join(
    f"              - {{id: row_{n}, title: Row {n}}}" for n in range(1, 13)
)  # 12 rows: a list on the web chat (50) and Telegram (20), numbered text on WhatsApp (10)

FLOW = f"""\
id: menus_v1
initial_state: START
states:
  START:
    on_enter:
      - action: send_interactive_buttons
        body: "Pick one"
        buttons:
          - {{id: a, title: A}}
          - {{id: b, title: B}}
          - {{id: c, title: C}}
          - {{id: d, title: D}}
    transitions:
      - condition: "message.payload in ['a', 'b', 'c', 'd']"
        target: PICKED
    fallback: START
  LONG:
    on_enter:
      - action: send_interactive_list
        body: "Which row?"
        button_label: Rows
        sections:
          - title: Rows
            rows:
{ROWS}
    transitions:
      - on_payload_prefix: row_
        target: PICKED
    fallback: LONG
  KEYS:
    on_enter:
      - action: send_interactive_list
        body: "Which key?"
        button_label: Keys
        sections:
          - title: Keys
            rows: [{{id: short, title: Short}}, {{id: {LONG_ID}, title: Long}}]
    transitions:
      - on_payload: short
        target: PICKED
      - on_payload: {LONG_ID}
        target: PICKED
    fallback: KEYS
  PICKED:
    on_enter:
      - action: send_text
        text: "picked {{{{ message.payload }}}} as {{{{ message.type }}}}"
    next: REST
  REST:
    transitions:
      - {{on_payload: go_long, target: LONG}}
      - {{on_payload: go_keys, target: KEYS}}
    fallback: START
"""


@pytest.fixture
def flow(write: Write) -> Path:
    return write("menus.yaml", FLOW)


def _tenant(write: Write, channel: str) -> Path:
    write("menus.yaml", FLOW)
    return write(
        "tenant.yaml",
        f"tenant_id: shop\nname: Shop\ntimezone: Europe/Madrid\nflow_path: menus.yaml\n"
        f"channel: {{type: {channel}}}\n",
    )


def test_a_whatsapp_tenants_four_buttons_are_the_list_whatsapp_gets(
    invoke: Invoke, write: Write
) -> None:
    tenant = _tenant(write, "whatsapp")
    result = invoke("chat", tenant, input="hi\n:press b\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Chatting with Shop (flow menus_v1) as terminal on whatsapp;" in out
    assert "bot> [list] Pick one\n     1. A  (a)\n" in out
    assert "     4. D  (d)\n" in out
    # A row of that list is picked (WhatsApp delivers a list reply), read as the button shown.
    assert "you> :press b\nbot> picked b as button_reply\n" in out

    webchat = invoke("chat", tenant, "--channel", "webchat", input="hi\n:press b\n")
    assert "as terminal on webchat;" in webchat.stdout
    assert "bot> [buttons] Pick one\n" in webchat.stdout
    assert "you> :press b\nbot> picked b as button_reply\n" in webchat.stdout


def test_a_flow_file_is_on_the_web_chat_unless_told(invoke: Invoke, flow: Path) -> None:
    result = invoke("chat", flow, input="hi\n")
    assert "as terminal on webchat;" in result.stdout
    assert "bot> [buttons] Pick one\n" in result.stdout
    whatsapp = invoke("chat", flow, "--channel", "WhatsApp", input="hi\n")
    assert "as terminal on whatsapp;" in whatsapp.stdout
    assert "bot> [list] Pick one\n" in whatsapp.stdout
    unknown = invoke("chat", flow, "--channel", "sms", input="hi\n")
    assert unknown.exit_code == 2
    assert "'sms' is not one of" in unknown.stderr


def test_twelve_rows_are_numbered_text_on_whatsapp_and_numbers_pick_them(
    invoke: Invoke, flow: Path
) -> None:
    script = "12\n:press go_long\n:press row_3\n"
    result = invoke("chat", flow, "--channel", "whatsapp", "--state", "LONG", input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "[list]" not in out
    assert "bot> Which row?\n     \n     Rows\n     1. Row 1\n     2. Row 2\n" in out
    assert "     12. Row 12\n     \n     Reply with a number.\n" in out
    # A typed number picks the row, as on WhatsApp.
    assert "you> 12\nbot> picked row_12 as list_reply\n" in out
    # Numbered text has nothing to press: the row is typed as its number, as the contact would.
    assert (
        'you> :press row_3\n(whatsapp shows it as numbered text: typed "3")\n'
        "bot> picked row_3 as list_reply\n"
    ) in out

    webchat = invoke(
        "chat", flow, "--channel", "webchat", "--state", "LONG", input=":press row_3\n"
    )
    assert "bot> [list] Which row?\n     1. Row 1  (row_1)\n" in webchat.stdout
    assert "you> :press row_3\nbot> picked row_3 as list_reply\n" in webchat.stdout


def test_on_telegram_rows_are_buttons_and_a_long_id_is_pressed_by_position(
    invoke: Invoke, flow: Path
) -> None:
    script = f":press short\n:press go_keys\n:press {LONG_ID}\n"
    result = invoke("chat", flow, "--channel", "telegram", "--state", "KEYS", input=script)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "bot> [list] Which key?\n" in out
    # A row of Telegram's keyboard is a button, whose press is read as the row shown.
    assert "you> :press short\nbot> picked short as list_reply\n" in out
    # The long id went by position (`#opt2.<fingerprint>`): its press is the typed "2" of that
    # menu, which the engine reads as the row.
    assert (
        f"you> :press {LONG_ID}\n"
        '(telegram sent its id by position, too long to send back: pressed as the typed "2")\n'
        f"bot> picked {LONG_ID} as list_reply\n"
    ) in out

    webchat = invoke("chat", flow, "--channel", "webchat", "--state", "KEYS", input=script)
    assert "you> :press short\nbot> picked short as list_reply\n" in webchat.stdout
    assert f"you> :press {LONG_ID}\nbot> picked {LONG_ID} as list_reply\n" in webchat.stdout
    assert "by position" not in webchat.stdout


def test_the_channels_are_the_adapters_own_capabilities() -> None:
    assert CHANNELS == ("webchat", "whatsapp", "telegram")
    assert sandbox_channel("webchat").capabilities is WEBCHAT_CAPABILITIES
    assert sandbox_channel("whatsapp").capabilities is WHATSAPP_CAPABILITIES
    assert sandbox_channel("telegram").capabilities is TELEGRAM_CAPABILITIES
    with pytest.raises(ValueError, match="unknown channel 'sms'"):
        sandbox_channel("sms")


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        ({"type": "whatsapp"}, "whatsapp"),
        ({"type": "telegram"}, "telegram"),
        ({"type": "http_dev"}, "webchat"),
        (None, "webchat"),
    ],
)
def test_the_default_is_the_tenants_channel(binding: dict[str, str] | None, expected: str) -> None:
    fields = {} if binding is None else {"channel": binding}
    assert tenant_channel(make_tenant_config(**fields)) == expected


def test_the_session_shows_the_channel_it_is_given(
    flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, loaded = read_tenant(flow)
    lines = iter(["hi\n", ""])

    def run(channel: str | None) -> int:
        return asyncio.run(
            chat_session(
                config,
                loaded,
                None,
                Contact("c1"),
                None,
                None,
                {},
                lambda: next(lines),
                echo=True,
                channel=channel,
            )
        )

    assert run("telegram") == 0
    out = capsys.readouterr().out
    assert "as c1 on telegram;" in out
    assert "you> hi\nbot> [buttons] Pick one\n" in out  # Telegram takes 8 buttons
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        run("fax")
