"""A served data plane (`botfleet serve data-plane`, one tenant per process) names its tenant
in every line it writes: a channel's webhook lines, written outside any turn
(`whatsapp_signature_invalid`, `whatsapp_verify_rejected`), and the libraries' lines
(APScheduler's) included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from botfleet.testing.faults import free_port
from serve_process import serve_command, started, tenant_files

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
TENANT = {
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


def test_every_line_of_a_served_data_plane_names_its_tenant(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tenant = tenant_files(tmp_path, TENANT, FLOW)
    command = serve_command("data-plane", "--port", str(port), "--tenant-config", str(tenant))
    env = {"DP_DATA_DIR": str(tmp_path / "data"), "DP_LOG_LEVEL": "info"}
    with started(command, cwd=tmp_path, env=env) as process:
        process.wait_until_answering(f"{base}/health")
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
        stopped = process.stop()

    lines: list[dict[str, Any]] = [json.loads(line) for line in stopped.stdout.splitlines() if line]
    events = {line["event"]: line for line in lines}
    assert "whatsapp_signature_invalid" in events, stopped.stdout + stopped.stderr
    assert "whatsapp_verify_rejected" in events
    assert "Scheduler started" in events  # a library's line (APScheduler), not botfleet's own
    assert [line["event"] for line in lines if line.get("tenant") != "salon"] == []
