"""The control plane is down when a data plane (re)starts: the data plane starts from its cached
copy of the configuration and serves; once the control plane is back, newly published versions
reach it without a restart. Real processes: the control plane, and the data plane run by the
local orchestrator."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from botfleet.adapters.orchestration import LocalOrchestrator, wait_until_healthy
from botfleet.ports.orchestration import DataPlaneSpec
from botfleet.testing.faults import (
    ServerProcess,
    assert_no_secrets,
    free_port,
    start_control_plane,
)

ADMIN_KEY = "admin-key-for-the-cp-down-fault-test-0123"
FERNET_KEY = Fernet.generate_key().decode()
CACHE_KEY = Fernet.generate_key().decode()
FLOW = """\
id: tiny_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "Hello from version {v}"
    fallback: MENU
"""


class ControlPlane:
    """The control plane process; `restart()` brings it back on the same port and database."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "CP_ENVIRONMENT": "test",
            "CP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}",
            "CP_ADMIN_API_KEY": ADMIN_KEY,
            "CP_FERNET_KEYS": FERNET_KEY,
        }
        self.runs = 0
        self.process: ServerProcess | None = None

    def start(self) -> None:
        self.runs += 1
        self.process = start_control_plane(
            self.env, log=self.tmp / f"cp{self.runs}.log", port=self.port
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert self.process is not None
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        return self.process.http.request(method, path, headers=headers, **kwargs)

    def publish(self, version: str) -> None:
        response = self.admin(
            "POST", "/v1/tenants/acme/flows?publish=true", json={"yaml": FLOW.format(v=version)}
        )
        assert response.status_code in (200, 201), response.text


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[LocalOrchestrator]:
    orchestrator = LocalOrchestrator(tmp_path / "fleet", stop_timeout_s=10)
    yield orchestrator
    await orchestrator.stop("acme")


@pytest.fixture
def control_plane(tmp_path: Path) -> Iterator[ControlPlane]:
    cp = ControlPlane(tmp_path)
    yield cp
    if cp.process is not None:
        cp.process.kill()


async def say(url: str, contact: str, text: str) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        response = await http.post("/inbound", json={"contact_id": contact, "text": text})
    assert response.status_code == 200, response.text
    return [r["text"] for r in response.json()["replies"]]


async def flow_version(url: str) -> str:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        return str((await http.get("/health")).json()["flow_version"])


async def test_a_data_plane_restarted_while_the_control_plane_is_down_serves_from_its_cache(
    fleet: LocalOrchestrator, control_plane: ControlPlane
) -> None:
    control_plane.start()
    created = control_plane.admin("POST", "/v1/tenants", json={"id": "acme", "name": "Acme"})
    assert created.status_code == 201, created.text
    boot_token = created.json()["boot_token"]
    control_plane.publish("one")
    spec = DataPlaneSpec(
        "acme",
        control_plane_url=control_plane.url,
        boot_token=boot_token,
        cache_key=CACHE_KEY,
        config_poll_s=0.2,
    )

    status = await fleet.start(spec)
    await wait_until_healthy(fleet, "acme", timeout_s=60)
    assert status.url is not None
    assert await say(status.url, "ana", "hi") == ["Hello from version one"]

    # The control plane goes away; the data plane restarts meanwhile (a deploy, a crash).
    control_plane.kill()
    await fleet.stop("acme")
    restarted = await fleet.start(spec)
    await wait_until_healthy(fleet, "acme", timeout_s=60)
    assert restarted.url == status.url
    assert await say(status.url, "ana", "still there?") == ["Hello from version one"]
    log = fleet.log_file("acme").read_text(encoding="utf-8")
    assert '"boot_from_cache"' in log
    async with httpx.AsyncClient(base_url=status.url) as http:
        history = (await http.get("/messages", params={"contact_id": "ana"})).json()["messages"]
    assert len(history) == 2  # the conversation survived the restart too

    # The control plane is back: a version published now reaches the running data plane.
    control_plane.start()
    control_plane.publish("two")
    deadline = time.monotonic() + 30
    while await flow_version(status.url) != "v2":
        assert time.monotonic() < deadline, fleet.log_file("acme").read_text()
        await asyncio.sleep(0.1)  # the data plane polls every 0.2 s; nothing to await here
    assert await say(status.url, "ana", "and now?") == ["Hello from version two"]

    secrets = {"boot token": boot_token, "cache key": CACHE_KEY, "admin key": ADMIN_KEY}
    places = {"data plane log": fleet.log_file("acme").read_text(encoding="utf-8")}
    for path in control_plane.tmp.glob("cp*.log"):
        places[f"control plane log {path.name}"] = path.read_text(encoding="utf-8")
    assert_no_secrets(places, secrets)
