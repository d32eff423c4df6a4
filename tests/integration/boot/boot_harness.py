"""Helpers of the boot-config tests: data-plane settings and a running data plane app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from cp_harness import ControlPlane
from cryptography.fernet import Fernet

from botfleet.data_plane.app import create_app
from botfleet.data_plane.config_source import BootedConfig, BootWatcher
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.testing.runtime import ChatClient

CACHE_KEY = Fernet.generate_key().decode()


def dp_settings(tmp_path: Path, boot_token: str, **fields: Any) -> DataPlaneSettings:
    """A data plane pulling tenant ``acme`` from the in-process control plane."""
    values: dict[str, Any] = {
        "control_plane_url": "http://cp.test",
        "tenant_id": "acme",
        "boot_token": boot_token,
        "data_dir": tmp_path / "dp",
        "state_db_path": None,
        "tenant_config_path": None,
        "cache_key": CACHE_KEY,
        "config_poll_s": 0,
        "log_json": False,
        **fields,
    }
    return DataPlaneSettings.model_validate(values)


def cp_transport(cp: ControlPlane) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=cp.app)


class DownTransport(httpx.AsyncBaseTransport):
    """A control plane that is not there: every request fails to connect."""

    def __init__(self) -> None:
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        raise httpx.ConnectError("connection refused", request=request)


@asynccontextmanager
async def running_data_plane(
    settings: DataPlaneSettings, booted: BootedConfig
) -> AsyncIterator[ChatClient]:
    app = create_app(settings, boot=booted)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://localhost"
        ) as http,
    ):
        yield ChatClient(app, http)


def watcher_of(chat: ChatClient) -> BootWatcher:
    watcher: BootWatcher = chat.app.state.config_watcher
    return watcher


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [str(r.get("text", "")) for r in replies]
