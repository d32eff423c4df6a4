"""What `botfleet cp` prints is the answer's JSON with characters that would drive the
operator's terminal (C1 controls, bidirectional overrides) escaped: the same JSON value."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from botfleet.cli.commands.cp_common import emit, terminal_safe_json

UNSAFE = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]")
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_the_same_json_value_without_terminal_controls(value: Any) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    safe = terminal_safe_json(text)
    assert json.loads(safe) == value
    assert not UNSAFE.search(safe.replace("\n", ""))


def test_emit_prints_a_visitors_tricks_escaped(capsys: Any) -> None:
    emit({"message": {"text": "pay \u202eto\u202c \x1b]0;owned\x07 \x9b31m"}})
    out = capsys.readouterr().out
    assert "\\u202e" in out and "\\u009b" in out and "\\u001b" in out
    assert not UNSAFE.search(out.replace("\n", ""))
