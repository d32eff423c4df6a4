"""`botfleet validate` warns of a calendar without opening hours: it offers no day."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cli_helpers import TINY_FLOW, Invoke


def tenant(write: Callable[[str, str], Path], connectors: str) -> Path:
    write("flow.yaml", TINY_FLOW)
    head = "tenant_id: acme\nflow_path: flow.yaml\nchannel: {type: webchat}\nconnectors:\n"
    return write("tenant.yaml", head + connectors)


def test_each_calendar_without_hours_is_warned_on_its_line(
    invoke: Invoke, write: Callable[[str, str], Path]
) -> None:
    path = tenant(
        write,
        '  calendar: {type: mock_calendar, schedule: {mon: ["10:00-14:00"]}}\n'
        "  calendar.downtown: {type: mock_calendar}\n"
        "  calendar.north: {type: mock_calendar, schedule: {mon: []}}\n",
    )
    result = invoke("validate", path)
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stdout.splitlines() if "no opening hours" in line]
    assert [line.split(" [warning]")[0] for line in warned] == [
        f"{path}:6 connectors.calendar.downtown.schedule:",
        f"{path}:7 connectors.calendar.north.schedule:",
    ]
