"""The cached copy: a start with the control plane down, and secrets sealed on the volume."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import httpx
import pytest
from boot_harness import (
    CACHE_KEY,
    DownTransport,
    cp_transport,
    dp_settings,
    running_data_plane,
    texts,
)
from cp_harness import ControlPlane
from structlog.testing import capture_logs

from botfleet.data_plane.config_source import (
    CACHE_FILE,
    BootCache,
    BootRefused,
    ControlPlaneUnreachable,
    pull_boot_config,
)

LLM_SECRET = "sk-llm-secret-for-cache-test-777"


async def _tenant_with_a_secret(cp: ControlPlane) -> str:
    token = await cp.create_tenant(
        "acme",
        connectors={"llm": {"type": "mock_llm"}},
        llm={"enabled": True, "provider": "mock_llm"},
    )
    await cp.upload_flow("acme", "one", publish=True)
    put = await cp.client.put(
        "/v1/tenants/acme/credentials/llm", json={"api_key": LLM_SECRET}, headers=cp.admin
    )
    assert put.status_code == 200, put.text
    return token


async def test_with_the_control_plane_down_the_data_plane_starts_from_its_cache(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    first = await pull_boot_config(settings, transport=cp_transport(cp))
    down = DownTransport()
    with capture_logs() as logs:
        booted = await pull_boot_config(settings, transport=down)
    assert down.calls == 1
    assert booted.origin == "cache"
    # The same configuration, named as the cached copy in errors (`source`, not dumped).
    assert booted.config.model_dump() == first.config.model_dump()
    assert booted.config.source == f"cached copy of {first.config.source}"
    assert booted.etag == first.etag
    [event] = [e for e in logs if e["event"] == "boot_from_cache"]
    assert event["log_level"] == "error"
    assert "ConnectError" in event["reason"]
    assert event["flow_version"] == "v1"
    # No knowledge published: said as `/health` says it, not `null` there and `""` here.
    assert event["knowledge_version"] == ""
    async with running_data_plane(settings, booted) as chat:
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]
        health = await chat.http.get("/health")
        assert health.json()["knowledge_version"] == event["knowledge_version"]
        # Polls while it is down: logged once, the bot keeps its configuration.
        watcher = chat.app.state.config_watcher
        with capture_logs() as poll_logs:
            assert (await watcher.poll_now()).outcome == "unreachable"
            assert (await watcher.poll_now()).outcome == "unreachable"
        assert [e["event"] for e in poll_logs] == ["control_plane_unreachable"]
        assert texts(await chat.say("ana", "again")) == ["Hello from version one"]


async def test_with_neither_control_plane_nor_cache_the_start_waits_and_retries(
    tmp_path: Path,
) -> None:
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    down = DownTransport()
    with capture_logs() as logs, pytest.raises(ControlPlaneUnreachable):
        await pull_boot_config(
            dp_settings(tmp_path, "bfb_token"), transport=down, give_up_after_s=0, sleep=no_sleep
        )
    assert down.calls == 1
    assert [e["event"] for e in logs] == ["boot_waiting_for_control_plane"]
    assert logs[0]["retry_in_s"] == 1.0


async def test_retries_back_off_until_the_control_plane_answers(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    live = cp_transport(cp)

    class ComesUp(DownTransport):
        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            if self.calls < 3:
                return await super().handle_async_request(request)
            return await live.handle_async_request(request)

    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    booted = await pull_boot_config(
        dp_settings(tmp_path, token), transport=ComesUp(), sleep=no_sleep
    )
    assert booted.origin == "control_plane"
    assert waits == [1.0, 2.0, 4.0]


async def test_a_disabled_tenant_does_not_start_from_its_cache(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", publish=True)
    settings = dp_settings(tmp_path, token)
    await pull_boot_config(settings, transport=cp_transport(cp))
    await cp.client.post("/v1/tenants/acme/disable", headers=cp.admin)

    async def no_sleep(seconds: float) -> None:
        return None

    with pytest.raises(BootRefused) as caught:
        await pull_boot_config(
            settings, transport=cp_transport(cp), give_up_after_s=0, sleep=no_sleep
        )
    assert caught.value.status == 403


async def test_secrets_in_the_cache_are_sealed_and_come_back_with_the_key(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await _tenant_with_a_secret(cp)
    settings = dp_settings(tmp_path, token)
    booted = await pull_boot_config(settings, transport=cp_transport(cp))
    assert booted.payload.llm["api_key"] == LLM_SECRET
    path = tmp_path / "dp" / "acme" / CACHE_FILE
    raw = path.read_bytes()
    assert LLM_SECRET.encode() not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(raw)
    assert "api_key" not in document["payload"]["llm"]
    assert document["sealed_secrets"]
    # Restored with the key...
    cached = BootCache(path, CACHE_KEY).load()
    assert cached is not None and cached.secrets_restored
    assert cached.payload.llm["api_key"] == LLM_SECRET
    # ...and a start from the cache has them.
    booted = await pull_boot_config(settings, transport=DownTransport())
    assert booted.origin == "cache"
    assert booted.config.llm.model_extra == {"api_key": LLM_SECRET}
    assert booted.config.source == "cached copy of control-plane boot config of 'acme' (flow v1)"


async def test_without_a_cache_key_secrets_are_left_out_and_the_log_says_so(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await _tenant_with_a_secret(cp)
    settings = dp_settings(tmp_path, token, cache_key=None)
    with capture_logs() as logs:
        await pull_boot_config(settings, transport=cp_transport(cp))
    [warning] = [e for e in logs if e["event"] == "boot_cache_without_secrets"]
    assert "DP_CACHE_KEY" in warning["detail"]
    raw = (tmp_path / "dp" / "acme" / CACHE_FILE).read_text()
    assert LLM_SECRET not in raw
    assert json.loads(raw)["secrets_left_out"] is True
    with capture_logs() as logs:
        booted = await pull_boot_config(settings, transport=DownTransport())
    assert booted.origin == "cache"
    assert "api_key" not in booted.payload.llm
    # Asked in full on the first poll: the copy is not what the control plane serves.
    assert booted.etag is None
    assert "boot_cache_missing_secrets" in [e["event"] for e in logs]
    assert LLM_SECRET not in json.dumps(logs, default=str)
    # A binding's "missing required key" later names the copy and the key, not the control
    # plane's configuration (whose credentials are fine).
    assert booted.config.source.startswith("cached copy of control-plane boot config of 'acme'")
    assert "whose secrets did not open: DP_CACHE_KEY unset" in booted.config.source


async def test_a_cache_that_cannot_be_written_does_not_stop_a_good_pull(
    cp: ControlPlane, tmp_path: Path
) -> None:
    token = await _tenant_with_a_secret(cp)
    path = tmp_path / "dp" / "acme" / CACHE_FILE
    (path / "in-the-way").mkdir(parents=True)  # a directory where the file goes (even as root)
    settings = dp_settings(tmp_path, token)
    with capture_logs() as logs:
        booted = await pull_boot_config(settings, transport=cp_transport(cp))
    assert booted.origin == "control_plane"
    assert booted.payload.llm["api_key"] == LLM_SECRET
    [warning] = [e for e in logs if e["event"] == "boot_cache_not_saved"]
    assert (warning["log_level"], warning["error"]) == ("warning", "IsADirectoryError")
    assert not booted.cache_saved
    assert "boot_cache_saved" not in [e["event"] for e in logs]
    assert LLM_SECRET not in json.dumps(logs, default=str)
    assert token not in json.dumps(logs, default=str)
    async with running_data_plane(settings, booted) as chat:
        assert texts(await chat.say("ana", "hi")) == ["Hello from version one"]


async def test_a_cache_of_another_tenant_never_starts_this_one(
    cp: ControlPlane, tmp_path: Path
) -> None:
    """A volume copied from tenant acme to bravo: bravo waits for its own configuration."""
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    await pull_boot_config(dp_settings(tmp_path, token), transport=cp_transport(cp))
    copied = tmp_path / "dp" / "bravo" / CACHE_FILE
    copied.parent.mkdir(parents=True)
    shutil.copy(tmp_path / "dp" / "acme" / CACHE_FILE, copied)

    async def no_sleep(seconds: float) -> None:
        return None

    settings = dp_settings(tmp_path, "bfb_bravo", tenant_id="bravo")
    with capture_logs() as logs, pytest.raises(ControlPlaneUnreachable):
        await pull_boot_config(
            settings, transport=DownTransport(), give_up_after_s=0, sleep=no_sleep
        )
    assert [e["event"] for e in logs] == [
        "boot_cache_other_tenant",
        "boot_waiting_for_control_plane",
    ]
    assert (logs[0]["tenant"], logs[0]["cached_tenant"]) == ("bravo", ["acme"])


async def test_a_start_from_the_cache_is_followed_by_a_line_once_the_control_plane_answers(
    cp: ControlPlane, tmp_path: Path
) -> None:
    """Even when the first poll finds nothing changed: the `boot_from_cache` error has a line
    that ends it, for alerts to clear on."""
    token = await cp.create_tenant("acme")
    await cp.upload_flow("acme", "one", publish=True)
    settings = dp_settings(tmp_path, token)
    await pull_boot_config(settings, transport=cp_transport(cp))
    booted = await pull_boot_config(settings, transport=DownTransport())
    assert booted.origin == "cache"
    async with running_data_plane(settings, booted) as chat:
        watcher = chat.app.state.config_watcher
        async with httpx.AsyncClient(transport=cp_transport(cp)) as http:
            with capture_logs() as logs:
                assert (await watcher.poll_once(http)).outcome == "unchanged"
                assert (await watcher.poll_once(http)).outcome == "unchanged"
    assert [e["event"] for e in logs] == ["control_plane_reachable_again"]
