"""The data plane's own start writes the pulled configuration as the cached copy only once it
runs on it: a configuration the start refuses never replaces the last copy that ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from boot_harness import DownTransport, cp_transport, dp_settings, running_data_plane, texts
from cp_harness import ControlPlane
from structlog.testing import capture_logs

from botfleet.data_plane.config_source import CACHE_FILE, pull_boot_config
from botfleet.domain.errors import StoreError


def _cached_etag(tmp_path: Path) -> str:
    document = json.loads((tmp_path / "dp" / "acme" / CACHE_FILE).read_text(encoding="utf-8"))
    return str(document["etag"])


async def test_the_copy_is_written_once_the_data_plane_runs(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp), cache_after_start=True)
    assert not (tmp_path / "dp" / "acme" / CACHE_FILE).exists()
    with capture_logs() as logs:
        async with running_data_plane(settings, booted) as chat:
            assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
            assert chat.app.state.config_watcher.booted.cache_saved
    [saved] = [e for e in logs if e["event"] == "boot_cache_saved"]
    assert saved["etag"] == booted.etag == _cached_etag(tmp_path)


async def test_a_configuration_whose_start_fails_leaves_the_last_copy_that_ran(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    first = await pull_boot_config(settings, transport=cp_transport(cp), cache_after_start=True)
    async with running_data_plane(settings, first) as chat:
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]

    await cp.upload_flow("acme", "two", publish=True)
    second = await pull_boot_config(settings, transport=cp_transport(cp), cache_after_start=True)
    assert second.etag != first.etag
    # The start on version two fails: its state file is damaged.
    state = settings.state_db_for("acme")
    kept = state.read_bytes()
    state.write_bytes(b"this is not a SQLite database" * 200)
    with pytest.raises(StoreError):
        async with running_data_plane(settings, second):
            pass
    assert _cached_etag(tmp_path) == first.etag

    # With the control plane down, a restart (state file mended) runs the copy that ran.
    state.write_bytes(kept)
    from_cache = await pull_boot_config(settings, transport=DownTransport())
    assert (from_cache.origin, from_cache.etag) == ("cache", first.etag)
    async with running_data_plane(settings, from_cache) as chat:
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
