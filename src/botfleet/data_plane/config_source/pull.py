"""The data plane's configuration at start: pulled from the control plane, else its cached copy.

    settings (CONTROL_PLANE_URL, TENANT_ID, BOOT_TOKEN)
        -> GET /v1/boot/{tenant}         ok: convert, check the flow, run it, save the cache
                                         (a cache that cannot be written is logged, not fatal,
                                         and the watcher retries it at each poll)
        -> unreachable or refused        the cached copy (logged loudly), if there is one and
                                         it is this tenant's
        -> no usable copy                wait and retry with back-off (logged); never exit

A data plane's own start (`create_app`) saves the pulled payload as the cached copy only once
it runs on it (`BootedConfig.saved_after_start`): a configuration the start refuses (a state
file whose channels it would hand to another channel, a binding this version cannot build)
must not replace the last copy that ran, which a restart with the control plane down needs.

A refusal because the tenant is disabled (403) never starts the bot from its cache: the
control plane said this tenant must not run. The process waits instead of exiting, so an
orchestrator does not restart it in a loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal

import httpx
import structlog

from botfleet.data_plane.config_source.cache import CACHE_FILE, BootCache, CachedBoot
from botfleet.data_plane.config_source.convert import (
    boot_source,
    cached_source,
    tenant_config_from_boot,
    version_label,
)
from botfleet.data_plane.config_source.fetch import BootRefused, fetch_boot
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.errors import BotPlatformError, ConfigError
from botfleet.domain.tenant_config import TenantConfig
from botfleet.domain.tenants import BootPayload
from botfleet.flows.load import load_flow_text
from botfleet.flows.schema import FlowSpec

log = structlog.get_logger("botfleet.data_plane.boot")

#: Timeout of each boot request: a start must not hang on a control plane that does not answer.
PULL_TIMEOUT_S = 5.0
MAX_RETRY_DELAY_S = 30.0
TENANT_DISABLED = 403

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class ControlPlaneTarget:
    """Where and how this data plane pulls its configuration."""

    url: str
    tenant_id: str
    boot_token: str
    cache: BootCache
    #: Test seam: the control plane app in-process (``httpx.ASGITransport``).
    transport: httpx.AsyncBaseTransport | None = None

    @classmethod
    def from_settings(
        cls, settings: DataPlaneSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> ControlPlaneTarget:
        """Raises `ConfigError` naming the first missing variable."""
        for name, value in (
            ("CONTROL_PLANE_URL", settings.control_plane_url),
            ("TENANT_ID", settings.tenant_id),
            ("BOOT_TOKEN", settings.boot_token),
        ):
            if not value:
                raise ConfigError("environment", name, "not set (needed to pull the boot config)")
        assert settings.control_plane_url and settings.tenant_id and settings.boot_token
        cache_path = settings.state_db_for(settings.tenant_id).parent / CACHE_FILE
        return cls(
            url=settings.control_plane_url,
            tenant_id=settings.tenant_id,
            boot_token=settings.boot_token,
            cache=BootCache(cache_path, settings.cache_key, tenant_id=settings.tenant_id),
            transport=transport,
        )

    def client(self, timeout_s: float = PULL_TIMEOUT_S) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=self.transport, timeout=httpx.Timeout(timeout_s), follow_redirects=False
        )


@dataclass(frozen=True)
class BootedConfig:
    """The configuration this data plane starts with, and where it came from."""

    config: TenantConfig
    payload: BootPayload
    #: Sent as ``If-None-Match`` on the first poll; None forces a full answer.
    etag: str | None
    origin: Literal["control_plane", "cache"]
    target: ControlPlaneTarget
    #: False when the pulled payload could not be written to the cache (the watcher retries).
    cache_saved: bool = True
    #: True while the pulled payload waits to become the cached copy until the data plane has
    #: started on it (`saved_after_start`).
    cache_after_start: bool = False

    def saved_after_start(self) -> BootedConfig:
        """This configuration, written as the cached copy now that the data plane runs on it
        (when the pull left that for after the start). A failed write is logged and left to
        the watcher's retries, as at the pull."""
        if not self.cache_after_start or self.etag is None:
            return self
        saved = self.target.cache.try_save(self.payload, self.etag)
        if saved:
            log.info("boot_cache_saved", tenant=self.target.tenant_id, etag=self.etag)
        return replace(self, cache_saved=saved, cache_after_start=False)


def checked_config(
    payload: BootPayload, *, source: str | None = None
) -> tuple[TenantConfig, FlowSpec]:
    """The payload as a tenant config, and its flow loaded. Raises `ConfigError`/`FlowError`.
    `source`: what errors name as the origin (default: `boot_source`)."""
    source = source or boot_source(payload)
    config = tenant_config_from_boot(payload, source=source)
    flow = load_flow_text(payload.flow.yaml, source=f"{source}:flow")
    return config, flow.spec


