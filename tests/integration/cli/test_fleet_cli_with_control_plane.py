"""`botfleet fleet` against a real control plane: `start` waits until the data plane pulled its
configuration and answers; one that exits at start is one error line with the end of its log;
`watch` (a real process) restarts a killed data plane and stops on SIGTERM with status 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import httpx
import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner, Result

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.cli.main import app
from botfleet.testing.faults import assert_no_secrets

pytestmark = [
    pytest.mark.slow,  # data planes that boot from the control plane, and a `watch` process
    pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc"),
]
CACHE = Fernet.generate_key().decode()
INTERNAL = "fleet-cli-cp-internal-token-0123456789"


class RunningControlPlane(Protocol):
    """The `control_plane` fixture of this folder's conftest (a real one, on a thread)."""

    url: str
    admin_key: str


FLOW = """\
id: shop_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello"
    fallback: MENU
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for name in ("BOTFLEET_FLEET_ROOT", "BOTFLEET_FLEET_HOST", "BOTFLEET_BOOT_TOKEN",
                 "BOTFLEET_CACHE_KEY", "BOTFLEET_INTERNAL_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "fleet"
    yield folder
    fleet = LocalOrchestrator(folder, stop_timeout_s=5)
    for launch in folder.glob("*/launch.json"):  # never leave a process behind
        asyncio.run(fleet.stop(launch.parent.name))


def create_tenant(cp: RunningControlPlane, tenant: str, folder: Path, **fields: object) -> str:
    """The tenant registered (its flow published); the answer saved as a private file, which
    `--boot-token-file` reads the `boot_token` of. Returns the boot token."""
    headers = {"Authorization": f"Bearer {cp.admin_key}"}
    with httpx.Client(base_url=cp.url, headers=headers, timeout=10) as http:
        created = http.post("/v1/tenants", json={"id": tenant, "name": tenant, **fields})
        assert created.status_code == 201, created.text
        published = http.post(f"/v1/tenants/{tenant}/flows?publish=true", json={"yaml": FLOW})
        assert published.status_code in (200, 201), published.text
    private(folder / f"{tenant}-apply.json", created.text)
    token: str = created.json()["boot_token"]
    return token


def private(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def start(cp: RunningControlPlane, tenant: str, root: Path, folder: Path) -> Result:
    cache_key = private(folder / "cache-key", CACHE)
    dp = private(folder / "dp.json", json.dumps({"internal_token": INTERNAL}))
    return CliRunner().invoke(
        app,
        [
            "fleet", "start", tenant, "--control-plane", cp.url, "--root", str(root),
            "--boot-token-file", str(folder / f"{tenant}-apply.json"),
            "--cache-key-file", str(cache_key), "--internal-token-file", str(dp),
        ],
    )  # fmt: skip


def test_start_waits_until_healthy_and_watch_restarts_a_killed_data_plane(
    control_plane: RunningControlPlane, root: Path, tmp_path: Path
) -> None:
    boot_token = create_tenant(control_plane, "shop", tmp_path)
    result = start(control_plane, "shop", root, tmp_path)
    assert result.exit_code == 0, result.stderr
    started = json.loads(result.stdout)
    assert (started["state"], started["healthy"]) == ("running", True)
    url = started["url"]
    with httpx.Client(base_url=url, timeout=10) as http:
        assert http.get("/health").json()["tenant_id"] == "shop"
        # The internal token from dp.json is the one the data plane checks.
        authorized = {"Authorization": f"Bearer {INTERNAL}"}
        assert http.get("/usage", headers=authorized).status_code == 200
        assert http.get("/usage", headers={"Authorization": "Bearer nope"}).status_code in (
            401,
            403,
        )
    secrets = {"boot token": boot_token, "cache key": CACHE, "internal token": INTERNAL}
    assert_no_secrets({"stdout": result.stdout, "stderr": result.stderr}, secrets)

    out = tmp_path / "watch.out"
    with out.open("wb") as sink:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "botfleet.cli.main", "fleet", "watch", "--every", "0.2",
             "--root", str(root)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        os.kill(started["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not out.read_text():
            assert watcher.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "watch restarted nothing"
            time.sleep(0.1)
        time.sleep(0.5)  # a second check finds it running: no second line
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=20) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
    (line,) = [json.loads(text) for text in out.read_text().splitlines()]
    assert (line["event"], line["tenant"]) == ("data_plane_restarted", "shop")
    assert line["reason"].startswith(f"process {started['pid']} exited")
    assert line["pid"] != started["pid"]

    # The restarted one (the same spec) comes up again: `restart` waits for it.
    again = CliRunner().invoke(app, ["fleet", "restart", "shop", "--root", str(root)])
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["healthy"] is True
    assert json.loads(again.stdout)["url"] == url

    # `watch --once` (cron) waits for the one it restarts: a check run next finds it up.
    os.kill(json.loads(again.stdout)["pid"], signal.SIGKILL)
    fleet = LocalOrchestrator(root)
    deadline = time.monotonic() + 30
    while asyncio.run(fleet.status("shop")).state != "failed":
        assert time.monotonic() < deadline, "the killed data plane never showed as failed"
        time.sleep(0.1)
    # A fresh streak: the watch above restarted it minutes ago, which would make this one wait.
    (root / "run" / "watch.json").unlink(missing_ok=True)
    once = CliRunner().invoke(app, ["fleet", "watch", "--once", "--root", str(root)])
    assert once.exit_code == 0, once.stderr
    (restarted,) = [json.loads(text) for text in once.stdout.splitlines()]
    assert (restarted["event"], restarted["healthy"]) == ("data_plane_restarted", True)
    checked = CliRunner().invoke(app, ["fleet", "status", "shop", "--root", str(root)])
    assert checked.exit_code == 0, checked.stdout


def test_a_data_plane_that_exits_at_start_is_one_error_line_and_its_log(
    control_plane: RunningControlPlane, root: Path, tmp_path: Path
) -> None:
    # A Telegram tenant whose channel credentials were never stored: its data plane exits.
    channel = {"type": "telegram", "bot_username": "broken_bot"}
    boot_token = create_tenant(control_plane, "broken", tmp_path, channel=channel)
    result = start(control_plane, "broken", root, tmp_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    first, *log_lines = result.stderr.splitlines()
    log = root.resolve() / "logs" / "broken.log"
    assert first.startswith("error: tenant 'broken': data plane failed: process ")
    # The refusal's line is quoted on the first line, which is all `status` shows in its table.
    # `start` waited for its own child: it knows the exit status too.
    assert first.endswith(
        "exited with status 2 (data plane cannot start: control-plane boot config of 'broken' "
        "(flow v1): "
        f"channel.bot_token: telegram channel: missing required key); end of {log}"
    )
    assert log_lines and all(text.startswith("    ") for text in log_lines)
    assert "bot_token" in result.stderr
    secrets = {"boot token": boot_token, "cache key": CACHE, "internal token": INTERNAL}
    assert_no_secrets({"stderr": result.stderr}, secrets)
