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
    from botfleet.cli.control_plane_server import serve_control_plane as serve

    serve(host=host, port=port)
