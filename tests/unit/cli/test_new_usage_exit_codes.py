"""`botfleet new`: every usage error (a bad FLOW_NAME, a --dir that cannot be written) exits
with click's usage status 2 and one message naming the argument; existing files exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Invoke


def one_line(text: str) -> str:
    """The error box's text as one line (the box wraps long messages)."""
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("Bakery", "bakery"), ("My Bot", "my_bot"), ("2nd_bot", None), ("bad-name", "bad_name")],
)
def test_an_invalid_flow_name_is_a_usage_error(
    invoke: Invoke, tmp_path: Path, name: str, suggestion: str | None
) -> None:
    result = invoke("new", name, "--dir", tmp_path / "x")
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    text = one_line(result.stderr)
    assert f"Invalid value for FLOW_NAME: {name!r} is not a flow name" in text
    assert "lower-case letters, digits and underscores, starting with a letter" in text
    if suggestion is not None:
        assert f"(e.g. {suggestion})" in text
    assert text.count("Invalid value") == 1
    assert not (tmp_path / "x").exists()


def test_the_name_is_checked_before_the_folder(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("Bakery").write_text("x", encoding="utf-8")  # the default folder is a file too
    result = invoke("new", "Bakery")
    assert result.exit_code == 2
    assert "Invalid value for FLOW_NAME: 'Bakery' is not a flow name" in one_line(result.stderr)


def test_a_default_folder_that_is_a_file_names_the_flow_name(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --dir the folder comes from FLOW_NAME: the error names it, not a --dir the
    author never gave."""
    monkeypatch.chdir(tmp_path)
    Path("salon").write_text("x", encoding="utf-8")
    result = invoke("new", "salon")
    assert result.exit_code == 2
    text = one_line(result.stderr)
    assert (
        "Invalid value for FLOW_NAME: salon is a file, not a folder (give another with --dir)"
        in (text)
    )
    assert "--dir:" not in text


def test_usage_errors_exit_2_and_existing_files_exit_1(invoke: Invoke, tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x", encoding="utf-8")
    assert invoke("new", "Bakery", "--dir", tmp_path / "b").exit_code == 2
    assert invoke("new", "bakery", "--dir", a_file).exit_code == 2
    assert invoke("new").exit_code == 2  # click's own: a missing FLOW_NAME
    assert invoke("new", "bakery", "--dir", tmp_path / "b").exit_code == 0
    again = invoke("new", "bakery", "--dir", tmp_path / "b")
    assert again.exit_code == 1
    assert "already there (use --force to replace)" in again.stderr
