"""`botfleet test --channel`: a conversation test checks the outputs as that channel gets them
(fitted to its limits, as `botfleet chat --channel` shows them); by default each test's
tenant's channel, the web chat for a flow test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.cli.options import Channel
from botfleet.testing.conversation import run_conversation_test
from botfleet.testing.sandbox_channels import CHANNELS

Write = Callable[[str, str], Path]

ROWS = ", ".join(f"{{id: row_{n}, title: Row {n}}}" for n in range(1, 13))
#: Four buttons (a list on WhatsApp, which shows 3) and a 12-row list (numbered text there).
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
      - {{on_payload: d, target: LONG}}
    fallback: START
  LONG:
    on_enter:
      - action: send_interactive_list
        body: "Which row?"
        button_label: Rows
        sections: [{{title: Rows, rows: [{ROWS}]}}]
    fallback: LONG
"""
#: What the web chat gets: four buttons.
AS_WEBCHAT = """\
name: four buttons
{subject}
steps:
  - say: hi
    expect: [{{type: buttons, options: [a, b, c, d]}}]
"""
#: What WhatsApp gets: a list of four rows, then the rows as numbered text, answered by number.
AS_WHATSAPP = """\
name: a list of four
{subject}
steps:
  - say: hi
    expect: [{{type: list, options: [a, b, c, d]}}]
  - press: d
    expect: [{{type: text, contains: "12. Row 12"}}]
"""


@pytest.fixture
def flow_tests(write: Write) -> tuple[Path, Path]:
    write("menus.yaml", FLOW)
    subject = "flow: menus.yaml"
    webchat = write("test_webchat.yaml", AS_WEBCHAT.format(subject=subject))
    whatsapp = write("test_whatsapp.yaml", AS_WHATSAPP.format(subject=subject))
    return webchat, whatsapp


def test_a_flow_test_is_on_the_web_chat_by_default(
    invoke: Invoke, flow_tests: tuple[Path, Path]
) -> None:
    webchat, _ = flow_tests
    assert invoke("test", webchat).exit_code == 0
    assert invoke("test", webchat, "--channel", "webchat").exit_code == 0


def test_a_web_chat_test_fails_on_whatsapp_saying_what_whatsapp_got(
    invoke: Invoke, flow_tests: tuple[Path, Path]
) -> None:
    webchat, _ = flow_tests
    result = invoke("test", webchat, "--channel", "WhatsApp")
    assert result.exit_code == 1
    assert f"FAIL  four buttons  ({webchat}, 1 step)\n" in result.stdout
    assert "        output 1 type: expected buttons, got list\n" in result.stdout
    assert "        the bot sent on whatsapp:\n          1) [list] Pick one\n" in result.stdout


def test_a_whatsapp_test_passes_there_and_fails_on_the_web_chat(
    invoke: Invoke, flow_tests: tuple[Path, Path]
) -> None:
    _, whatsapp = flow_tests
    passed = invoke("test", whatsapp, "--channel", "whatsapp")
    assert passed.exit_code == 0, passed.output
    assert f"PASS  a list of four  ({whatsapp}, 2 steps)" in passed.stdout
    failed = invoke("test", whatsapp)
    assert failed.exit_code == 1
    assert "        output 1 type: expected list, got buttons\n" in failed.stdout
    assert "        the bot sent on webchat:\n          1) [buttons] Pick one\n" in failed.stdout


def test_a_tenants_test_is_on_its_channel_unless_told(invoke: Invoke, write: Write) -> None:
    write("menus.yaml", FLOW)
    write(
        "tenant.yaml",
        "tenant_id: shop\ntimezone: Europe/Madrid\nflow_path: menus.yaml\n"
        "channel: {type: whatsapp}\n",
    )
    subject = "tenant: tenant.yaml"
    whatsapp = write("test_whatsapp.yaml", AS_WHATSAPP.format(subject=subject))
    webchat = write("test_webchat.yaml", AS_WEBCHAT.format(subject=subject))
    result = invoke("test", whatsapp, webchat)
    assert result.exit_code == 1
    assert f"PASS  a list of four  ({whatsapp}, 2 steps)" in result.stdout
    assert f"FAIL  four buttons  ({webchat}, 1 step)" in result.stdout
    assert "the bot sent on whatsapp:" in result.stdout
    told = invoke("test", whatsapp, webchat, "--channel", "webchat")
    assert f"FAIL  a list of four  ({whatsapp}, 1 step)" in told.stdout
    assert f"PASS  four buttons  ({webchat}, 1 step)" in told.stdout


def test_an_unknown_channel_is_a_usage_error(invoke: Invoke, flow_tests: tuple[Path, Path]) -> None:
    result = invoke("test", flow_tests[0], "--channel", "sms")
    assert result.exit_code == 2
    assert "'sms' is not one of" in result.stderr
    with pytest.raises(ValueError, match="unknown channel 'sms'; expected one of webchat, "):
        asyncio.run(run_conversation_test(flow_tests[0], channel="sms"))


def test_the_channel_option_offers_the_channels_a_sandbox_plays() -> None:
    # `--channel` keeps its own names so `botfleet --help` imports no adapter: they must agree.
    assert sorted(Channel) == sorted(CHANNELS)


def test_a_failed_step_keeps_a_numbered_text_under_its_number(invoke: Invoke, write: Write) -> None:
    # Twelve rows are numbered text on WhatsApp: one output of many lines, each shown under "1)".
    write("menus.yaml", FLOW)
    rows = write(
        "test_rows.yaml",
        "name: rows\nflow: menus.yaml\nsteps:\n  - say: hi\n  - press: d\n"
        "    expect: [{type: list}]\n",
    )
    result = invoke("test", rows, "--channel", "whatsapp")
    assert result.exit_code == 1
    assert (
        "          1) Which row?\n"
        "      \n"
        "             Rows\n"
        "             1. Row 1\n"
        "             2. Row 2\n"
    ) in result.stdout
    assert "             12. Row 12\n" in result.stdout
