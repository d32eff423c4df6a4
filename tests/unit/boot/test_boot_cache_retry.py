"""The config watcher retries a cache write that failed, at the next polls, applying nothing twice.

A fake control plane (httpx.MockTransport: ETags, 304, outages) and a volume whose writes fail
on demand (disk full), so the retry is seen without the time a real poll loop takes.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from structlog.testing import capture_logs

from botfleet.data_plane.config_source import cache as cache_module
from botfleet.data_plane.config_source.cache import BootCache
from botfleet.data_plane.config_source.pull import BootedConfig, ControlPlaneTarget, checked_config
from botfleet.data_plane.config_source.watch import BootWatcher
from botfleet.data_plane.runtime.flow_holder import LiveConfig
from botfleet.domain.tenants import BootPayload, PublishedFlow, TenantInfo
from botfleet.testing.clock import FrozenClock

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


def payload(version: int) -> BootPayload:
    return BootPayload(
        tenant=TenantInfo(id="acme", name="Acme", timezone="Europe/Madrid"),
        flow=PublishedFlow(
            version=version, flow_id="tiny_flow", yaml=FLOW.format(v=version), sha256=f"{version}"
        ),
        channel={"type": "webchat"},
    )


@dataclass
class FakeControlPlane:
    """Serves the published payload with its ETag; 304 for the current one; can be down."""

    published: BootPayload
    down: bool = False

    @property
    def etag(self) -> str:
        return f'"v{self.published.flow.version}"'

    def publish(self, version: int) -> None:
        self.published = payload(version)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("if-none-match") == self.etag:
            return httpx.Response(304)
        return httpx.Response(
            200, content=self.published.canonical_json(), headers={"ETag": self.etag}
        )


@dataclass
class Volume:
    """The cache's disk: `full` makes every write fail with ENOSPC; `writes` counts attempts."""

    full: bool = False
    writes: int = 0
    real_write: Any = field(default=cache_module._write_private)

    def write(self, path: Path, text: str) -> None:
        self.writes += 1
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        self.real_write(path, text)


@pytest.fixture
def volume(monkeypatch: pytest.MonkeyPatch) -> Iterator[Volume]:
    disk = Volume()
    monkeypatch.setattr(cache_module, "_write_private", disk.write)
    yield disk


class Plane:
    """One data plane's watcher over the fake control plane, and what its cache holds."""

    def __init__(self, tmp_path: Path, cp: FakeControlPlane, *, cache_saved: bool = True) -> None:
        self.cp = cp
        self.cache = BootCache(
            tmp_path / "boot-cache.json", Fernet.generate_key().decode(), tenant_id="acme"
        )
        target = ControlPlaneTarget(
            url="http://cp.test",
            tenant_id="acme",
            boot_token="bfb_token",
            cache=self.cache,
            transport=httpx.MockTransport(cp),
        )
        config, flow = checked_config(cp.published)
        runtime = SimpleNamespace(
            live=LiveConfig(flow=flow),
            connectors=None,
            scheduler=SimpleNamespace(),
            clock=FrozenClock(),
        )
        booted = BootedConfig(
            config, cp.published, cp.etag, "control_plane", target, cache_saved=cache_saved
        )
        self.watcher = BootWatcher(booted, runtime, poll_s=0)  # type: ignore[arg-type]

    def cached_version(self) -> int | None:
        cached = self.cache.load()
        return None if cached is None else cached.payload.flow.version

    def running_version(self) -> str:
        return str(self.watcher.runtime.live.flow_version)


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


