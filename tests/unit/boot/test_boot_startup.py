"""initial_tenant_config: local YAML first, then the control plane (blocking, cache fallback)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from botfleet.data_plane.app import create_app
from botfleet.data_plane.config_source import CACHE_FILE, BootCache, initial_tenant_config
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenants import BootPayload, PublishedFlow, TenantInfo

REPO = Path(__file__).resolve().parents[3]
FLOW = """\
id: cached_flow
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: "from the cache"
    fallback: MENU
"""


def settings(tmp_path: Path, **fields: object) -> DataPlaneSettings:
    values: dict[str, object] = {
        "tenant_config_path": None,
        "control_plane_url": None,
        "tenant_id": None,
        "boot_token": None,
        "cache_key": None,
        "data_dir": tmp_path,
        "state_db_path": None,
        **fields,
    }
    return DataPlaneSettings.model_validate(values)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_local_yaml_wins_for_development(tmp_path: Path) -> None:
    local = settings(
        tmp_path,
        tenant_config_path=REPO / "examples" / "tenants" / "demo.yaml",
        control_plane_url="http://127.0.0.1:1",
    )
    config, booted = initial_tenant_config(local)
    assert (config.tenant_id, booted) == ("demo", None)


def test_with_no_source_the_error_names_both_ways(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"TENANT_CONFIG_PATH.*CONTROL_PLANE_URL"):
        initial_tenant_config(settings(tmp_path))
    with pytest.raises(ConfigError, match="TENANT_CONFIG_PATH"):
        create_app(settings(tmp_path))


def test_create_app_starts_from_the_cache_when_the_control_plane_is_down(tmp_path: Path) -> None:
    payload = BootPayload(
        tenant=TenantInfo(id="acme", name="Acme"),
        flow=PublishedFlow(version=4, flow_id="cached_flow", yaml=FLOW, sha256="0" * 64),
        channel={"type": "webchat"},
    )
    BootCache(tmp_path / "acme" / CACHE_FILE, None).save(payload, '"e"')
    down = settings(
        tmp_path,
        control_plane_url=f"http://127.0.0.1:{closed_port()}",
        tenant_id="acme",
        boot_token="bfb_x",
    )
    config, booted = initial_tenant_config(down)
    assert booted is not None and booted.origin == "cache"
    assert config.flow_yaml == FLOW
    app = create_app(down)  # blocks only for the failed request, then uses the copy
    assert app.title == "botfleet data plane: Acme"
