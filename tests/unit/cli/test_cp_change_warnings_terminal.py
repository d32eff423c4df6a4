"""`botfleet cp flows publish` prints the tenant's state and task names in its `warning:` lines:
control characters in them (a YAML key may be ``"\\e]0;...\\a"``) are printed as escapes, so a
tenant's flow cannot drive the terminal of the operator who publishes it, nor forge a line."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from botfleet.cli.commands.cp_documents import warn_of_changes
from botfleet.flows.version_changes import version_changes
from botfleet.testing.engine import flow_from_yaml

#: The live flow has a waiting state whose name sets the terminal's title, then a fake line.
LIVE = """\
id: salon
initial_state: MENU
states:
  MENU:
    transitions:
      - {on_payload: q, target: "\\e]0;owned\\aQ\\nwarning: all good"}
    fallback: MENU
  "\\e]0;owned\\aQ\\nwarning: all good": {fallback: MENU}
"""
NEW = "id: salon\ninitial_state: MENU\nstates:\n  MENU: {fallback: MENU}\n"


def test_control_characters_in_a_changes_names_are_printed_as_escapes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    changes = version_changes(flow_from_yaml(LIVE), flow_from_yaml(NEW))
    assert "\x1b" in changes[0].path  # the flow's name as written, control characters included

    warn_of_changes(SimpleNamespace(changes=changes))

    err = capsys.readouterr().err
    [line] = err.splitlines()
    assert "\x1b" not in err and "\x07" not in err
    assert line.startswith("warning: states.\\x1b]0;owned\\x07Q\\nwarning: all good: contacts")
    assert line.endswith("(state_removed)")


def test_a_printable_line_is_printed_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    change = SimpleNamespace(code="state_removed", path="states.DÍA", message="restart at MENÚ")

    warn_of_changes(SimpleNamespace(changes=[change]))

    assert capsys.readouterr().err == "warning: states.DÍA: restart at MENÚ (state_removed)\n"
