"""`botfleet validate` on a tenant with `more_channels`: each binding is read as the data plane
reads it, its problems on its own key and line; clashing kinds are errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke

Write = Callable[[str, str], Path]

FLOW = """\
id: hello
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: Hi
    fallback: MENU
"""


def tenant_with(more: str) -> str:
    return f"tenant_id: hello\nflow_path: hello.yaml\nchannel: {{type: webchat}}\n{more}"


def test_each_more_channel_is_checked_on_its_own_line(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FLOW)
    tenant = write(
        "tenant.yaml",
        tenant_with(
            "more_channels:\n"
            "  - {type: telegram, webhook_secret: s3cret-s3cret, api_base_url: nope}\n"
            "  - {type: whatsapp, phone_number_id: '1065', graph_base_url: 'https://g.test'}\n"
        ),
    )
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:5 more_channels[0].api_base_url: telegram channel:" in result.stderr
    assert (
        f"{tenant}:5 more_channels[0].bot_token: [warning] telegram channel: missing required key"
        " (a secret: the data plane does not start without it; put it here for a local run, or"
        " store it as the tenant's `channel:telegram` credentials in the control plane)\n"
        in result.stdout
    )
    assert (
        f"{tenant}:6 more_channels[1].access_token: [warning] whatsapp channel: missing required"
        in result.stdout
    )
    assert "phone_number_id" not in result.stdout + result.stderr


def test_a_kind_given_twice_is_an_error(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FLOW)
    tenant = write("tenant.yaml", tenant_with("more_channels:\n  - {type: http_dev}\n"))
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert "more_channels[0].type: 'http_dev' lists every contact's messages" in result.stderr


def test_an_unknown_more_channel_type_is_named(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FLOW)
    tenant = write("tenant.yaml", tenant_with("more_channels:\n  - {type: signal}\n"))
    result = invoke("validate", tenant)
    assert result.exit_code == 1
    assert f"{tenant}:5 more_channels[0].type: unknown type 'signal'" in result.stderr


FOUR_BUTTONS = """\
id: hello
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: Pick one
        buttons:
          - {id: a, title: One}
          - {id: b, title: Two}
          - {id: c, title: Three}
          - {id: d, title: Four}
    transitions:
      - {target: MENU}
    fallback: MENU
"""


def test_menu_warnings_speak_of_each_channel(invoke: Invoke, write: Write) -> None:
    write("hello.yaml", FOUR_BUTTONS)
    alone = write("alone.yaml", tenant_with(""))
    result = invoke("validate", alone)
    assert result.exit_code == 0, result.output
    assert "WhatsApp" not in result.stdout  # four buttons are fine on the web chat
    both = write(
        "both.yaml",
        tenant_with(
            "more_channels:\n"
            "  - {type: whatsapp, phone_number_id: '1065', access_token: t, app_secret: s,"
            " verify_token: v}\n"
        ),
    )
    result = invoke("validate", both)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stdout.splitlines() if "[warning]" in line]
    assert len(warned) == 1, result.stdout
    assert "hello.yaml" in warned[0] and "states.MENU.on_enter[0]" in warned[0]
    assert "WhatsApp" in warned[0]
