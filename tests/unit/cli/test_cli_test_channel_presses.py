"""`botfleet test --channel`: a `press:` reaches the bot as that channel delivers it, as
`botfleet chat --channel` delivers `:press` (one implementation, `testing.sandbox_channels`):
four buttons WhatsApp shows as a list are pressed as list rows and a Telegram list row as a
keyboard button, and the bot reads each as the option it showed (a button, a row); an id too
long for the channel goes by position and still picks its option, and an option the channel
showed as numbered text cannot be pressed at all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.testing.conversation import run_conversation_test

Write = Callable[[str, str], Path]

#: Over WhatsApp's 200 characters for a row id and Telegram's 64 bytes of `callback_data`, well
#: within the web chat's 4096.
LONG_ID = "key_" + "x" * 200
ROWS = ", ".join(f"{{id: row_{n}, title: Row {n}}}" for n in range(1, 13))
#: PICKED says how the press arrived: its payload, its type, and whether it came by position (a
#: press by position is the typed position with the menu's fingerprint in `extra`).
FLOW = f"""\
id: presses_v1
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
  KEYS:
    on_enter:
      - action: send_interactive_list
        body: "Which key?"
        button_label: Keys
        sections:
          - title: Keys
            rows: [{{id: short, title: Short}}, {{id: {LONG_ID}, title: Long}}]
    transitions:
      - {{on_payload: short, target: PICKED}}
      - {{on_payload: {LONG_ID}, target: PICKED}}
    fallback: KEYS
  ROWS:
    on_enter:
      - action: send_interactive_list
        body: "Which row?"
        button_label: Rows
        sections: [{{title: Rows, rows: [{ROWS}]}}]
    transitions:
      - {{on_payload_prefix: row_, target: PICKED}}
    fallback: ROWS
  PICKED:
    on_enter:
      - action: send_text
        text: >-
          picked {{{{ message.payload }}}} as {{{{ message.type }}}}{{% if message.extra is
          defined %}} by position{{% endif %}}
    next: REST
  REST:
    transitions:
      - {{on_payload: again, target: START}}
    fallback: START
"""


def _press_test(write: Write, start: str, step: str, checks: str) -> Path:
    write("presses.yaml", FLOW)
    return write(
        "test_press.yaml",
        f"name: a press\nflow: presses.yaml\nstart: {{state: {start}}}\nsteps:\n"
        f"  - {step}\n{checks}",
    )


@pytest.mark.parametrize(
    ("channel", "start", "pressed", "got"),
    [
        ("webchat", "START", "b", "picked b as button_reply"),
        # WhatsApp shows at most 3 buttons: the four are a list, whose row's press the bot
        # reads as the button it showed.
        ("whatsapp", "START", "b", "picked b as button_reply"),
        ("telegram", "START", "b", "picked b as button_reply"),
        ("webchat", "KEYS", "short", "picked short as list_reply"),
        ("whatsapp", "KEYS", "short", "picked short as list_reply"),
        # Telegram draws a list as an inline keyboard: a button's press, read as the row.
        ("telegram", "KEYS", "short", "picked short as list_reply"),
        ("webchat", "KEYS", LONG_ID, f"picked {LONG_ID} as list_reply"),
        # Sent as `#opt2.<fingerprint>`: the press is the typed "2" of that menu, which the
        # engine reads as the row it names.
        ("whatsapp", "KEYS", LONG_ID, f"picked {LONG_ID} as list_reply by position"),
        ("telegram", "KEYS", LONG_ID, f"picked {LONG_ID} as list_reply by position"),
    ],
    ids=lambda value: "long_id" if value == LONG_ID else None,
)
def test_a_press_reaches_the_bot_as_the_channel_delivers_it(
    invoke: Invoke, write: Write, channel: str, start: str, pressed: str, got: str
) -> None:
    test = _press_test(write, start, f"press: {pressed}", f'    expect: "{got}"\n    state: REST\n')
    result = invoke("test", test, "--channel", channel)
    assert result.exit_code == 0, result.output
    assert f"PASS  a press  ({test}, 1 step)" in result.stdout


def test_a_long_id_that_passes_on_the_web_chat_fails_elsewhere_only_by_how_it_arrived(
    invoke: Invoke, write: Write
) -> None:
    test = _press_test(
        write, "KEYS", f"press: {LONG_ID}", f'    expect: "picked {LONG_ID} as list_reply"\n'
    )
    assert invoke("test", test, "--channel", "webchat").exit_code == 0
    result = invoke("test", test, "--channel", "whatsapp")
    assert result.exit_code == 1
    # The failure starts by saying how the press went, which explains the difference.
    assert (
        f"        press: '{LONG_ID}' went by position on whatsapp (its id is too long for the "
        'channel): the bot got the typed "2" of that menu\n'
        "        output 1 text:\n"
    ) in result.stdout
    assert f"got      'picked {LONG_ID} as list_reply by position'" in result.stdout


def test_a_press_that_went_as_its_id_adds_no_note_to_a_failure(
    invoke: Invoke, write: Write
) -> None:
    test = _press_test(write, "KEYS", "press: short", "    state: KEYS\n")
    result = invoke("test", test, "--channel", "whatsapp")
    assert result.exit_code == 1
    assert "        state: expected KEYS, got REST\n" in result.stdout
    assert "by position" not in result.stdout


def test_a_press_of_a_row_whatsapp_shows_as_numbered_text_fails_naming_the_step(
    invoke: Invoke, write: Write
) -> None:
    # Checks on the step do not excuse it: on WhatsApp there is nothing to press.
    test = _press_test(write, "ROWS", "press: row_3", "    state: REST\n")
    line = test.read_text(encoding="utf-8").splitlines().index("  - press: row_3") + 1
    assert invoke("test", test, "--channel", "webchat").exit_code == 0  # a list there

    result = invoke("test", test, "--channel", "whatsapp")
    assert result.exit_code == 1
    assert f"FAIL  a press  ({test}, 1 step)\n" in result.stdout
    assert (
        f"      {test}:{line}: step 1 (press: row_3)\n"
        "        press: 'row_3' cannot be pressed on whatsapp: the menu that offers it was sent "
        'as numbered text, with nothing to press (docs/channels.md, "Limits and degradation"); '
        'the contact types its number instead: say: "3"\n'
    ) in result.stdout
    failed = asyncio.run(run_conversation_test(test, channel="whatsapp"))
    assert (failed.status, failed.steps) == ("failed", 1)
    assert "the bot sent" not in failed.message  # the press was never sent


def test_typing_the_number_the_failure_suggests_picks_the_row(invoke: Invoke, write: Write) -> None:
    test = _press_test(write, "ROWS", 'say: "3"', '    expect: "picked row_3 as list_reply"\n')
    result = invoke("test", test, "--channel", "whatsapp")
    assert result.exit_code == 0, result.output
