"""`botfleet new FLOW_NAME`: a starter flow with a tenant and conversation tests that pass."""

from __future__ import annotations

from pathlib import Path

import typer


def new(
    name: str = typer.Argument(..., metavar="FLOW_NAME", help="e.g. my_bot"),
    folder: Path | None = typer.Option(
        None, "--dir", help="Where to write the files (default: a new folder FLOW_NAME)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace files that already exist."),
) -> None:
    """Start a new flow: the flow, a tenant running it, and conversation tests."""
    from botfleet.cli.starter import StarterExists, write_starter

    target = folder if folder is not None else Path(name)
    if target.exists() and not target.is_dir():
        raise typer.BadParameter(f"{target} is a file, not a folder", param_hint="--dir")
    try:
        written = write_starter(name, target, force=force)
    except (ValueError, StarterExists) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    except OSError as exc:  # e.g. --dir names a file
        where = exc.filename if exc.filename is not None else target
        reason = exc.strerror or type(exc).__name__
        raise typer.BadParameter(f"cannot write {where}: {reason}", param_hint="--dir") from None
    typer.echo(f"wrote {len(written)} files in {target}:")
    for path in written:
        typer.echo(f"  {path}")
    typer.echo(
        "next:\n"
        f"  botfleet validate {target / 'tenant.yaml'}\n"
        f"  botfleet test {target / 'tests'} --coverage\n"
        f"  botfleet chat {target / 'tenant.yaml'}\n"
        f"  botfleet graph {target / (name + '.yaml')}"
    )
