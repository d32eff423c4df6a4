"""docs/flow-dsl.md agrees with the schema where it lists what the schema accepts."""

from __future__ import annotations

import re
from pathlib import Path

from botfleet.domain.messages import MessageType
from botfleet.flows.schema import MESSAGE_TYPES

DOCS = Path(__file__).parents[3] / "docs" / "flow-dsl.md"


def table_row(key: str) -> str:
    """The row of a reference table whose first cell is `key` in backticks."""
    rows = [
        line
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{key}` |")
    ]
    assert len(rows) == 1, f"one `{key}` row expected in {DOCS.name}, found {len(rows)}"
    return rows[0]


def test_the_on_type_row_lists_every_message_type_the_schema_accepts() -> None:
    _, meaning = table_row("on_type").split("|")[1:3]
    named = set(re.findall(r"`([^`]+)`", meaning))
    assert set(MESSAGE_TYPES) - named == set(), "types the schema accepts but the row omits"
    assert named - set(MESSAGE_TYPES) == set(), "types the row names but the schema refuses"


def test_every_message_type_can_be_matched_with_on_type() -> None:
    """The schema's list is the one the row is checked against: it must cover the domain's."""
    assert {str(t) for t in MessageType} <= set(MESSAGE_TYPES)
