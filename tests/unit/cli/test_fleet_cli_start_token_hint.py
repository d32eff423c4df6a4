"""`botfleet fleet start`'s next step for the internal token is a command that stores the very
token the start was given, read from where it came: the tenant's own file by its absolute path
(`--file` for a JSON object holding only `internal_token`, `internal_token=@FILE` for the token
alone, through jq for a JSON object with other fields too), or BOTFLEET_INTERNAL_TOKEN on
standard input. Never the value itself.

It printed `--file dp.json (dp.json: {"internal_token": "<its value>"})` whatever the start was
given: a file in the current folder that was not there, or not that tenant's.

Each step is run as printed, by a shell in another folder, against a stand-in control plane
that records what it is asked to store. The data plane is a stand-in too (conftest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import Invoke
from fleet_cli_helpers import INTERNAL_TOKEN

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")

STEP = "  - store the internal token as the tenant's data_plane credentials: "
#: Not the environment's (conftest's), so the command must read the file.
FILE_TOKEN = "file-internal-token-that-must-not-show-8910"
#: Where the CLI runs: the step must not depend on the folder the start ran in.
BOTFLEET_BIN = Path(sys.prefix) / "bin"


class ControlPlane:
    """A control plane that answers `PUT /v1/tenants/<id>/credentials/<scope>` and keeps
    each put's path and JSON body."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, Any]] = []
        puts = self.puts

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                puts.append((self.path, body))
                scope = self.path.rsplit("/", 1)[-1]
                answer = json.dumps(
                    {
                        "scope": scope,
                        "key_names": sorted(body),
                        "stored_by": "operator",
                        "updated_at": "2026-12-07T10:00:00Z",
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def control_plane() -> Iterator[ControlPlane]:
    cp = ControlPlane()
    thread = threading.Thread(target=cp.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield cp
    finally:
        cp.server.shutdown()
        cp.server.server_close()


def private(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def token_step(invoke: Invoke, root: Path, *options: str) -> str:
    """The command of the start's step that stores the internal token."""
    result = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", root,
        "--no-wait", *options,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "dp.json (dp.json" not in result.stderr
    for secret in (FILE_TOKEN, INTERNAL_TOKEN):
        assert secret not in result.stdout + result.stderr
    [step] = [line for line in result.stderr.splitlines() if line.startswith(STEP)]
    return step.removeprefix(STEP)


def run_as_printed(command: str, cp: ControlPlane, elsewhere: Path) -> None:
    """The step in a shell, from another folder, with the CLI on the PATH."""
    env = {
        **os.environ,
        "PATH": f"{BOTFLEET_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "BOTFLEET_CP_URL": cp.url,
        "BOTFLEET_API_KEY": "admin-key-of-the-test-0123456789",
    }
    elsewhere.mkdir(exist_ok=True)
    done = subprocess.run(
        ["bash", "-c", command], cwd=elsewhere, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The start runs in tmp_path, given its files by relative paths, as in the docs."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_json_file_holding_only_the_token_is_given_as_it_is(
    invoke: Invoke, fleet_root: Path, in_tmp: Path, control_plane: ControlPlane
) -> None:
    dp = private(in_tmp / "acme" / "dp.json", json.dumps({"internal_token": FILE_TOKEN}))
    command = token_step(invoke, fleet_root, "--internal-token-file", "acme/dp.json")
    assert command == f"botfleet cp credentials set acme data_plane --file {dp}"
    run_as_printed(command, control_plane, in_tmp / "elsewhere")
    assert control_plane.puts == [
        ("/v1/tenants/acme/credentials/data_plane", {"internal_token": FILE_TOKEN})
    ]


def test_a_file_holding_the_token_alone_is_read_by_name(
    invoke: Invoke, fleet_root: Path, in_tmp: Path, control_plane: ControlPlane
) -> None:
    private(in_tmp / "acme" / "internal token", f"{FILE_TOKEN}\n")
    command = token_step(invoke, fleet_root, "--internal-token-file", "acme/internal token")
    path = in_tmp / "acme" / "internal token"
    assert command == f"botfleet cp credentials set acme data_plane internal_token=@'{path}'"
    run_as_printed(command, control_plane, in_tmp / "elsewhere")
    assert control_plane.puts == [
        ("/v1/tenants/acme/credentials/data_plane", {"internal_token": FILE_TOKEN})
    ]


@pytest.mark.skipif(shutil.which("jq") is None, reason="needs jq")
def test_a_json_file_with_other_secrets_gives_only_the_token(
    invoke: Invoke, fleet_root: Path, in_tmp: Path, control_plane: ControlPlane
) -> None:
    # All three secrets of the tenant in one file: stored as it is, the put would be refused
    # (boot_token and cache_key are no data_plane secrets).
    secrets = {"boot_token": "bfb_x", "cache_key": "k", "internal_token": FILE_TOKEN}
    private(in_tmp / "acme" / "secrets.json", json.dumps(secrets))
    command = token_step(invoke, fleet_root, "--internal-token-file", "acme/secrets.json")
    assert "--file -" in command
    assert str(in_tmp / "acme" / "secrets.json") in command
    run_as_printed(command, control_plane, in_tmp / "elsewhere")
    assert control_plane.puts == [
        ("/v1/tenants/acme/credentials/data_plane", {"internal_token": FILE_TOKEN})
    ]


def test_a_token_from_the_environment_is_read_from_standard_input(
    invoke: Invoke, fleet_root: Path, in_tmp: Path, control_plane: ControlPlane
) -> None:
    command = token_step(invoke, fleet_root)  # BOTFLEET_INTERNAL_TOKEN (conftest)
    assert "BOTFLEET_INTERNAL_TOKEN" in command
    run_as_printed(command, control_plane, in_tmp / "elsewhere")
    assert control_plane.puts == [
        ("/v1/tenants/acme/credentials/data_plane", {"internal_token": INTERNAL_TOKEN})
    ]
