"""`botfleet fleet start` of a tenant started before under the root: what the command line does
not give (--control-plane, --port, --host, the secrets) is taken from its last start and named
on stderr, so that after a boot-token rotation `start TENANT --boot-token-file NEW` is enough;
the next steps are printed only when there is something to do. Without an earlier start a
missing --control-plane is one `error:` line, as the orchestrator's refusals are.

The data plane is a stand-in (an HTTP server answering /health as the tenant), run as
`sys.executable`: the command starts data planes with it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke
from cryptography.fernet import Fernet

from botfleet.testing.faults import free_port

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")

STAND_IN = """\
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "tenant_id": os.environ["DP_TENANT_ID"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

args = sys.argv
address = (args[args.index("--host") + 1], int(args[args.index("--port") + 1]))
HTTPServer(address, Health).serve_forever()
"""
CACHE_KEY = Fernet.generate_key().decode()
SECRETS = {
    "BOTFLEET_BOOT_TOKEN": "bfb_old-boot-token",
    "BOTFLEET_CACHE_KEY": CACHE_KEY,
    "BOTFLEET_INTERNAL_TOKEN": "internal-token",
}


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke) -> Iterator[Path]:
    stand_in = tmp_path / "python"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    stand_in.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(stand_in))
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BOTFLEET_FLEET_ROOT", raising=False)
    monkeypatch.delenv("BOTFLEET_FLEET_HOST", raising=False)
    fleet = tmp_path / "fleet"
    try:
        yield fleet
    finally:
        if (fleet / "acme").exists():
            assert invoke("fleet", "stop", "acme", "--root", fleet).exit_code == 0


def launch(root: Path) -> dict[str, object]:
    record: dict[str, object] = json.loads((root / "acme" / "launch.json").read_text("utf-8"))
    return record


def test_a_start_after_a_rotation_needs_only_the_new_token(
    invoke: Invoke, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", root,
        "--host", "127.0.0.2", "--timeout", "20",
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    port = json.loads(first.stdout)["port"]
    assert "next steps" in first.stderr
    assert f"fleet watch --root {root.resolve()} --host 127.0.0.2" in first.stderr

    for name in SECRETS:  # another shell, a day later: only the new token at hand
        monkeypatch.delenv(name)
    new_token = tmp_path / "new-boot-token"
    new_token.write_text("bfb_new-boot-token\n", encoding="utf-8")
    new_token.chmod(0o600)
    again = invoke(
        "fleet", "start", "acme", "--boot-token-file", new_token, "--root", root, "--timeout", "20"
    )
    assert again.exit_code == 0, again.stderr
    view = json.loads(again.stdout)
    assert (view["healthy"], view["port"], view["url"]) == (
        True,
        port,
        f"http://127.0.0.2:{port}",
    )
    assert (
        f"reused from the last start of 'acme' under {root.resolve()}: --control-plane "
        "http://127.0.0.1:8001, --host 127.0.0.2, the cache key, the internal token"
    ) in again.stderr
    # Neither the URL nor the internal token changed: nothing left to do.
    assert "next steps" not in again.stderr
    for secret in ("bfb_new-boot-token", CACHE_KEY, "internal-token"):
        assert secret not in again.stdout + again.stderr
    spec = launch(root)["spec"]
    assert isinstance(spec, dict)
    assert spec["boot_token"] == "bfb_new-boot-token"
    assert (spec["cache_key"], spec["internal_token"]) == (CACHE_KEY, "internal-token")
    assert spec["control_plane_url"] == "http://127.0.0.1:8001"


def test_a_changed_internal_token_is_the_only_step_left(
    invoke: Invoke, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = ("fleet", "start", "acme", "--root", root, "--no-wait")
    first = invoke(*command, "--control-plane", "http://127.0.0.1:8001", "--port", free_port())
    assert first.exit_code == 0, first.stderr
    port = json.loads(first.stdout)["port"]
    monkeypatch.setenv("BOTFLEET_INTERNAL_TOKEN", "a-new-internal-token")
    again = invoke(*command)
    assert again.exit_code == 0, again.stderr
    assert f"--control-plane http://127.0.0.1:8001, --port {port}\n" in again.stderr
    steps = [line for line in again.stderr.splitlines() if line.startswith("  - ")]
    assert len(steps) == 1
    assert steps[0].startswith("  - store the internal token as the tenant's data_plane")


def test_a_first_start_without_the_control_plane_is_one_error_line(
    invoke: Invoke, root: Path
) -> None:
    result = invoke("fleet", "start", "acme", "--root", root, "--no-wait")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: missing option --control-plane: give the control plane's URL, e.g. "
        f"http://127.0.0.1:8001 (tenant 'acme' has no earlier start under {root.resolve()} to "
        "take it from)"
    ]
    assert not root.exists()


def test_a_missing_secret_is_one_error_line_too(
    invoke: Invoke, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOTFLEET_BOOT_TOKEN")
    result = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", root
    )
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("error: Invalid value for --boot-token-file: no boot token: set ")


def test_a_host_other_hosts_can_reach_is_never_carried_over(invoke: Invoke, root: Path) -> None:
    command = ("fleet", "start", "acme", "--root", root, "--no-wait")
    first = invoke(
        *command, "--control-plane", "http://127.0.0.1:8001", "--port", free_port(),
        "--host", "0.0.0.0",
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    again = invoke(*command)
    assert again.exit_code == 2
    assert (
        "tenant 'acme' was started on 0.0.0.0, which other hosts can reach: give --host 0.0.0.0 "
        "to start it there again, or --host 127.0.0.1"
    ) in " ".join(again.stderr.split())
    assert invoke(*command, "--host", "0.0.0.0").exit_code == 0
