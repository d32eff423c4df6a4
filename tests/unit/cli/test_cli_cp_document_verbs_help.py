"""Every `botfleet cp flows|knowledge` verb says what it does in `--help` and in the group's list.

`list`, `show` and `rollback` had no help: `botfleet cp knowledge --help` listed them with an
empty description, so a user had to guess that `rollback` publishes the version before.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from botfleet.cli.main import app

VERBS = ("upload", "list", "show", "publish", "rollback", "diff")


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("kind", ["flows", "knowledge"])
def test_every_verb_is_described_in_the_group_list(kind: str) -> None:
    listed = _help("cp", kind)
    for verb in VERBS:
        line = next(line for line in listed.splitlines() if f" {verb} " in line)
        described = line.split(verb, 1)[1].strip(" │")
        assert described, f"`cp {kind} {verb}` has no description: {line!r}"


def test_rollback_says_it_publishes_an_earlier_version() -> None:
    assert "Publish an earlier version again" in _help("cp", "knowledge", "rollback")


def test_show_mentions_raw_text() -> None:
    assert "--raw" in _help("cp", "knowledge", "show")
