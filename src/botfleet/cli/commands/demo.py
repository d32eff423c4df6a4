"""`botfleet demo`: the control plane and the demo tenant together (what `make run` starts)."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType

import typer

from botfleet.cli.commands.cp_common import api_key as valid_api_key
from botfleet.cli.commands.cp_common import control_plane_errors
from botfleet.cli.output_files import check_output

DEMO_TENANT = Path("examples/tenants/demo.yaml")
#: How often the foreground loop checks that the data plane still runs.
WATCH_INTERVAL_S = 1.0


def demo(
    port: int = typer.Option(8002, "--port", help="Port of the demo tenant's data plane."),
    cp_port: int = typer.Option(8001, "--cp-port", help="Port of the control plane."),
    host: str = typer.Option("127.0.0.1", help="Interface both listen on."),
    tenant_config: Path = typer.Option(DEMO_TENANT, help="Tenant YAML of the demo tenant."),
    var_dir: Path = typer.Option(Path("var"), help="Folder for keys, databases and logs."),
    local_only: bool = typer.Option(
        False, "--local-only", help="No control plane: run the data plane from the local YAML."
    ),
    poll_s: float = typer.Option(5.0, help="Seconds between the data plane's config polls."),
    provision_only: bool = typer.Option(
        False,
        "--provision-only",
        help="Only register the tenant in the control plane at --cp-url and write its boot "
        "token to --token-file (docker compose's demo-setup), then exit.",
    ),
    cp_url: str = typer.Option("http://localhost:8001", help="With --provision-only."),
    api_key: str | None = typer.Option(
        None,
        envvar="BOTFLEET_API_KEY",
        help="With --provision-only: the admin key.",
        show_default=False,
        callback=valid_api_key,
    ),
    token_file: Path | None = typer.Option(None, help="With --provision-only."),
    data_plane_url: str | None = typer.Option(
        None, help="With --provision-only: where the control plane reaches the data plane."
    ),
    internal_token: str | None = typer.Option(
        None,
        envvar="DP_INTERNAL_TOKEN",
        help="With --provision-only: the data plane's DP_INTERNAL_TOKEN, stored for the "
        "control plane's fleet view (/usage, /tasks).",
    ),
) -> None:
    """Start the control plane and the demo tenant's data plane; print the URLs.

    Runs until Ctrl+C. If the control plane cannot be used, the data plane runs from the local
    YAML."""
    from rich.console import Console
    from rich.markup import escape

    from botfleet.cli.demo_stack import DemoError, DemoOptions, DemoStack
    from botfleet.domain.errors import BotPlatformError

    console = Console(highlight=False, soft_wrap=True)
    if provision_only:
        if not api_key or token_file is None:
            raise typer.BadParameter("--provision-only needs --token-file and BOTFLEET_API_KEY")
        tenant = _provision(
            cp_url,
            api_key,
            tenant_config,
            token_file=token_file,
            data_plane_url=data_plane_url,
            internal_token=internal_token,
        )
        console.print(f"tenant {tenant!r} registered; boot token written to {token_file}")
        return
    options = DemoOptions(
        tenant_yaml=tenant_config,
        var_dir=var_dir,
        host=host,
        cp_port=cp_port,
        dp_port=port,
        local_only=local_only,
        poll_s=poll_s,
    )
    _stop_on_sigterm()
    console.print("[bold]botfleet demo[/]: starting...")
    stack: DemoStack | None = None
    try:
        stack = DemoStack(options)
        running = stack.up()
        if running.fallback_reason:
            console.print(f"[yellow]control plane not used[/]: {running.fallback_reason}")
            console.print("[yellow]running the data plane from the local YAML instead[/]")
        console.print(f"[bold green]botfleet demo[/] tenant {stack.tenant_id!r} is running")
        console.print(f"  web chat:          {running.chat_url}")
        console.print(f"  data plane health: {running.chat_url}health")
        if running.cp_url:
            console.print(f"  control plane:     {running.cp_url}/docs (API docs)")
            console.print(f"  admin API key:     {running.admin_key}  (local demo only)")
            console.print(
                f"  CLI:               botfleet cp --url {running.cp_url} --key ... fleet"
            )
        console.print(f"  logs:              {var_dir}/fleet/logs/")
        console.print("Press Ctrl+C to stop.")
        sys.stdout.flush()  # the lines above reach a pipe (a test, a process manager) now
        while (problem := stack.problem()) is None:
            time.sleep(WATCH_INTERVAL_S)
        console.print(f"[red]{problem}[/]")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("stopping...")
    except (DemoError, BotPlatformError, OSError) as exc:
        console.print(f"[red]demo failed[/]: {exc}")
        raise typer.Exit(1) from None
    finally:
        if stack is not None:
            # A second Ctrl+C (or a signal sent to the whole group) must not cut the cleanup
            # short and leave the data plane running; stopping takes a few seconds at most.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            failures = stack.down()
            for failure in failures:
                console.print(f"[red]could not stop the {escape(failure)}[/]")
            if failures:
                raise typer.Exit(1)
    console.print("stopped.")


def _provision(
    cp_url: str,
    api_key: str,
    tenant_yaml: Path,
    *,
    token_file: Path,
    data_plane_url: str | None,
    internal_token: str | None,
) -> str:
    """`--provision-only`: a bad tenant file or token file is a usage error, a control plane
    that fails one error line (exit 1 refused, 2 unreachable), never a traceback."""
    from botfleet.cli.demo_stack import provision_only
    from botfleet.control_plane.provision import TenantFiles
    from botfleet.domain.errors import ConfigError

    check_output(token_file, "--token-file")
    try:
        TenantFiles.load(tenant_yaml)
    except (ConfigError, ValueError, OSError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant-config") from None
    with control_plane_errors(cp_url, api_key):
        try:
            return provision_only(
                cp_url,
                api_key,
                tenant_yaml,
                token_file=token_file,
                data_plane_url=data_plane_url,
                internal_token=internal_token,
            )
        except OSError as exc:  # writing the token file
            reason = exc.strerror or type(exc).__name__
            message = f"cannot write {token_file}: {reason}"
            raise typer.BadParameter(message, param_hint="--token-file") from None


def _stop_on_sigterm() -> None:
    """SIGTERM (a process manager, a test) stops the demo like Ctrl+C does."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
