"""`botfleet demo`: the demo tenant on the web chat (what `make run` starts)."""

from __future__ import annotations

from pathlib import Path

import typer

DEMO_TENANT = Path("examples/tenants/demo.yaml")


def demo(
    port: int = typer.Option(8002, help="Port of the demo tenant's data plane."),
    tenant_config: Path = typer.Option(DEMO_TENANT, help="Tenant YAML to run."),
) -> None:
    """Start the demo tenant and print its URLs."""
    import uvicorn
    from rich.console import Console

    from botfleet.data_plane.app import create_app
    from botfleet.data_plane.settings import DataPlaneSettings
    from botfleet.observability import configure_logging

    console = Console()
    settings = DataPlaneSettings(tenant_config_path=tenant_config, state_db_path=None)
    configure_logging("warning", json=False)
    app = create_app(settings)
    console.print(f"[bold green]botfleet demo[/] tenant 'demo' ({tenant_config})")
    console.print(f"  web chat:   http://localhost:{port}/")
    console.print(f"  health:     http://localhost:{port}/health")
    console.print(f"  metrics:    http://localhost:{port}/metrics")
    console.print(f"  API docs:   http://localhost:{port}/docs")
    console.print("Press Ctrl+C to stop.")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
