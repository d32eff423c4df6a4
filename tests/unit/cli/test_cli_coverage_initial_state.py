"""`botfleet test --coverage`: an initial state that only answers a new contact's first message.

A new contact is placed in `initial_state` without running its `on_enter` (docs/flow-dsl.md,
"New contacts"), so a START state that routes the first message and that no transition leads
back to is never *entered*, yet every conversation passes through it. It counts as exercised
once one of its transitions fired; before, `--min-coverage 100` could never pass for such a flow.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import Invoke

Write = Callable[[str, str], Path]

FLOW = """\
id: start_v1
initial_state: START
states:
  START:
    transitions:
      - set_data: {lang: en}
        target: MENU
  MENU:
    on_enter:
      - action: send_text
        text: "Hello ({{ data.lang }})"
    fallback: MENU
  UNUSED:
    on_enter:
      - action: send_text
        text: "never"
    next: MENU
"""

TEST = """\
flow: flow.yaml
steps:
  - say: hi
    expect: ["Hello (en)"]
    state: MENU
  - say: again
    expect: ["Hello (en)"]
"""


def test_an_initial_state_left_by_the_first_message_is_covered(
    invoke: Invoke, write: Write
) -> None:
    flow = write("suite/flow.yaml", FLOW.split("  UNUSED:")[0])
    write("suite/start_test.yaml", TEST)
    result = invoke("test", flow.parent, "--min-coverage", "100")
    assert result.exit_code == 0, result.output
    assert "states         2/2   100.0%" in result.stdout
    assert "states.START" not in result.stdout


def test_a_state_never_reached_is_still_reported(invoke: Invoke, write: Write) -> None:
    flow = write("suite/flow.yaml", FLOW)
    write("suite/start_test.yaml", TEST)
    result = invoke("test", flow.parent, "--coverage")
    assert "states         2/3    66.7%" in result.stdout
    assert f"    states.UNUSED  ({flow}:" in result.stdout
    assert "states.START " not in result.stdout
