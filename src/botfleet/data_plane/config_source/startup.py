"""The two calls `create_app` makes: the configuration to start with, then the hot reload."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

import structlog

from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.data_plane.settings import DataPlaneSettings
from botfleet.domain.errors import ConfigError
from botfleet.domain.tenant_config import TenantConfig, load_tenant_config

if TYPE_CHECKING:  # imported when used: they import httpx, which a local YAML never needs
    from botfleet.data_plane.config_source.pull import BootedConfig
    from botfleet.data_plane.config_source.watch import BootWatcher

log = structlog.get_logger("botfleet.data_plane.boot")


def initial_tenant_config(settings: DataPlaneSettings) -> tuple[TenantConfig, BootedConfig | None]:
    """The local YAML (``TENANT_CONFIG_PATH``, development) when set, else the control plane's
    boot config (``CONTROL_PLANE_URL``, ``TENANT_ID``, ``BOOT_TOKEN``) or its cached copy.

    The pull blocks the caller: each request times out after a few seconds, and with neither
    the control plane nor a cached copy it waits (logging) until one is there.

    Raises:
        ConfigError: neither source is configured, or the local file is invalid.
    """
    if settings.tenant_config_path is not None:
        if settings.control_plane_url:
            log.info(
                "tenant_config_local",
                path=str(settings.tenant_config_path),
                detail="TENANT_CONFIG_PATH is set, so CONTROL_PLANE_URL is not used",
            )
        return load_tenant_config(settings.tenant_config_path), None
    if settings.control_plane_url:
        from botfleet.data_plane.config_source.pull import pull_boot_config_blocking

        booted = pull_boot_config_blocking(settings)
        return booted.config, booted
    raise ConfigError(
        "environment",
        "TENANT_CONFIG_PATH",
        "not set: give a local tenant YAML, or CONTROL_PLANE_URL, TENANT_ID and BOOT_TOKEN "
        "to pull the configuration from the control plane",
    )


async def watch_control_plane(
    booted: BootedConfig,
    runtime: ConversationRuntime,
    settings: DataPlaneSettings,
    stack: AsyncExitStack,
) -> BootWatcher:
    """Called once the data plane runs on `booted`: the pulled configuration becomes the cached
    copy, the runtime is labelled with the published versions, and new ones are polled for
    until `stack` closes."""
    from botfleet.data_plane.config_source.watch import BootWatcher

    watcher = BootWatcher(booted.saved_after_start(), runtime, poll_s=settings.config_poll_s)
    await watcher.start(stack)
    return watcher
