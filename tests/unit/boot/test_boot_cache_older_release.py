"""The cached copy of a tenant on one channel is the payload releases before `more_channels`
wrote: after a rollback, the older data plane starts from it with the control plane down."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.fernet import Fernet

from botfleet.data_plane.config_source import BootCache
from botfleet.domain.tenants import BootPayload, PublishedFlow, TenantInfo


def _payload(**fields: object) -> BootPayload:
    return BootPayload(
        tenant=TenantInfo(id="acme", name="Acme"),
        flow=PublishedFlow(version=2, flow_id="f", yaml="id: f\n", sha256="0" * 64),
        channel={"type": "webchat"},
        **fields,  # type: ignore[arg-type]
    )


def test_a_one_channel_tenants_copy_has_no_more_channels_key(tmp_path: Path) -> None:
    path = tmp_path / "boot-cache.json"
    BootCache(path, Fernet.generate_key().decode()).save(_payload(), '"e1"')
    data = json.loads(path.read_text())["payload"]
    # An older release's payload model has no such field and refuses unknown keys.
    assert "more_channels" not in data
    cached = BootCache(path, None).load()
    assert cached is not None and cached.payload == _payload()


def test_a_tenant_with_more_channels_keeps_them_in_its_copy(tmp_path: Path) -> None:
    path = tmp_path / "boot-cache.json"
    more = [{"type": "telegram", "webhook_secret": "w"}]
    BootCache(path, None).save(_payload(more_channels=more), '"e2"')
    data = json.loads(path.read_text())["payload"]
    assert data["more_channels"] == more
    cached = BootCache(path, None).load()
    assert cached is not None and cached.payload.more_channels == more
