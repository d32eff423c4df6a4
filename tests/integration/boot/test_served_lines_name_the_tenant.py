"""A served data plane (`botfleet serve data-plane`, one tenant per process) names its tenant
in every line it writes: a channel's webhook lines, written outside any turn
(`whatsapp_signature_invalid`, `whatsapp_verify_rejected`), and the libraries' lines
(APScheduler's) included."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

FLOW = """\
id: f_v1
initial_state: A
states:
  A:
    on_enter:
      - {action: send_text, text: hi}
    fallback: A
"""
APP_SECRET = "app-secret-for-the-test"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    (tmp_path / "flow.yaml").write_text(FLOW, encoding="utf-8")
    tenant = {
        "tenant_id": "salon",
        "flow_path": "flow.yaml",
        "channel": {
            "type": "whatsapp",
            "phone_number_id": "106540352242922",
            "access_token": "EAAG-not-a-real-token",
            "app_secret": APP_SECRET,
            "verify_token": "verify-me",
            "graph_base_url": "http://127.0.0.1:9",
        },
    }
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(tenant), encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DP_")
        and name not in {"TENANT_CONFIG_PATH", "CONTROL_PLANE_URL", "TENANT_ID", "BOOT_TOKEN"}
    }
    env |= {"DP_DATA_DIR": str(tmp_path / "data"), "DP_LOG_LEVEL": "info"}
    command = [sys.executable, "-m", "botfleet.cli.main", "serve", "data-plane"]
    return subprocess.Popen(
        [*command, "--port", str(port), "--tenant-config", str(path)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the data plane did not start")


def test_every_line_of_a_served_data_plane_names_its_tenant(tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = _serve(tmp_path, port)
    try:
        _wait_until_up(base, process)
        refused = httpx.post(
            f"{base}/webhook",
            content=b'{"object": "whatsapp_business_account", "entry": []}',
            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
        assert refused.status_code == 403
        handshake = httpx.get(
            f"{base}/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        )
        assert handshake.status_code == 403
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)

    lines: list[dict[str, Any]] = [json.loads(line) for line in stdout.splitlines() if line]
    events = {line["event"]: line for line in lines}
    assert "whatsapp_signature_invalid" in events, stdout + stderr
    assert "whatsapp_verify_rejected" in events
    assert "Scheduler started" in events  # a library's line (APScheduler), not botfleet's own
    assert [line["event"] for line in lines if line.get("tenant") != "salon"] == []