async def test_a_failed_cache_write_is_retried_at_the_next_polls_until_it_succeeds(
    tmp_path: Path, volume: Volume
) -> None:
    cp = FakeControlPlane(payload(1))
    plane = Plane(tmp_path, cp)
    plane.cache.save(cp.published, cp.etag)
    volume.full, volume.writes = True, 0
    cp.publish(2)
    with capture_logs() as logs:
        applied = await plane.watcher.poll_now()
        later = [await plane.watcher.poll_now() for _ in range(3)]
    assert (applied.outcome, applied.flow_swapped) == ("applied", True)
    assert [result.outcome for result in later] == ["unchanged"] * 3
    assert plane.running_version() == "v2"
    assert plane.cached_version() == 1 and plane.watcher.cache_behind
    assert volume.writes == 4, "the first write and one retry per poll"
    assert len(events(logs, "flow_swapped")) == 1, "the same payload is not applied again"
    [failed] = events(logs, "boot_cache_not_saved")
    assert (failed["log_level"], failed["errno"]) == ("warning", "ENOSPC")

    volume.full = False
    with capture_logs() as logs:
        recovered = await plane.watcher.poll_now()
        await plane.watcher.poll_now()
    assert recovered.outcome == "unchanged"
    assert plane.cached_version() == 2 and not plane.watcher.cache_behind
    assert volume.writes == 5, "nothing is written once the cache is up to date"
    [saved] = events(logs, "boot_cache_saved_again")
    assert (saved["log_level"], saved["failed_writes"], saved["etag"]) == ("info", 4, '"v2"')
    assert not events(logs, "boot_cache_not_saved") and not events(logs, "flow_swapped")


async def test_the_retry_goes_on_while_the_control_plane_is_down(
    tmp_path: Path, volume: Volume
) -> None:
    cp = FakeControlPlane(payload(1))
    plane = Plane(tmp_path, cp)
    plane.cache.save(cp.published, cp.etag)
    volume.full = True
    cp.publish(2)
    await plane.watcher.poll_now()
    cp.down = True
    volume.full = False  # space freed during the outage
    with capture_logs() as logs:
        result = await plane.watcher.poll_now()
    assert result.outcome == "unreachable"
    assert [e["event"] for e in logs] == ["control_plane_unreachable", "boot_cache_saved_again"]
    # A restart now, with the control plane still down, starts version 2 from the cache.
    assert plane.cached_version() == 2


async def test_a_cache_write_that_failed_at_boot_is_retried_by_the_watcher(
    tmp_path: Path, volume: Volume
) -> None:
    cp = FakeControlPlane(payload(1))
    plane = Plane(tmp_path, cp, cache_saved=False)  # the pull logged `boot_cache_not_saved`
    assert plane.watcher.cache_behind
    volume.full = True
    with capture_logs() as logs:
        await plane.watcher.poll_now()
    assert logs == [], "the streak was reported at boot"
    volume.full = False
    with capture_logs() as logs:
        result = await plane.watcher.poll_now()
    assert result.outcome == "unchanged"
    assert plane.cached_version() == 1
    [saved] = events(logs, "boot_cache_saved_again")
    assert saved["failed_writes"] == 2


async def test_a_newer_payload_takes_the_place_of_the_one_not_saved(
    tmp_path: Path, volume: Volume
) -> None:
    cp = FakeControlPlane(payload(1))
    plane = Plane(tmp_path, cp)
    plane.cache.save(cp.published, cp.etag)
    volume.full = True
    cp.publish(2)
    with capture_logs() as logs:
        await plane.watcher.poll_now()
        cp.publish(3)
        await plane.watcher.poll_now()
        volume.full = False
        await plane.watcher.poll_now()
    assert plane.running_version() == "v3"
    assert plane.cached_version() == 3
    assert len(events(logs, "flow_swapped")) == 2
    assert len(events(logs, "boot_cache_not_saved")) == 1, "one streak, one warning"
    assert len(events(logs, "boot_cache_saved_again")) == 1


async def test_a_streak_after_a_recovery_is_reported_again(tmp_path: Path, volume: Volume) -> None:
    cp = FakeControlPlane(payload(1))
    plane = Plane(tmp_path, cp)
    with capture_logs() as logs:
        for version, full in ((2, True), (2, False), (3, True), (3, False)):
            volume.full = full
            if version != cp.published.flow.version:
                cp.publish(version)
            await plane.watcher.poll_now()
    names = [e["event"] for e in logs if e["event"].startswith("boot_cache")]
    assert names == ["boot_cache_not_saved", "boot_cache_saved_again"] * 2
    assert json.loads(plane.cache.path.read_text())["etag"] == '"v3"'
