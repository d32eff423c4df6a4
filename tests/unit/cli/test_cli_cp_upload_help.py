"""`botfleet cp flows|knowledge upload --help`: each describes its own document.

Both commands are built from one template; the knowledge one used to promise that "an invalid
flow lists its issues by line".
"""

from __future__ import annotations

from typer.testing import CliRunner

from botfleet.cli.main import app


def _help(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_flow_upload_mentions_flow_issues() -> None:
    assert "an invalid flow lists its issues by line" in _help("cp", "flows", "upload")


def test_knowledge_upload_says_nothing_about_flows() -> None:
    text = _help("cp", "knowledge", "upload")
    assert "markdown document" in text
    assert "flow" not in text.lower()
