"""`botfleet serve data-plane`: one tenant's data plane process, startable without typer.

Every tenant is one such process, so what it imports is paid once per tenant. `botfleet.cli.main`
(the `botfleet` script, the container's entry point, and `python -m botfleet.cli.main`) runs
`serve data-plane [--host H] [--port N] [--tenant-config P]` (how containers, the local
orchestrator and the benchmarks start a tenant) straight here, without importing typer and its
own copy of click (~2 MB of RSS); anything else on that command line (--help, a mistake,
another command) goes to the typer app, which calls `serve_data_plane` too.
This module imports nothing heavy at its top.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from botfleet.data_plane.settings import DataPlaneSettings
    from botfleet.web import JsonApi

COMMAND = ("serve", "data-plane")
#: The typer command's options (botfleet.cli.commands.serve); a unit test keeps them equal.
OPTIONS = ("--host", "--port", "--tenant-config")
#: `--tenant-config` when not given (typer: `envvar=`).
TENANT_CONFIG_ENV = "TENANT_CONFIG_PATH"


@dataclass(frozen=True)
class ServeOptions:
    host: str | None = None
    port: int | None = None
    tenant_config: Path | None = None


def plain_serve_options(args: Sequence[str]) -> ServeOptions | None:
    """The options of `serve data-plane` when `args` is that command with nothing but
    `--host`, `--port` (an integer) and `--tenant-config`, each with a non-empty value
    (`--opt value` or `--opt=value`; the last one counts, as in typer); else None, and typer
    parses `args` (help, errors, other commands)."""
    if tuple(args[:2]) != COMMAND:
        return None
    values: dict[str, str] = {}
    rest = list(args[2:])
    while rest:
        name, equals, value = rest.pop(0).partition("=")
        if name not in OPTIONS:
            return None
        if not equals:
            if not rest or rest[0].startswith("-"):
                return None
            value = rest.pop(0)
        if not value:
            return None
        values[name] = value
    port = values.get("--port")
    if port is not None:
        try:
            int(port)
        except ValueError:
            return None
    tenant_config = values.get("--tenant-config") or os.environ.get(TENANT_CONFIG_ENV)
    return ServeOptions(
        host=values.get("--host"),
        port=int(port) if port is not None else None,
        tenant_config=Path(tenant_config) if tenant_config else None,
    )


def serve_data_plane(options: ServeOptions) -> None:
    """Serve the data plane until stopped (uvicorn; other settings from DP_* variables)."""
    from botfleet.observability import server_imports

    # Until the server stops: no rich, nor greenlet for structlog (idle RSS; see
    # botfleet.observability). typer's error display, when typer started this, uses rich after.
    with server_imports():
        _run(options)


def load_settings() -> DataPlaneSettings:
    """The DP_* settings; invalid ones end the process with status 2 and one line naming each
    (as `serve control-plane` does), not a traceback. The line never holds a refused value,
    so no token or key is printed."""
    from pydantic import ValidationError

    from botfleet.data_plane.settings import DataPlaneSettings
    from botfleet.startup_problems import invalid_settings

    try:
        return DataPlaneSettings()
    except ValidationError as exc:
        message = invalid_settings("data plane settings are invalid", exc, DataPlaneSettings)
        print(message, file=sys.stderr)
        raise SystemExit(2) from None


def cannot_start(problem: object) -> NoReturn:
    """End the process with status 2 after `data plane cannot start: <problem>` on stderr
    (the problem names the tenant file and key, or the file that could not be read), as
    invalid settings do (`load_settings`): an orchestrator's log shows why, not a traceback."""
    print(f"data plane cannot start: {problem}", file=sys.stderr)
    raise SystemExit(2)


def _setting_source(flag: str | None, name: str, settings: DataPlaneSettings) -> str:
    """Where setting `name` (host, port) came from, for a message about it: `flag` when the
    command line gave it, else the variable. A bare `HOST` or `PORT` (read when the DP_ one is
    unset) is often another program's (zsh, CI runners), so the message says so."""
    if flag is not None:
        return flag
    variable = f"DP_{name.upper()}"
    given = type(settings).given_by(name)
    if given is None or given.upper().startswith("DP_"):
        return given or variable
    return f"{given}, read as {variable} since that is not set"


def _run(options: ServeOptions) -> None:
    from botfleet.data_plane.app import create_app
    from botfleet.data_plane.bootstrap import lock_tenant_state
    from botfleet.domain.errors import ConfigError, FlowValidationError
    from botfleet.observability import configure_logging, set_log_tenant
    from botfleet.startup_problems import listen_problem

    settings = load_settings()
    if options.tenant_config is not None:
        settings = settings.model_copy(update={"tenant_config_path": options.tenant_config})
    host = options.host or settings.host
    # Before the runtime is built: nothing is pulled or written for a process that cannot serve.
    source = _setting_source("--host" if options.host else None, "host", settings)
    unusable = listen_problem(host, source)
    if unusable is not None:
        cannot_start(unusable)
    # One process serves one tenant: every line it writes names it (`tenant`), the libraries'
    # and the channels' webhook lines included. Known now when pulled from the control plane;
    # a local YAML names it once read.
    tenant = settings.tenant_id if settings.tenant_config_path is None else None
    configure_logging(settings.log_level, json=settings.log_json, tenant=tenant)
    try:
        app = create_app(settings)
        # Before the port, as the port is bound before the start-up: a second data plane on
        # this tenant's state (one scheduler too many, the pending messages replayed twice) is
        # refused having bound, replayed and scheduled nothing. Held until the app stops.
        state_lock = lock_tenant_state(settings, app.state.tenant_id)
    except (ConfigError, FlowValidationError) as exc:  # a local YAML, its flow, or no source
        cannot_start(exc)
    # The runtime's bootstrap takes it over, and releases it when the app stops.
    app.state.state_lock = state_lock
    set_log_tenant(app.state.tenant_id)
    try:
        _serve(app, options, settings, host)
    finally:  # the app never started (a taken port); else a no-op
        state_lock.release()


def _serve(app: JsonApi, options: ServeOptions, settings: DataPlaneSettings, host: str) -> None:
    import uvicorn

    from botfleet.cli.listening import bind_listening_sockets, port_problem, serve_on
    from botfleet.startup_problems import startup_problem

    port = options.port or settings.port
    try:
        # Before the app's start-up (boot pull, recovery, scheduler): see botfleet.cli.listening.
        sockets = bind_listening_sockets(host, port)
    except OSError as exc:
        source = _setting_source("--port" if options.port else None, "port", settings)
        holder = "another data plane of this tenant"
        cannot_start(port_problem(host, port, source, exc, holder=holder))
    try:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            # uvicorn's own lines go through `configure_logging`'s handler (JSON) instead of
            # the plain-text handlers its default configuration installs.
            log_config=None,
            # Request lines carry query strings (Meta's handshake sends its verify token in one).
            access_log=False,
            # No route of the data plane is a WebSocket: without this, uvicorn imports the
            # websockets library and its protocol for upgrade requests (~0.7 MB of RSS).
            ws="none",
        )
        serve_on(config, sockets)
    except SystemExit as exit_:
        # uvicorn exits with status 3 when the app did not start. A configuration refused
        # while the runtime was built (a binding, the LLM settings) is a start-up error like
        # the ones above: its one line on stderr, and 2.
        problem = startup_problem(app)
        if exit_.code != 0 and problem is not None:
            cannot_start(problem)
        raise
