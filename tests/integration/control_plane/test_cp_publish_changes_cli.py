"""`botfleet cp flows upload --publish|publish|rollback` print, one `warning:` line each on
stderr, what replacing the live version does to conversations under way; stdout stays the
answer's JSON, and the exit status says the publish went through."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cp_harness import ADMIN_KEY, Database, make_settings
from typer.testing import CliRunner, Result

from botfleet.cli.demo_stack import BackgroundServer
from botfleet.cli.main import app
from botfleet.control_plane.app import create_app

LIVE = """\
id: salon
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_interactive_buttons
        body: "Menu"
        buttons: [{id: book, title: Book}]
    transitions:
      - {on_payload: book, target: ASK_DAY}
    fallback: MENU
  ASK_DAY:
    on_enter: [{action: send_text, text: "Which day?"}]
    transitions:
      - {on_type: text, target: MENU}
"""
RENAMED = LIVE.replace("ASK_DAY", "ASK_DATE")

Cli = Callable[..., Result]


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    settings = make_settings(
        Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}"), log_level="WARNING"
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = BackgroundServer(create_app(settings), host="127.0.0.1", port=port)
    server.start(timeout_s=30)
    env = {"BOTFLEET_CP_URL": f"http://127.0.0.1:{port}", "BOTFLEET_API_KEY": ADMIN_KEY}
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        result = runner.invoke(app, ["cp", *args], env=env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    try:
        yield invoke
    finally:
        server.stop()


def test_publishing_over_a_live_version_prints_each_change_as_a_warning(
    cli: Cli, tmp_path: Path
) -> None:
    live, renamed = tmp_path / "live.yaml", tmp_path / "renamed.yaml"
    live.write_text(LIVE)
    renamed.write_text(RENAMED)
    cli("tenants", "create", "acme", "--name", "Acme")

    first = cli("flows", "upload", "acme", str(live), "--publish")
    assert "warning:" not in first.stderr

    upload = cli("flows", "upload", "acme", str(renamed), "--publish")
    assert json.loads(upload.stdout)["changes"][0]["code"] == "state_removed"
    [line] = upload.stderr.splitlines()
    assert line.startswith("warning: states.ASK_DAY: contacts waiting in it restart at MENU")
    assert line.endswith("(state_removed)")

    back = cli("flows", "rollback", "acme")
    assert back.stderr.startswith("warning: states.ASK_DATE: contacts waiting in it restart")

    again = cli("flows", "publish", "acme", "2")
    assert again.stderr.startswith("warning: states.ASK_DAY:")