async def pull_boot_config(
    settings: DataPlaneSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = PULL_TIMEOUT_S,
    give_up_after_s: float | None = None,
    sleep: Sleep = asyncio.sleep,
    cache_after_start: bool = False,
) -> BootedConfig:
    """Pull the tenant's configuration, falling back to the cached copy (see the module doc).

    Args:
        settings: ``CONTROL_PLANE_URL``, ``TENANT_ID``, ``BOOT_TOKEN`` and ``DP_CACHE_KEY``.
        transport: test seam (the control plane in-process).
        timeout_s: timeout of each request.
        give_up_after_s: stop waiting and raise the last error after this long (None: never).
        sleep: test seam for the waits between attempts.
        cache_after_start: leave the cache write to `BootedConfig.saved_after_start` (the
            data plane's own start: only a configuration that started replaces the copy).
    """
    target = ControlPlaneTarget.from_settings(settings, transport)
    started = time.monotonic()
    attempt = 0
    async with target.client(timeout_s) as http:
        while True:
            attempt += 1
            try:
                return await _pull(target, http, cache_after_start)
            except BotPlatformError as exc:  # BootError, ConfigError, FlowError
                booted = _from_cache(target, exc)
                if booted is not None:
                    return booted
                delay = min(2.0 ** min(attempt - 1, 5), MAX_RETRY_DELAY_S)
                log.error(
                    "boot_waiting_for_control_plane",
                    tenant=target.tenant_id,
                    reason=str(exc),
                    attempt=attempt,
                    retry_in_s=delay,
                )
                if give_up_after_s is not None and time.monotonic() - started >= give_up_after_s:
                    raise
                await sleep(delay)


async def _pull(
    target: ControlPlaneTarget, http: httpx.AsyncClient, cache_after_start: bool
) -> BootedConfig:
    fetched = await fetch_boot(http, target.url, target.tenant_id, target.boot_token)
    assert fetched is not None  # no ETag sent, so never 304
    config, _ = checked_config(fetched.payload)
    booted = BootedConfig(
        config,
        fetched.payload,
        fetched.etag,
        "control_plane",
        target,
        cache_saved=False,
        cache_after_start=True,
    )
    log.info(
        "boot_pulled",
        tenant=target.tenant_id,
        flow_version=version_label(fetched.payload.flow.version),
        knowledge_version=_knowledge_label(fetched.payload),
        etag=fetched.etag,
        cache_sealed=target.cache.can_seal,
    )
    # A volume that is full or read-only must not stop a start the control plane just served.
    return booted if cache_after_start else booted.saved_after_start()


def _from_cache(target: ControlPlaneTarget, error: Exception) -> BootedConfig | None:
    if isinstance(error, BootRefused) and error.status == TENANT_DISABLED:
        return None
    cached = target.cache.load()
    if cached is None:
        return None
    try:
        # Errors found later (a channel without its token) name the copy, not the control
        # plane's configuration: the cause is the copy's (a cache key changed), not the
        # credentials stored there.
        source = cached_source(cached.payload, secrets_restored=cached.secrets_restored)
        config, _ = checked_config(cached.payload, source=source)
    except BotPlatformError as exc:
        log.error("boot_cache_unusable", tenant=target.tenant_id, reason=str(exc))
        return None
    _log_cache_start(target, cached, error)
    # Without its secrets the copy differs from what the control plane serves: ask in full.
    etag = cached.etag if cached.secrets_restored else None
    return BootedConfig(config, cached.payload, etag, "cache", target)


def _log_cache_start(target: ControlPlaneTarget, cached: CachedBoot, error: Exception) -> None:
    log.error(
        "boot_from_cache",
        tenant=target.tenant_id,
        reason=str(error),
        saved_at=cached.saved_at.isoformat(),
        flow_version=version_label(cached.payload.flow.version),
        knowledge_version=_knowledge_label(cached.payload),
        detail="the control plane could not give the configuration: running the last good "
        "copy; newer versions are picked up when it answers again",
    )
    if not cached.secrets_restored and cached.payload.secret_paths:
        log.error(
            "boot_cache_missing_secrets",
            tenant=target.tenant_id,
            missing=len(cached.payload.secret_paths),
            detail="the cached copy has no secrets (DP_CACHE_KEY unset or changed); "
            "bindings that need them will fail",
        )


def _knowledge_label(payload: BootPayload) -> str:
    """As `/health` says it: `""` when no knowledge is published (one value for "none" in
    both, for the rules that watch them)."""
    return version_label(payload.knowledge.version) if payload.knowledge is not None else ""


def pull_boot_config_blocking(
    settings: DataPlaneSettings,
    *,
    timeout_s: float = PULL_TIMEOUT_S,
    give_up_after_s: float | None = None,
) -> BootedConfig:
    """`pull_boot_config` from synchronous code (`create_app`), on a thread of its own so it
    works whether or not the caller runs an event loop. Only for real networks: an in-process
    control plane needs the async function on the caller's loop. The cache is written once the
    data plane runs (`BootedConfig.saved_after_start`)."""
    outcome: list[BootedConfig] = []
    failure: list[BaseException] = []

    def pull() -> None:
        try:
            outcome.append(
                asyncio.run(
                    pull_boot_config(
                        settings,
                        timeout_s=timeout_s,
                        give_up_after_s=give_up_after_s,
                        cache_after_start=True,
                    )
                )
            )
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    # A daemon thread: Ctrl+C during a long wait for the control plane ends the process
    # (a thread pool would be joined at exit and keep waiting).
    thread = threading.Thread(target=pull, name="boot-pull", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
