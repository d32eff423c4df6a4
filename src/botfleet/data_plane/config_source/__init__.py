"""Where a data plane's configuration comes from: the control plane's boot route (with a cached
copy on the tenant's volume and hot reload by ETag polling), or a local YAML in development.

    config, boot = initial_tenant_config(settings)      # in create_app
    ...
    await watch_control_plane(boot, runtime, settings, stack)   # in the lifespan
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botfleet.data_plane.config_source.cache import CACHE_FILE, BootCache, CachedBoot
    from botfleet.data_plane.config_source.convert import tenant_config_from_boot, version_label
    from botfleet.data_plane.config_source.fetch import (
        BootError,
        BootFetched,
        BootPayloadInvalid,
        BootRefused,
        ControlPlaneUnreachable,
        fetch_boot,
    )
    from botfleet.data_plane.config_source.pull import (
        BootedConfig,
        ControlPlaneTarget,
        pull_boot_config,
        pull_boot_config_blocking,
    )
    from botfleet.data_plane.config_source.startup import (
        initial_tenant_config,
        watch_control_plane,
    )
    from botfleet.data_plane.config_source.watch import BootWatcher, PollResult

__all__ = [
    "CACHE_FILE",
    "BootCache",
    "BootError",
    "BootFetched",
    "BootPayloadInvalid",
    "BootRefused",
    "BootWatcher",
    "BootedConfig",
    "CachedBoot",
    "ControlPlaneTarget",
    "ControlPlaneUnreachable",
    "PollResult",
    "fetch_boot",
    "initial_tenant_config",
    "pull_boot_config",
    "pull_boot_config_blocking",
    "tenant_config_from_boot",
    "version_label",
    "watch_control_plane",
]

#: name -> the submodule that defines it. The submodules are imported on first use: the pull,
#: fetch and watch ones import httpx (~2 MB of RSS), which a data plane started from a local
#: YAML (development, the web chat demo) never uses.
_SUBMODULE_OF = {
    "CACHE_FILE": "cache",
    "BootCache": "cache",
    "CachedBoot": "cache",
    "tenant_config_from_boot": "convert",
    "version_label": "convert",
    "BootError": "fetch",
    "BootFetched": "fetch",
    "BootPayloadInvalid": "fetch",
    "BootRefused": "fetch",
    "ControlPlaneUnreachable": "fetch",
    "fetch_boot": "fetch",
    "BootedConfig": "pull",
    "ControlPlaneTarget": "pull",
    "pull_boot_config": "pull",
    "pull_boot_config_blocking": "pull",
    "initial_tenant_config": "startup",
    "watch_control_plane": "startup",
    "BootWatcher": "watch",
    "PollResult": "watch",
}


def __getattr__(name: str) -> Any:
    submodule = _SUBMODULE_OF.get(name)
    if submodule is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{submodule}"), name)
    globals()[name] = value
    return value
