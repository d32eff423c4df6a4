"""`botfleet serve ...` and `botfleet demo`: start the services."""

from __future__ import annotations

from pathlib import Path

import typer

serve_app = typer.Typer(help="Start a service.", no_args_is_help=True)


@serve_app.command("data-plane")
def serve_data_plane(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8002, help="Port to listen on."),
    tenant_config: Path | None = typer.Option(
        None, "--tenant-config", envvar="TENANT_CONFIG_PATH", help="Local tenant YAML (dev)."
    ),
) -> None:
    """Run one tenant's data plane (web chat, webhooks, scheduler)."""
    import uvicorn

    from botfleet.data_plane.app import create_app
    from botfleet.data_plane.settings import DataPlaneSettings
    from botfleet.observability import configure_logging

    settings = DataPlaneSettings()
    if tenant_config is not None:
        settings = settings.model_copy(update={"tenant_config_path": tenant_config})
    configure_logging(settings.log_level, json=settings.log_json)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
