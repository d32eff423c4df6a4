"""A control plane for benchmarks: started in a subprocess, holding the demo tenant.

`running_control_plane(workdir)` starts `botfleet serve control-plane` on a fresh SQLite
database, registers the demo tenant of examples/tenants/demo.yaml (channel, connectors, LLM),
publishes its flow and knowledge, and yields the `DP_*` variables a data plane needs to pull
that configuration at boot.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography.fernet import Fernet

from bench._proc import DEMO_TENANT, free_port, start

ADMIN_KEY = "bench-admin-key-0123456789abcdef0123"


def demo_tenant_body(path: Path = DEMO_TENANT) -> tuple[dict[str, Any], str, str]:
    """(POST /v1/tenants body, flow YAML, knowledge markdown) of a local tenant file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    body = {
        "id": data["tenant_id"],
        "name": data["name"],
        "timezone": data.get("timezone", "UTC"),
        "language": data.get("language", "en"),
        "channel": data.get("channel", {"type": "webchat"}),
        "connectors": data.get("connectors", {}),
        "llm": data.get("llm", {}),
    }
    # As JSON values: YAML reads `closed_dates: [2026-12-25]` as dates.
    body = json.loads(json.dumps(body, default=str))
    flow = (path.parent / data["flow_path"]).read_text(encoding="utf-8")
    knowledge_path = data.get("knowledge_path")
    knowledge = (path.parent / knowledge_path).read_text(encoding="utf-8") if knowledge_path else ""
    return body, flow, knowledge


def publish_demo_tenant(url: str) -> str:
    """Register and publish the demo tenant; returns its boot token."""
    body, flow, knowledge = demo_tenant_body()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    tenant = body["id"]
    with httpx.Client(base_url=url, headers=admin, timeout=30.0) as client:
        created = client.post("/v1/tenants", json=body)
        _expect(created, 201, "create the demo tenant")
        token: str = created.json()["boot_token"]
        flows = client.post(
            f"/v1/tenants/{tenant}/flows",
            params={"publish": "true"},
            content=flow,
            headers={"Content-Type": "application/yaml"},
        )
        _expect(flows, 201, "publish the demo flow")
        if knowledge:
            published = client.post(
                f"/v1/tenants/{tenant}/knowledge",
                params={"publish": "true"},
                content=knowledge,
                headers={"Content-Type": "text/markdown"},
            )
            _expect(published, 201, "publish the demo knowledge")
    return token


def _expect(response: httpx.Response, status: int, doing: str) -> None:
    if response.status_code != status:
        raise RuntimeError(f"control plane: {doing}: {response.status_code} {response.text[:300]}")


@contextmanager
def running_control_plane(workdir: Path) -> Iterator[dict[str, str]]:
    """A control plane with the demo tenant; yields the data plane's `DP_*` pull variables."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        "CP_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'control_plane.db'}",
        "CP_ADMIN_API_KEY": ADMIN_KEY,
        "CP_FERNET_KEYS": Fernet.generate_key().decode(),
        "CP_LOG_LEVEL": "WARNING",
    }
    argv = ["-m", "botfleet.cli.main", "serve", "control-plane", "--port", str(port)]
    with start("control-plane", argv, port=port, workdir=workdir, env=env) as server:
        server.wait_ready("/health", timeout_s=60)
        token = publish_demo_tenant(server.url)
        yield {
            "DP_CONTROL_PLANE_URL": server.url,
            "DP_TENANT_ID": demo_tenant_body()[0]["id"],
            "DP_BOOT_TOKEN": token,
            "DP_CACHE_KEY": Fernet.generate_key().decode(),
            "DP_CONFIG_POLL_S": "30",
        }
