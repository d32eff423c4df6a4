"""`botfleet serve ...` and `botfleet demo`: start the services."""

from __future__ import annotations

from pathlib import Path

import typer

serve_app = typer.Typer(help="Start a service.", no_args_is_help=True)


@serve_app.command("data-plane")
def serve_data_plane(
    host: str | None = typer.Option(None, help="Interface to listen on (default: DP_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: DP_PORT, 8002)."),
    tenant_config: Path | None = typer.Option(
        None, "--tenant-config", envvar="TENANT_CONFIG_PATH", help="Local tenant YAML (dev)."
    ),
) -> None:
    """Run one tenant's data plane (web chat, webhooks, scheduler)."""
    from botfleet.cli.data_plane_server import ServeOptions
    from botfleet.cli.data_plane_server import serve_data_plane as serve

    serve(ServeOptions(host=host, port=port, tenant_config=tenant_config))


@serve_app.command("control-plane")
def serve_control_plane(
    host: str | None = typer.Option(None, help="Interface to listen on (default: CP_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: CP_PORT, 8001)."),
) -> None:
    """Run the control plane (settings from CP_* variables; see docs/control-plane.md)."""
    import uvicorn

    from botfleet.control_plane.app import create_app, settings_from_env
    from botfleet.control_plane.logs import configure_logging, get_logger
    from botfleet.observability import level_number
    from botfleet.startup_problems import listen_problem, startup_problem

    settings = settings_from_env()
    # From here every line of the process is one JSON object on stdout (CP_LOG_JSON), the
    # libraries' included. A generated secret is logged as a warning when the app starts.
    configure_logging(settings.log_level, json=settings.log_json, libraries=True)
    listen_host = host or settings.host
    # Before the migrations run: a process that could not serve leaves the database alone.
    unusable = listen_problem(listen_host, "--host" if host else "CP_HOST")
    if unusable is not None:
        get_logger("serve").error(f"control plane cannot start: {unusable}")
        raise typer.Exit(2)
    app = create_app(settings)
    try:
        uvicorn.run(
            app,
            host=listen_host,
            port=port or settings.port,
            log_level=level_number(settings.log_level),
            # uvicorn's lines (start, stop, errors) go through the root handler that
            # `configure_logging` installed, rather than its own plain-text handlers.
            log_config=None,
            # Request lines carry query strings; the control plane logs each request itself.
            access_log=False,
        )
    except SystemExit as exit_:
        # uvicorn exits with status 3 when the app did not start. A database that could not
        # be used, already said in one line, is a start-up error like invalid settings: 2.
        if exit_.code != 0 and startup_problem(app) is not None:
            raise typer.Exit(2) from None
        raise
