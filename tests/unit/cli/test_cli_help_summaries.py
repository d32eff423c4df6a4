"""`botfleet --help` lists each command with a one-line summary.

The summary is the first paragraph of the command's docstring; a line break inside it shows up
as a sentence cut in two in the list (`demo` read "print the URLs, run until" / "Ctrl+C.").
"""

from __future__ import annotations

import click
import pytest
import typer.main
from typer.testing import CliRunner

from botfleet.cli.main import app


def _commands(group: click.Command, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in getattr(group, "commands", {}).items():
        found.append((prefix + name, command))
        found += _commands(command, f"{prefix}{name} ")
    return found


# `cp` commands live in the control-plane client's modules (reviewed with them).
COMMANDS = [(n, c) for n, c in _commands(typer.main.get_command(app)) if not n.startswith("cp")]


@pytest.mark.parametrize("command", [c for _, c in COMMANDS], ids=[n for n, _ in COMMANDS])
def test_the_summary_is_one_line(command: click.Command) -> None:
    summary = (command.help or "").strip().split("\n\n")[0]
    assert summary
    assert "\n" not in summary


def test_demo_summary_reads_whole() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert "Start the control plane and the demo tenant's data plane; print the URLs." in (
        result.stdout
    )
