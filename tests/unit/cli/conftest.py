"""CLI test fixtures: a CliRunner on the `botfleet` app and small flows written to tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest
from cli_helpers import Invoke
from typer.testing import CliRunner, Result

from botfleet.cli.main import app


@pytest.fixture
def invoke() -> Invoke:
    """`invoke("validate", "x.yaml", input=...)`: run the CLI, stdout and stderr kept apart."""
    runner = CliRunner()

    def run(*args: str | Path, input: str | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], input=input)

    return run


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented file under tmp_path and return its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
        return path

    return write_file
