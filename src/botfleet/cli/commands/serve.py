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
    from botfleet.observability import server_imports

    # Until the server stops: no rich, nor greenlet for structlog (idle RSS; see
    # botfleet.observability). typer's own error display after it uses rich as before.
    with server_imports():
        run_data_plane(host=host, port=port, tenant_config=tenant_config)


def run_data_plane(*, host: str | None, port: int | None, tenant_config: Path | None) -> None:
    """Serve the data plane until stopped (uvicorn; settings from DP_* variables)."""
    import uvicorn

    from botfleet.data_plane.app import create_app
    from botfleet.data_plane.settings import DataPlaneSettings
    from botfleet.observability import configure_logging

    settings = DataPlaneSettings()
    if tenant_config is not None:
        settings = settings.model_copy(update={"tenant_config_path": tenant_config})
    configure_logging(settings.log_level, json=settings.log_json)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        # Request lines carry query strings (Meta's handshake sends its verify token in one).
        access_log=False,
        # No route of the data plane is a WebSocket: without this, uvicorn imports the
        # websockets library and its protocol for upgrade requests (~0.7 MB of RSS).
        ws="none",
    )


@serve_app.command("control-plane")
def serve_control_plane(
    host: str | None = typer.Option(None, help="Interface to listen on (default: CP_HOST)."),
    port: int | None = typer.Option(None, help="Port to listen on (default: CP_PORT, 8001)."),
) -> None:
    """Run the control plane (settings from CP_* variables; see docs/control-plane.md)."""
    import uvicorn
    from pydantic import ValidationError

    from botfleet.control_plane.app import create_app
    from botfleet.control_plane.settings import ControlPlaneSettings

    try:
        settings = ControlPlaneSettings()
    except ValidationError as exc:  # the settings hide their input: no secret is printed
        typer.echo(f"control plane settings are invalid:\n{exc}", err=True)
        raise typer.Exit(2) from None
    for name in settings.generated_secrets:
        typer.echo(
            f"warning: {name} is not set; a random one is used until this process stops",
            err=True,
        )
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="warning",
        # Request lines carry query strings (Meta's handshake sends its verify token in one).
        access_log=False,
    )
