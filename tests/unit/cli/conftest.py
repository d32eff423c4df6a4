"""CLI test fixtures: a CliRunner on the `botfleet` app and small flows written to tmp_path."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from textwrap import dedent

import pytest
from cli_helpers import Invoke
from fleet_cli_helpers import SECRETS, STAND_IN
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


@pytest.fixture
def fleet_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The fleet's secrets in the environment, and no BOTFLEET_FLEET_ROOT/HOST from the shell."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BOTFLEET_FLEET_ROOT", raising=False)
    monkeypatch.delenv("BOTFLEET_FLEET_HOST", raising=False)
    return SECRETS


@pytest.fixture
def data_plane_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fleet commands start data planes with `sys.executable`: this puts `STAND_IN` there."""
    path = tmp_path / "python"
    path.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    path.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(path))
    return path


@pytest.fixture
def fleet_root(
    tmp_path: Path, invoke: Invoke, fleet_secrets: dict[str, str], data_plane_stand_in: Path
) -> Iterator[Path]:
    """A fleet root not made yet; every data plane started under it is stopped at the end."""
    fleet = tmp_path / "fleet"
    try:
        yield fleet
    finally:
        # Each stopped before any failure is told, so that none is left running.
        stops = {
            launch.parent.name: invoke("fleet", "stop", launch.parent.name, "--root", fleet)
            for launch in sorted(fleet.glob("*/launch.json"))
        }
        assert {tenant: stop.exit_code for tenant, stop in stops.items()} == dict.fromkeys(stops, 0)
